/// An sRGB colour, 8 bits per channel: the unit both the image blitter and
/// the text styles speak. Terminal-specific forms (palette indices, packed
/// direct colours) are derived from it only when a frame is written out.
public struct RGB: Hashable, Sendable, CustomStringConvertible {
    public var r: UInt8
    public var g: UInt8
    public var b: UInt8

    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) { (self.r, self.g, self.b) = (r, g, b) }

    /// `#RRGGBB`, as the colour dumps of `MemoryScreen` print it.
    public var description: String {
        let digits = Array("0123456789ABCDEF")
        var s = "#"
        for v in [r, g, b] { s.append(digits[Int(v >> 4)]); s.append(digits[Int(v & 15)]) }
        return s
    }

    /// BT.601 luma in 0…255: what a monochrome terminal shades by.
    public var luma: Double { 0.299 * Double(r) + 0.587 * Double(g) + 0.114 * Double(b) }
}

/// How text is drawn. `nil` colours mean the terminal's own default, so a
/// screen with no colours (NO_COLOR, `TERM=dumb`-like terminals) still shows
/// every distinction that the attributes carry: draw code marks selections
/// with `reverse` or `bold`, never with colour alone.
public struct Style: Hashable, Sendable {
    public var foreground: RGB?
    public var background: RGB?
    public var bold: Bool
    public var reverse: Bool
    public var dim: Bool

    public init(foreground: RGB? = nil, background: RGB? = nil, bold: Bool = false, reverse: Bool = false,
                dim: Bool = false) {
        (self.foreground, self.background) = (foreground, background)
        (self.bold, self.reverse, self.dim) = (bold, reverse, dim)
    }

    public static let plain = Style()
}

/// The size of a terminal (or of a `MemoryScreen`) in character cells.
public struct TerminalSize: Hashable, Sendable, CustomStringConvertible {
    public var rows: Int
    public var cols: Int
    public init(rows: Int, cols: Int) { (self.rows, self.cols) = (rows, cols) }
    public var description: String { "\(cols)×\(rows)" }
}

/// One character cell of a rendered frame.
public struct Cell: Hashable, Sendable {
    public enum Content: Hashable, Sendable {
        /// One grapheme (a double-width one is followed by a `wideTail`).
        case text(String)
        /// Two stacked pixels drawn as `▀` (top = foreground, bottom =
        /// background). `bottom == nil` leaves the lower half in the
        /// terminal's background, for images with an odd pixel height.
        case halfBlock(top: RGB, bottom: RGB?)
        /// The right half of a double-width character.
        case wideTail
    }

    public var content: Content
    /// Text attributes; for half-blocks only the colours derived from the
    /// pixels count.
    public var style: Style

    public init(_ content: Content, style: Style = .plain) { (self.content, self.style) = (content, style) }

    public static let blank = Cell(.text(" "))

    /// What a UTF-8 terminal shows: `▀`, or a space when both pixels are equal
    /// (the background alone then carries the colour, one glyph fewer to draw).
    public var glyph: String {
        switch content {
        case .text(let s): s
        case .halfBlock(let top, let bottom): top == bottom ? " " : "▀"
        case .wideTail: ""
        }
    }

    public var foreground: RGB? {
        switch content {
        case .halfBlock(let top, let bottom): top == bottom ? nil : top
        default: style.foreground
        }
    }

    public var background: RGB? {
        switch content {
        case .halfBlock(_, let bottom): bottom
        default: style.background
        }
    }
}

/// Columns a character takes in a terminal: 2 for East Asian wide and
/// emoji presentation ranges, 0 for controls, 1 otherwise. Deliberately
/// locale-free (unlike `wcwidth`, which answers −1 for everything non-ASCII
/// under the C locale) so tests and terminals agree on layout.
public func displayWidth(_ c: Character) -> Int {
    guard let v = c.unicodeScalars.first?.value else { return 0 }
    if v < 0x20 || (0x7F..<0xA0).contains(v) { return 0 }
    let wide: [ClosedRange<UInt32>] = [
        0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF,
        0xA000...0xA4CF, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60,
        0xFFE0...0xFFE6, 0x1F300...0x1F64F, 0x1F900...0x1F9FF, 0x20000...0x2FFFD, 0x30000...0x3FFFD,
    ]
    return wide.contains { $0.contains(v) } ? 2 : 1
}

/// Columns a string takes (see `displayWidth(_:)`).
public func displayWidth(_ s: String) -> Int { s.reduce(0) { $0 + displayWidth($1) } }

/// A frame rendered to memory (notcurses' idea): drawing code writes cells
/// here, and only `flush` turns them into terminal output. Writes outside
/// the grid are clipped, so layout code never has to guard every edge.
public struct CellBuffer: Hashable, Sendable {
    public private(set) var size: TerminalSize
    public private(set) var cells: [Cell]

    public init(size: TerminalSize) {
        self.size = TerminalSize(rows: max(size.rows, 0), cols: max(size.cols, 0))
        cells = Array(repeating: .blank, count: self.size.rows * self.size.cols)
    }

    public subscript(row: Int, col: Int) -> Cell {
        precondition(contains(row: row, col: col), "cell (\(row), \(col)) outside \(size)")
        return cells[row * size.cols + col]
    }

    public func contains(row: Int, col: Int) -> Bool {
        row >= 0 && row < size.rows && col >= 0 && col < size.cols
    }

    /// Writes `text` from (row, col) rightwards and returns the column after
    /// it. Control characters are dropped; a wide character that would be
    /// cut by the right edge becomes a space.
    @discardableResult
    public mutating func put(_ text: String, row: Int, col: Int, style: Style) -> Int {
        var c = col
        guard row >= 0 && row < size.rows else { return c + displayWidth(text) }
        for ch in text {
            let w = displayWidth(ch)
            if w == 0 { continue }
            if c >= size.cols { c += w; continue }
            if w == 2 {
                if c >= 0 && c + 1 < size.cols {
                    set(row, c, Cell(.text(String(ch)), style: style))
                    set(row, c + 1, Cell(.wideTail, style: style))
                } else if c >= 0 {
                    set(row, c, Cell(.text(" "), style: style))
                } else if c + 1 == 0 {
                    set(row, 0, Cell(.text(" "), style: style))
                }
            } else if c >= 0 {
                set(row, c, Cell(.text(String(ch)), style: style))
            }
            c += w
        }
        return c
    }

    /// Writes one half-block cell (two vertically stacked pixels).
    public mutating func putHalfBlock(row: Int, col: Int, top: RGB, bottom: RGB?) {
        guard contains(row: row, col: col) else { return }
        set(row, col, Cell(.halfBlock(top: top, bottom: bottom)))
    }

    /// Resets every cell to a blank, resizing the grid to `size`.
    public mutating func clear(to size: TerminalSize? = nil) {
        if let size, size != self.size { self = CellBuffer(size: size); return }
        for i in cells.indices { cells[i] = .blank }
    }

    /// Stores a cell, first repairing any double-width character it splits,
    /// so the grid never holds half of a wide glyph.
    private mutating func set(_ row: Int, _ col: Int, _ cell: Cell) {
        let i = row * size.cols + col
        if case .wideTail = cells[i].content, col > 0 { cells[i - 1] = Cell(.text(" "), style: cells[i - 1].style) }
        if case .text(let old) = cells[i].content, let ch = old.first, displayWidth(ch) == 2,
           col + 1 < size.cols, case .wideTail = cells[i + 1].content, cell.content != .wideTail {
            cells[i + 1] = Cell(.text(" "), style: cells[i + 1].style)
        }
        cells[i] = cell
    }

    /// The text of one row (a half-block shows as `▀` or a space).
    public func text(row: Int) -> String {
        (0..<size.cols).map { self[row, $0].glyph }.joined()
    }
}

/// Where frames go. `draw` writes a whole frame (starting with `clear`), and
/// the app calls `flush` once per change, so a terminal sees one update per
/// key press and no intermediate states (no flicker).
///
/// Two implementations, as in TermKit: `NcursesScreen` for the terminal and
/// `MemoryScreen` for tests.
public protocol Screen: AnyObject {
    /// The current size; a terminal's changes after a resize.
    var size: TerminalSize { get }
    /// Starts a new frame: every cell blank, sized to `size`.
    func clear()
    /// Writes text at (row, col); clipped at the edges.
    func put(_ text: String, row: Int, col: Int, style: Style)
    /// Writes a half-block cell: `top` pixel above `bottom` pixel.
    func putHalfBlock(row: Int, col: Int, top: RGB, bottom: RGB?)
    /// Shows the frame.
    func flush()
}

extension Screen {
    public func put(_ text: String, row: Int, col: Int) { put(text, row: row, col: col, style: .plain) }
}

/// A screen in memory: a grid of cells with text and colour dumps, so
/// drawing is tested without a terminal.
public final class MemoryScreen: Screen {
    public private(set) var buffer: CellBuffer
    /// The buffer as of the last `flush` (what a terminal would show).
    public private(set) var flushed: CellBuffer?
    public private(set) var flushCount = 0

    public init(rows: Int, cols: Int) { buffer = CellBuffer(size: TerminalSize(rows: rows, cols: cols)) }

    /// Setting it simulates a terminal resize: the frame is discarded.
    public var size: TerminalSize {
        get { buffer.size }
        set { buffer = CellBuffer(size: newValue) }
    }

    public func clear() { buffer.clear() }
    public func put(_ text: String, row: Int, col: Int, style: Style) {
        buffer.put(text, row: row, col: col, style: style)
    }
    public func putHalfBlock(row: Int, col: Int, top: RGB, bottom: RGB?) {
        buffer.putHalfBlock(row: row, col: col, top: top, bottom: bottom)
    }
    public func flush() { flushed = buffer; flushCount += 1 }

    public subscript(row: Int, col: Int) -> Cell { buffer[row, col] }

    /// All rows, newline-separated.
    public func dumpText() -> String { (0..<size.rows).map { buffer.text(row: $0) }.joined(separator: "\n") }

    /// One line per row: each cell as `fg/bg` (`#RRGGBB` or `-` for the
    /// terminal default), cells separated by spaces.
    public func dumpColors() -> String {
        (0..<size.rows).map { r in
            (0..<size.cols).map { c in
                let cell = buffer[r, c]
                return "\(cell.foreground.map(\.description) ?? "-")/\(cell.background.map(\.description) ?? "-")"
            }.joined(separator: " ")
        }.joined(separator: "\n")
    }

    /// The first (row, col) where `text` occurs, scanning rows top-down.
    /// Columns count cells, which equals characters for single-width text.
    public func find(_ text: String) -> (row: Int, col: Int)? {
        let needle = Array(text)
        guard !needle.isEmpty else { return nil }
        for r in 0..<size.rows {
            let glyphs = (0..<size.cols).map { buffer[r, $0].glyph }
            let row = glyphs.map { $0.isEmpty ? Character("\u{0}") : Character($0) }
            if row.count < needle.count { continue }
            for c in 0...(row.count - needle.count) where Array(row[c..<(c + needle.count)]) == needle {
                return (r, c)
            }
        }
        return nil
    }

    public func contains(_ text: String) -> Bool { find(text) != nil }
}
