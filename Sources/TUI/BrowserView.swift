import Imaging
import Latent

/// A rectangle of cells.
public struct Rect: Hashable, Sendable {
    public var row: Int
    public var col: Int
    public var rows: Int
    public var cols: Int
    public init(row: Int, col: Int, rows: Int, cols: Int) { (self.row, self.col, self.rows, self.cols) = (row, col, rows, cols) }
    /// Inside a one-cell border.
    public var inner: Rect { Rect(row: row + 1, col: col + 1, rows: max(rows - 2, 0), cols: max(cols - 2, 0)) }
}

/// Where the browser's panels go for a terminal size (DESIGN.md's sketch):
///
///     header
///     ┌ z0 ┐┌ current frame ┐┌ directions ┐     top band
///     ┌ walk (filmstrip) ┐┌ readouts ┐          bottom band
///     message / text field
///     key hints
///
/// The current frame gets the height of the top band and the width its
/// image needs; z0 gets the same if there is room; the directions list
/// takes the rest (up to a cap, then the current panel widens). A pure
/// value, so the app can ask how many filmstrip frames to compute.
public struct BrowserLayout: Hashable, Sendable {
    public static let minimum = TerminalSize(rows: 24, cols: 80)

    public let size: TerminalSize
    /// False below `minimum`: draw shows the resize message instead.
    public let fits: Bool
    public let header: Rect
    public let origin: Rect
    public let current: Rect
    public let directions: Rect
    public let filmstrip: Rect
    public let readouts: Rect
    public let message: Rect
    public let keys: Rect
    /// The compare view's three panels (linear, norm, density) over the
    /// space of z0 and the current frame.
    public let compare: [Rect]
    /// The compare view spans the whole top band (directions hidden).
    public let compareCoversDirections: Bool
    /// Odd number of filmstrip frames shown, centred on the current step.
    public let filmstripCount: Int
    /// Cell size of one filmstrip thumbnail.
    public let thumbnail: TerminalSize

    public init(size: TerminalSize, imageAspect: Double = 1) {
        self.size = size
        let (w, h) = (size.cols, size.rows)
        fits = w >= Self.minimum.cols && h >= Self.minimum.rows
        let aspect = imageAspect.isFinite && imageAspect > 0 ? imageAspect : 1
        header = Rect(row: 0, col: 0, rows: 1, cols: w)
        message = Rect(row: h - 2, col: 0, rows: 1, cols: w)
        keys = Rect(row: h - 1, col: 0, rows: 1, cols: w)

        let body = max(h - 3, 0)
        let bottomHeight = min(max(body / 3, 8), 14)
        let topHeight = max(body - bottomHeight, 0)
        let topRows = max(topHeight - 2, 0)
        let want = max(Int((2 * Double(topRows) * aspect).rounded()), 1) + 2
        let (directionsMin, directionsMax, originMin) = (28, 60, 14)
        let available = w - directionsMin
        var currentWidth: Int, originWidth: Int, directionsWidth: Int
        if 2 * want <= available {
            (currentWidth, originWidth) = (want, want)
            directionsWidth = w - 2 * want
            if directionsWidth > directionsMax {
                currentWidth += directionsWidth - directionsMax
                directionsWidth = directionsMax
            }
        } else {
            currentWidth = max(min(want, available - originMin), 0)
            originWidth = max(min(want, available - currentWidth), 0)
            directionsWidth = w - currentWidth - originWidth
        }
        origin = Rect(row: 1, col: 0, rows: topHeight, cols: originWidth)
        current = Rect(row: 1, col: originWidth, rows: topHeight, cols: currentWidth)
        directions = Rect(row: 1, col: originWidth + currentWidth, rows: topHeight, cols: directionsWidth)
        // Three frames need room: when a third of the image area is narrow,
        // the compare view takes the directions' place too.
        let imageArea = originWidth + currentWidth
        compareCoversDirections = imageArea / 3 < 24
        let span = compareCoversDirections ? w : imageArea
        let third = span / 3
        compare = (0..<3).map { i in
            Rect(row: 1, col: i * third, rows: topHeight, cols: i == 2 ? span - 2 * third : third)
        }

        let readoutsWidth = min(max(w * 11 / 20, 44), 64)
        filmstrip = Rect(row: 1 + topHeight, col: 0, rows: bottomHeight, cols: max(w - readoutsWidth, 0))
        readouts = Rect(row: 1 + topHeight, col: max(w - readoutsWidth, 0), rows: bottomHeight, cols: readoutsWidth)

        // Thumbnails as tall as the strip; shrunk when fewer than five fit,
        // since a filmstrip needs a few frames on each side to show a trend.
        let strip = filmstrip.inner
        var thumbCols = max(Int((2 * Double(strip.rows) * aspect).rounded()), 1)
        var count = (strip.cols + 1) / (thumbCols + 1)
        if count < 5 {
            thumbCols = max((strip.cols - 4) / 5, 1)
            count = (strip.cols + 1) / (thumbCols + 1)
        }
        count = min(count, 11)
        if count % 2 == 0 { count -= 1 }
        filmstripCount = max(count, 0)
        let thumbRows = min(strip.rows, max(Int((Double(thumbCols) / aspect / 2).rounded(.up)), 1))
        thumbnail = TerminalSize(rows: thumbRows, cols: thumbCols)
    }

    /// The steps the filmstrip shows for a current step, left to right.
    public func filmstripSteps(around step: Int) -> [Int] {
        let half = filmstripCount / 2
        return filmstripCount > 0 ? Array((step - half)...(step + half)) : []
    }
}

/// Colours and attributes of the chrome. Emphasis is carried by
/// attributes, so a monochrome screen loses nothing.
enum Theme {
    static let border = Style(foreground: RGB(108, 108, 108))
    static let title = Style(bold: true)
    static let selected = Style(bold: true, reverse: true)
    static let dim = Style(dim: true)
    static let message = Style(foreground: RGB(255, 215, 95), bold: true)
    static let key = Style(foreground: RGB(95, 175, 255), bold: true)
}

/// Draws one frame of the browser. Reads `model` only (it is a value): the
/// screen shows a function of the model, so the same model draws the same
/// frame, and tests check frames on a `MemoryScreen`. Starts with
/// `screen.clear()`; the caller flushes.
public func draw(_ model: BrowserViewModel, on screen: Screen) {
    screen.clear()
    let size = screen.size
    let layout = BrowserLayout(size: size, imageAspect: model.imageAspect)
    guard layout.fits else {
        drawTooSmall(size, on: screen)
        return
    }
    drawHeader(model, layout.header, on: screen)
    if let comparison = model.comparison {
        let panels: [(WalkMode, RGBImage?)] = [(.linear, comparison.linear), (.norm, comparison.norm),
                                               (.density, comparison.density)]
        for (rect, (mode, image)) in zip(layout.compare, panels) {
            let title = mode.title + " · " + formatStep(model.step)
            drawBox(rect, title: title, on: screen, titleStyle: mode == model.mode ? Theme.selected : Theme.title)
            drawImage(image, in: rect.inner, on: screen, placeholder: comparison.notes[mode] ?? "(no frame yet)")
        }
    } else {
        let titleWidth = layout.origin.cols - 5
        var originTitles = ["z0 · from file"]
        if let seed = model.seed {
            let psi = model.truncation == 1 ? "" : " · ψ " + formatFixed(Double(model.truncation), decimals: 2)
            originTitles = ["z0 · seed \(seed)" + psi, "seed \(seed)" + psi, "z0 · seed \(seed)"]
        }
        drawBox(layout.origin, title: firstFitting(originTitles, width: titleWidth), on: screen)
        drawImage(model.origin, in: layout.origin.inner, on: screen)
        let offset = Double(model.step) * Double(model.stride)
        let walk = "\(formatStep(model.step)) × \(formatFixed(Double(model.stride), decimals: 2))"
            + " = \(formatFixed(offset, decimals: 2, sign: true))"
        let playing = model.playing ? " ▶" : ""
        let currentTitles = ["step " + walk + (model.playing ? " · ▶ playing" : ""), "step " + walk + playing,
                             walk + playing]
        drawBox(layout.current, title: firstFitting(currentTitles, width: layout.current.cols - 5), on: screen)
        drawImage(model.current, in: layout.current.inner, on: screen)
    }
    if model.comparison == nil || !layout.compareCoversDirections {
        drawDirections(model, layout.directions, on: screen)
    }
    drawFilmstrip(model, layout, on: screen)
    drawReadouts(model, layout.readouts, on: screen)
    drawMessage(model, layout.message, on: screen)
    drawKeyHints(layout.keys, on: screen)
    if model.showHelp { drawHelp(KeyMap.browser.helpRows, size: size, on: screen) }
}

/// The message for terminals below the minimum, centred and wrapped.
func drawTooSmall(_ size: TerminalSize, on screen: Screen) {
    let need = BrowserLayout.minimum
    let text = "terminal too small: need \(need.cols)×\(need.rows), have \(size.cols)×\(size.rows) — resize"
    let lines = wrap(text, width: max(size.cols, 1))
    let top = max((size.rows - lines.count) / 2, 0)
    for (i, line) in lines.enumerated() {
        screen.put(line, row: top + i, col: max((size.cols - displayWidth(line)) / 2, 0), style: Theme.title)
    }
}

/// The first title that fits in `width` columns (titles go from most to
/// least informative), else the last one cut.
func firstFitting(_ titles: [String], width: Int) -> String {
    titles.first { displayWidth($0) <= width } ?? truncate(titles.last ?? "", width: width)
}

/// Greedy word wrap; words longer than the width are cut.
func wrap(_ text: String, width: Int) -> [String] {
    var lines: [String] = []
    var line = ""
    for word in text.split(separator: " ").map(String.init) {
        let candidate = line.isEmpty ? word : line + " " + word
        if displayWidth(candidate) <= width {
            line = candidate
        } else {
            if !line.isEmpty { lines.append(line) }
            line = truncate(word, width: width)
        }
    }
    if !line.isEmpty { lines.append(line) }
    return lines
}

func drawHeader(_ model: BrowserViewModel, _ rect: Rect, on screen: Screen) {
    let h = model.header
    var parts = ["latent-tui", h.fileName, "\(h.imageWidth)×\(h.imageHeight)",
                 "\(h.prior) z∈R\(superscript(h.latentDim))"]
    if !h.method.isEmpty { parts.append("\(h.method) k=\(h.k)") }
    screen.put(truncate(" " + parts.joined(separator: " · "), width: rect.cols), row: rect.row, col: rect.col,
               style: Theme.title)
}

/// A box-drawing border with a title in the top edge.
func drawBox(_ r: Rect, title: String, on screen: Screen, titleStyle: Style = Theme.title) {
    guard r.rows >= 2, r.cols >= 2 else { return }
    let horizontal = String(repeating: "─", count: r.cols - 2)
    screen.put("┌" + horizontal + "┐", row: r.row, col: r.col, style: Theme.border)
    for y in (r.row + 1)..<(r.row + r.rows - 1) {
        screen.put("│", row: y, col: r.col, style: Theme.border)
        screen.put("│", row: y, col: r.col + r.cols - 1, style: Theme.border)
    }
    screen.put("└" + horizontal + "┘", row: r.row + r.rows - 1, col: r.col, style: Theme.border)
    if r.cols > 4 && !title.isEmpty {
        screen.put(" " + truncate(title, width: r.cols - 5) + " ", row: r.row, col: r.col + 1, style: titleStyle)
    }
}

/// An image as large as fits, centred; a placeholder (wrapped, centred)
/// while it is missing.
func drawImage(_ image: RGBImage?, in r: Rect, on screen: Screen, placeholder: String = "(no frame yet)") {
    guard r.rows > 0, r.cols > 0 else { return }
    guard let image, image.width > 0, image.height > 0 else {
        let lines = Array(wrap(placeholder, width: r.cols).prefix(r.rows))
        for (i, text) in lines.enumerated() {
            screen.put(text, row: r.row + (r.rows - lines.count) / 2 + i, col: r.col + (r.cols - displayWidth(text)) / 2,
                       style: Theme.dim)
        }
        return
    }
    let cells = HalfBlockRenderer.render(image, cols: r.cols, rows: r.rows)
    cells.draw(on: screen, row: r.row + (r.rows - cells.rows) / 2, col: r.col + (r.cols - cells.cols) / 2)
}

func drawDirections(_ model: BrowserViewModel, _ r: Rect, on screen: Screen) {
    let title = "directions" + (model.header.method.isEmpty ? "" : " · \(model.header.method)")
    drawBox(r, title: title, on: screen)
    let inner = r.inner
    guard inner.rows > 0, inner.cols > 0 else { return }
    let rows = model.directions
    guard !rows.isEmpty else {
        screen.put(truncate("(no directions)", width: inner.cols), row: inner.row, col: inner.col, style: Theme.dim)
        return
    }
    // Scrolling is a function of the selection alone (no scroll state): the
    // selection sits mid-list when it can.
    let visible = inner.rows
    let selectedRow = rows.firstIndex { $0.index == model.selectedDirection } ?? 0
    let offset = min(max(selectedRow - visible / 2, 0), max(rows.count - visible, 0))
    let indexWidth = String(rows.map(\.index).max() ?? 0).count
    let scores = rows.map { formatReadout($0.score, decimals: 2) }
    let scoreWidth = scores.map { displayWidth($0) }.max() ?? 0
    let labelWidth = max(inner.cols - 2 - indexWidth - 2 - 1 - scoreWidth - 1, 1)
    for (line, i) in (offset..<min(offset + visible, rows.count)).enumerated() {
        let row = rows[i]
        let isSelected = i == selectedRow
        let y = inner.row + line
        let style = isSelected ? Theme.selected : Style.plain
        let label = row.label.isEmpty ? "(unnamed)" : row.label
        var x = inner.col
        x = screen.putReturning((isSelected ? "▶ " : "  ") + rightAligned(String(row.index), width: indexWidth) + "  ",
                                row: y, col: x, style: style)
        x = screen.putReturning(padded(label, width: labelWidth) + " ", row: y, col: x,
                                style: row.label.isEmpty && !isSelected ? Theme.dim : style)
        _ = screen.putReturning(padded(rightAligned(scores[i], width: scoreWidth), width: inner.col + inner.cols - x),
                                row: y, col: x, style: style)
    }
    if offset > 0 { screen.put("▲", row: r.row, col: r.col + r.cols - 3, style: Theme.title) }
    if offset + visible < rows.count { screen.put("▼", row: r.row + r.rows - 1, col: r.col + r.cols - 3, style: Theme.title) }
}

func drawFilmstrip(_ model: BrowserViewModel, _ layout: BrowserLayout, on screen: Screen) {
    let r = layout.filmstrip
    drawBox(r, title: "walk", on: screen)
    let inner = r.inner
    let steps = layout.filmstripSteps(around: model.step)
    guard !steps.isEmpty else { return }
    let thumb = layout.thumbnail
    let used = steps.count * thumb.cols + steps.count - 1
    let left = inner.col + max((inner.cols - used) / 2, 0)
    var frames: [Int: RGBImage] = [:]
    for frame in model.filmstrip { frames[frame.step] = frame.image }
    var labels: [(String, Int, Bool)] = []
    for (i, step) in steps.enumerated() {
        let x = left + i * (thumb.cols + 1)
        let slot = Rect(row: inner.row + max((inner.rows - thumb.rows) / 2, 0), col: x, rows: thumb.rows, cols: thumb.cols)
        if let image = frames[step] {
            drawImage(image, in: slot, on: screen)
        } else {
            screen.put("·", row: slot.row + slot.rows / 2, col: slot.col + slot.cols / 2, style: Theme.dim)
        }
        let isCurrent = step == model.step
        let label = isCurrent ? "[\(formatStep(step))]" : formatStep(step)
        labels.append((label, x + (thumb.cols - displayWidth(label)) / 2, isCurrent))
    }
    // Step labels in the bottom edge; the current one last, so it wins overlaps.
    for (label, x, isCurrent) in labels.sorted(by: { !$0.2 && $1.2 }) {
        screen.put(label, row: r.row + r.rows - 1, col: max(x, r.col + 1),
                   style: isCurrent ? Theme.selected : Theme.border)
    }
}

func drawReadouts(_ model: BrowserViewModel, _ r: Rect, on screen: Screen) {
    drawBox(r, title: "readouts · \(model.mode.title)", on: screen)
    let inner = r.inner
    let ro = model.readouts
    func field(_ label: String, _ value: String) -> String { padded(label, width: 11) + padded(value, width: 8) }
    var prior = field("log p(z)", formatReadout(ro.priorLogDensity, decimals: 1))
        + "Δ " + formatReadout(ro.priorDrift, decimals: 2, sign: true)
    if let outside = ro.outsideCount { prior += "  out \(outside)" }
    let learned = ro.learnedLogDensity == nil && ro.learnedDrift == nil
        ? field("learned", "—") + "(no F in checkpoint)"
        : field("learned", formatReadout(ro.learnedLogDensity, decimals: 1))
            + "Δ " + formatReadout(ro.learnedDrift, decimals: 2, sign: true)
    let psnr = ro.psnr.map { " · " + formatFixed($0, decimals: 1) + " dB" } ?? ""
    let change = field("feature Δ", formatReadout(ro.featureChange, decimals: 3))
        + "image Δ " + formatReadout(ro.imageChange, decimals: 3) + psnr
    let path = field("path len", formatReadout(ro.pathLength, decimals: 2)) + "‖z‖ " + formatReadout(ro.norm, decimals: 2)
    let offset = Double(model.step) * Double(model.stride)
    let walk = field("stride", formatFixed(Double(model.stride), decimals: 2))
        + "step \(formatStep(model.step)) → \(formatFixed(offset, decimals: 2, sign: true))"
    // The sparkline's scale, so its bars can be read as numbers; 0.01 nats
    // of spread at least, below which drift is float rounding.
    let finiteDrift = model.drift.suffix(max(inner.cols - 11, 0)).filter(\.isFinite)
    let range = finiteDrift.isEmpty ? "" : "  " + formatFixed(finiteDrift.min() ?? 0, decimals: 2, sign: true)
        + "…" + formatFixed(finiteDrift.max() ?? 0, decimals: 2, sign: true)
    let bars = max(inner.cols - 11 - displayWidth(range), 0)
    let drift = padded("drift", width: 11) + sparkline(model.drift, width: bars, minimumSpan: 0.01)
        + (bars > 0 ? range : "")
    for (i, line) in [prior, learned, change, path, walk, drift].enumerated() where i < inner.rows {
        screen.put(truncate(line, width: inner.cols), row: inner.row + i, col: inner.col, style: .plain)
    }
}

func drawMessage(_ model: BrowserViewModel, _ r: Rect, on screen: Screen) {
    if let prompt = model.prompt {
        var x = screen.putReturning(" \(prompt.label): ", row: r.row, col: r.col, style: Theme.title)
        x = screen.putReturning(prompt.text, row: r.row, col: x, style: .plain)
        x = screen.putReturning(" ", row: r.row, col: x, style: Style(reverse: true))
        screen.put("  Enter saves · Esc cancels", row: r.row, col: x, style: Theme.dim)
    } else if !model.status.isEmpty {
        screen.put(truncate(" " + model.status, width: r.cols), row: r.row, col: r.col, style: Theme.message)
    }
}

/// The status line's key hints: as many as fit, always ending with help
/// and quit.
func drawKeyHints(_ r: Rect, on screen: Screen) {
    let hints: [(String, String)] = [("←/→", "step"), ("↑/↓", "direction"), ("+/−", "stride"), ("m", "mode"),
                                     ("d", "method"), ("r", "new z0"), ("space", "play"), ("e", "export"),
                                     ("c", "compare"), ("u", "undo")]
    let tail: [(String, String)] = [("?", "help"), ("q", "quit")]
    func width(_ h: (String, String)) -> Int { displayWidth(h.0) + 1 + displayWidth(h.1) + 2 }
    var budget = r.cols - 1 - tail.reduce(0) { $0 + width($1) }
    var shown: [(String, String)] = []
    for h in hints {
        guard width(h) <= budget else { break } // keep the priority order
        shown.append(h)
        budget -= width(h)
    }
    var x = r.col + 1
    for (key, text) in shown + tail {
        x = screen.putReturning(key, row: r.row, col: x, style: Theme.key)
        x = screen.putReturning(" " + text + "  ", row: r.row, col: x, style: .plain)
    }
}

/// The help box, centred over everything; two columns when one is too tall.
func drawHelp(_ rows: [(keys: String, help: String)], size: TerminalSize, on screen: Screen) {
    let keyWidth = rows.map { displayWidth($0.keys) }.max() ?? 0
    let entries = rows.map { padded($0.keys, width: keyWidth) + "  " + $0.help }
    let entryWidth = entries.map(displayWidth).max() ?? 0
    let columns = entries.count + 4 <= size.rows - 2 ? 1 : 2
    let perColumn = (entries.count + columns - 1) / columns
    let footer = "any key closes this help"
    let innerWidth = min(max(columns * entryWidth + (columns - 1) * 3, displayWidth(footer)) + 2, size.cols - 4)
    let box = Rect(row: max((size.rows - (perColumn + 4)) / 2, 0), col: max((size.cols - innerWidth - 2) / 2, 0),
                   rows: min(perColumn + 4, size.rows), cols: innerWidth + 2)
    let blank = String(repeating: " ", count: box.inner.cols)
    for y in box.inner.row..<(box.inner.row + box.inner.rows) { screen.put(blank, row: y, col: box.inner.col) }
    drawBox(box, title: "keys", on: screen)
    for (i, entry) in entries.enumerated() {
        let column = i / perColumn, line = i % perColumn
        let x = box.inner.col + 1 + column * (entryWidth + 3)
        screen.put(truncate(entry, width: box.inner.col + box.inner.cols - x), row: box.inner.row + line, col: x)
    }
    screen.put(truncate(footer, width: box.inner.cols - 1), row: box.inner.row + box.inner.rows - 1,
               col: box.inner.col + 1, style: Theme.dim)
}

extension Screen {
    /// `put`, returning the column after the text (for runs of styles).
    func putReturning(_ text: String, row: Int, col: Int, style: Style) -> Int {
        put(text, row: row, col: col, style: style)
        return col + displayWidth(text)
    }
}
