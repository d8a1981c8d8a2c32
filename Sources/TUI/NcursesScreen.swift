import CNcurses
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Opening the terminal failed (unknown `TERM`, no terminal).
public struct TerminalError: Error, CustomStringConvertible {
    public let description: String
}

/// How colours reach the terminal.
public enum ColorMode: String, Sendable, CaseIterable {
    /// 24-bit colour through a `*-direct` terminfo entry.
    case direct
    /// The 6×6×6 cube and grey ramp of 256-colour terminals.
    case palette256
    /// The eight basic colours.
    case palette8
    /// No colour (NO_COLOR, or a terminal without colours): attributes and
    /// shading characters only.
    case monochrome
}

/// The terminal, through ncursesw. Frames are drawn into a `CellBuffer`
/// (the same one `MemoryScreen` uses) and `flush` converts the cells for the
/// terminal's abilities, assigns colour pairs for the whole frame, writes
/// only cells that changed and updates the terminal once
/// (`wnoutrefresh` + `doupdate`).
///
/// All calls must come from one thread (ncurses is not thread-safe). The
/// terminal is restored by `close()`, at exit, and on SIGINT/SIGTERM.
public final class NcursesScreen: Screen {
    public let colorMode: ColorMode
    /// False when the locale's codeset is not UTF-8: `▀` would come out
    /// blank, so images use one colour per cell and the chrome uses ASCII.
    public let unicode: Bool
    /// The terminal takes packed 0xRRGGBB colour values (`*-direct`).
    public let directColorValues: Bool

    private var terminal: latent_terminal
    private var buffer = CellBuffer(size: TerminalSize(rows: 0, cols: 0))
    private var shown: [Rendered]?
    private var shownSize = TerminalSize(rows: 0, cols: 0)
    private var pairs: PairAllocator
    private var colorValues: [RGB: Int32] = [:]
    private var defaultForeground: Int32 = -1
    private var defaultBackground: Int32 = -1
    private var repaintAll = true
    private var closed = false
    /// How often the colour-pair table was used up and started over (see
    /// `flush`); for tests and diagnostics.
    public private(set) var pairTableRestarts = 0

    /// Opens the terminal on `output`/`input` (standard output and input by
    /// default).
    ///
    /// - `terminalType`: a terminfo name; nil uses `TERM`, except that
    ///   `COLORTERM=truecolor`/`24bit` selects `xterm-direct` when that
    ///   entry exists (Debian's ncurses-term), which is how truecolor is
    ///   reached from the usual `TERM=xterm-256color`.
    /// - `colorMode`: forces a mode (a `--colors` flag); otherwise the best
    ///   the terminal has, and monochrome when `NO_COLOR` is set and not empty.
    /// - `environment`: overrides `TERM`, `COLORTERM` and `NO_COLOR` (tests).
    /// - `locale`: passed to `setlocale(LC_ALL, …)`; "" takes it from the
    ///   environment, as a terminal program must before ncurses starts.
    public init(terminalType: String? = nil, colorMode forced: ColorMode? = nil, input: Int32 = STDIN_FILENO,
                output: Int32 = STDOUT_FILENO, environment: [String: String]? = nil, locale: String = "") throws {
        func env(_ name: String) -> String {
            if let environment { return environment[name] ?? "" }
            return getenv(name).map { String(cString: $0) } ?? ""
        }
        setlocale(LC_ALL, locale)
        let codeset = String(cString: nl_langinfo(nl_item(CODESET))).uppercased().filter { $0 != "-" }
        unicode = codeset == "UTF8"

        let noColor = !env("NO_COLOR").isEmpty
        let colorterm = env("COLORTERM").lowercased()
        let termName = terminalType ?? env("TERM")
        let wantsDirect = forced == .direct
            || (forced == nil && !noColor && (colorterm == "truecolor" || colorterm == "24bit")
                && !termName.contains("direct"))
        var opened = latent_terminal(screen: nil, out: nil, in: nil)
        if wantsDirect { opened = latent_open_terminal("xterm-direct", output, input) }
        if opened.screen == nil {
            opened = termName.isEmpty ? latent_open_terminal(nil, output, input)
                : latent_open_terminal(termName, output, input)
        }
        guard opened.screen != nil else {
            throw TerminalError(description: "cannot open the terminal \"\(termName)\": set TERM to a terminal "
                                + "type that terminfo knows (e.g. xterm-256color)")
        }
        terminal = opened
        set_term(opened.screen)

        // COLORS and COLOR_PAIRS are only set by start_color.
        let wantsColor = !noColor && forced != .monochrome && has_colors()
        if wantsColor { start_color() }
        let colors = wantsColor ? Int(latent_colors()) : 0
        let mode: ColorMode
        if noColor || forced == .monochrome || colors < 8 {
            mode = .monochrome
        } else if let forced, forced != .direct {
            mode = colors >= 256 || forced == .palette8 ? forced : .palette8
        } else if colors >= 0x1000000 {
            mode = .direct
        } else {
            mode = colors >= 256 ? .palette256 : .palette8
        }
        colorMode = mode
        directColorValues = colors >= 0x1000000
        pairs = PairAllocator(capacity: mode == .monochrome ? 1 : Int(min(latent_color_pairs(), 65536)))

        if mode != .monochrome && use_default_colors() == ERR { (defaultForeground, defaultBackground) = (7, 0) }
        set_escdelay(25)
        let window = latent_stdscr()
        keypad(window, true)
        noecho()
        cbreak()
        _ = curs_set(0)
        leaveok(window, true)
        latent_install_restore_handlers()
    }

    deinit { close() }

    /// Restores the terminal (idempotent).
    public func close() {
        guard !closed else { return }
        closed = true
        endwin()
        latent_close_terminal(terminal)
    }

    /// The descriptor keys arrive on, for `poll` beside other event sources
    /// (the app's wake-up pipe); −1 once closed. ncurses reads it byte by
    /// byte with read(2), so readability here means a key is (partly) there.
    public var inputDescriptor: Int32 {
        guard !closed, let input = terminal.in else { return -1 }
        return fileno(input)
    }

    public var size: TerminalSize {
        guard !closed else { return TerminalSize(rows: 0, cols: 0) }
        let window = latent_stdscr()
        return TerminalSize(rows: Int(getmaxy(window)), cols: Int(getmaxx(window)))
    }

    /// Waits up to `timeoutMilliseconds` (−1: forever, 0: poll) for a key.
    /// A resize arrives as `Key.resize` (ncurses owns SIGWINCH and has
    /// already resized its screens); the next flush then repaints fully.
    public func readKey(timeoutMilliseconds: Int32) -> Key? {
        guard !closed else { return nil }
        let window = latent_stdscr()
        wtimeout(window, timeoutMilliseconds)
        var ch: wint_t = 0
        let result = wget_wch(window, &ch)
        if result == KEY_CODE_YES {
            if Int32(ch) == KEY_RESIZE { repaintAll = true }
            return .code(Int32(ch))
        }
        if result == OK, let scalar = Unicode.Scalar(UInt32(ch)) { return .character(scalar) }
        return nil
    }

    public func clear() { buffer.clear(to: size) }

    public func put(_ text: String, row: Int, col: Int, style: Style) {
        buffer.put(text, row: row, col: col, style: style)
    }

    public func putHalfBlock(row: Int, col: Int, top: RGB, bottom: RGB?) {
        buffer.putHalfBlock(row: row, col: col, top: top, bottom: bottom)
    }

    /// Writes the frame: converts cells, assigns pairs for the frame, writes
    /// the cells that differ from the last frame, one `doupdate`.
    public func flush() {
        guard !closed else { return }
        let frame = buffer
        let rendered = frame.cells.map(render)
        var keys = Set<ColorPairKey>()
        for cell in rendered { if let pair = cell.pair { keys.insert(pair) } }
        let window = latent_stdscr()
        // Out of fresh pair ids (after some 50 new truecolor frames): start
        // the table over instead of redefining ids one by one, because ncurses
        // scans the whole screen for every pair redefined (_nc_change_pair),
        // ~1000 scans a frame. reset_color_pairs() asks for a clear-screen
        // repaint; wredrawln instead marks every cell unknown, so the next
        // update rewrites the screen in place, without a blank flash. Only
        // where a frame fits the table many times over: an 8-colour
        // terminal's 64 pairs keep recycling.
        var rewriteAll = false
        if pairs.capacity >= 1024, keys.count < pairs.capacity / 2, pairs.needsRecycling(keys) {
            reset_color_pairs()
            if let current = latentCurrentScreen() { clearok(current, false) }
            _ = wredrawln(window, 0, Int32(frame.size.rows))
            pairs.reset()
            rewriteAll = true
            pairTableRestarts += 1
        }
        let assignment = pairs.assign(keys)
        for (id, key) in assignment.definitions {
            _ = init_extended_pair(id, key.foreground, key.background)
        }

        let full = repaintAll || rewriteAll || shown == nil || shownSize != frame.size
        if repaintAll { clearok(window, true) }
        let (bold, reverse, dim) = (latent_a_bold(), latent_a_reverse(), latent_a_dim())
        for row in 0..<frame.size.rows {
            for col in 0..<frame.size.cols {
                let i = row * frame.size.cols + col
                let cell = rendered[i]
                if cell.isTail || (!full && shown![i] == cell) { continue }
                var attrs = latent_a_normal()
                if cell.bold { attrs |= bold }
                if cell.reverse { attrs |= reverse }
                if cell.dim { attrs |= dim }
                let pair = cell.pair.flatMap { assignment.ids[$0] } ?? 0
                var text = cell.glyph.unicodeScalars.map { wchar_t(bitPattern: $0.value) }
                if text.isEmpty { text = [wchar_t(32)] }
                text.append(0)
                _ = latent_put_cell(window, Int32(row), Int32(col), text, attrs, pair)
            }
        }
        wnoutrefresh(window)
        doupdate()
        shown = rendered
        shownSize = frame.size
        repaintAll = false
    }

    /// A cell as this terminal will show it.
    struct Rendered: Hashable {
        var glyph: String
        var bold = false
        var reverse = false
        var dim = false
        var pair: ColorPairKey?
        var isTail = false
    }

    private func render(_ cell: Cell) -> Rendered {
        switch cell.content {
        case .wideTail:
            return Rendered(glyph: "", isTail: true)
        case .text(let text):
            var r = Rendered(glyph: unicode ? text : Self.ascii(text))
            (r.bold, r.reverse, r.dim) = (cell.style.bold, cell.style.reverse, cell.style.dim)
            if colorMode != .monochrome && (cell.style.foreground != nil || cell.style.background != nil) {
                r.pair = ColorPairKey(foreground: cell.style.foreground.map(colorValue) ?? defaultForeground,
                                      background: cell.style.background.map(colorValue) ?? defaultBackground)
            }
            return r
        case .halfBlock(let top, let bottom):
            if colorMode == .monochrome {
                // Shade by brightness: the only tone a colourless terminal has.
                let luma = bottom.map { (top.luma + $0.luma) / 2 } ?? top.luma / 2
                let ramp = unicode ? Array(" ░▒▓█") : Array(" .:-=+*#%@")
                let level = min(ramp.count - 1, Int(luma / 256 * Double(ramp.count)))
                return Rendered(glyph: String(ramp[level]))
            }
            if !unicode {
                // One pixel per cell: the background carries the pair's mean.
                let mean = bottom.map { RGB(UInt8((Int(top.r) + Int($0.r)) / 2), UInt8((Int(top.g) + Int($0.g)) / 2),
                                            UInt8((Int(top.b) + Int($0.b)) / 2)) } ?? top
                return Rendered(glyph: " ", pair: ColorPairKey(foreground: defaultForeground,
                                                               background: colorValue(mean)))
            }
            let fg = colorValue(top)
            let bg = bottom.map(colorValue) ?? defaultBackground
            if fg == bg {
                return Rendered(glyph: " ", pair: ColorPairKey(foreground: defaultForeground, background: bg))
            }
            return Rendered(glyph: "▀", pair: ColorPairKey(foreground: fg, background: bg))
        }
    }

    /// The terminal's colour value for an RGB colour in this mode (cached:
    /// a walk's frames share most colours).
    private func colorValue(_ c: RGB) -> Int32 {
        if let v = colorValues[c] { return v }
        let v: Int32
        switch colorMode {
        case .direct: v = ColorQuantizer.direct(c)
        case .palette256:
            let index = ColorQuantizer.xterm256(c)
            v = directColorValues ? ColorQuantizer.direct(ColorQuantizer.xterm256Color(index)) : Int32(index)
        case .palette8, .monochrome: v = Int32(ColorQuantizer.ansi8(c))
        }
        if colorValues.count > 1 << 16 { colorValues.removeAll(keepingCapacity: true) }
        colorValues[c] = v
        return v
    }

    /// ASCII stand-ins, one column each, for the chrome's characters when
    /// the locale cannot encode them; anything else non-ASCII becomes "?".
    static func ascii(_ text: String) -> String {
        String(text.unicodeScalars.map { s -> Character in
            if s.isASCII { return Character(s) }
            switch s {
            case "─": return "-"
            case "│", "‖": return "|"
            case "┌", "┐", "└", "┘": return "+"
            case "▶", "→": return ">"
            case "←": return "<"
            case "▲", "↑": return "^"
            case "▼", "↓": return "v"
            case "▁": return "_"
            case "▂": return "."
            case "▃": return ","
            case "▄": return "-"
            case "▅": return "~"
            case "▆": return "="
            case "▇": return "*"
            case "█", "▀": return "#"
            case "Δ": return "d"
            case "ψ": return "y"
            case "ε", "∈": return "e"
            case "×": return "x"
            case "−": return "-"
            case "·", "…": return "."
            case "∞": return "~"
            case "⁰": return "0"
            case "¹": return "1"
            case "²": return "2"
            case "³": return "3"
            case "⁴"..."⁹": return Character(Unicode.Scalar(s.value - 0x2074 + 0x34)!)
            default: return "?"
            }
        })
    }
}
