#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Training curves and evaluation charts rendered straight to `RGBImage`, so a
// run can write `losses.png` or `fid.png` next to its checkpoints without
// Python or a plotting library. Text uses the built-in `BitmapFont`, which
// keeps the output byte-identical on every machine.

// MARK: - Colours

/// An 8-bit sRGB colour for plots and text.
public struct RGBColor: Hashable, Sendable {
    public var r: UInt8
    public var g: UInt8
    public var b: UInt8

    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) {
        (self.r, self.g, self.b) = (r, g, b)
    }

    /// From `0xRRGGBB`, the form colours are usually published in.
    public init(hex: UInt32) {
        self.init(UInt8(truncatingIfNeeded: hex >> 16), UInt8(truncatingIfNeeded: hex >> 8), UInt8(truncatingIfNeeded: hex))
    }

    public static let black = RGBColor(0, 0, 0)
    public static let white = RGBColor(255, 255, 255)

    /// The Okabe–Ito colours, which stay distinct under the common colour
    /// vision deficiencies. Ordered for a white background: the strongest
    /// first, black late (it reads as an axis) and yellow last (it nearly
    /// vanishes on white). Series without a colour take entry `i % count`.
    public static let palette: [RGBColor] = [
        RGBColor(hex: 0x0072B2), // blue
        RGBColor(hex: 0xD55E00), // vermillion
        RGBColor(hex: 0x009E73), // bluish green
        RGBColor(hex: 0xCC79A7), // reddish purple
        RGBColor(hex: 0xE69F00), // orange
        RGBColor(hex: 0x56B4E9), // sky blue
        RGBColor(hex: 0x000000), // black
        RGBColor(hex: 0xF0E442), // yellow
    ]

    /// This colour moved `amount` (0…1) of the way towards `other`; used to
    /// draw raw curves faintly behind their smoothed versions.
    public func mixed(with other: RGBColor, amount: Double) -> RGBColor {
        let t = min(max(amount, 0), 1)
        func mix(_ a: UInt8, _ b: UInt8) -> UInt8 { UInt8((Double(a) + (Double(b) - Double(a)) * t).rounded()) }
        return RGBColor(mix(r, other.r), mix(g, other.g), mix(b, other.b))
    }

    var tuple: (UInt8, UInt8, UInt8) { (r, g, b) }
}

// MARK: - Series

/// One curve of a line plot. Points need not be sorted by x (they are sorted
/// before drawing); NaN or infinite values, and values ≤ 0 on a log axis,
/// break the line instead of being joined over, so a diverged stretch of a
/// training run shows as a gap rather than as invented data.
public struct LineSeries: Sendable {
    public var name: String
    public var xs: [Double]
    public var ys: [Double]
    /// nil takes `RGBColor.palette` by the series' position in the plot.
    public var color: RGBColor?

    public init(name: String, xs: [Double], ys: [Double], color: RGBColor? = nil) {
        precondition(xs.count == ys.count, "series \(name): \(xs.count) x values but \(ys.count) y values")
        (self.name, self.xs, self.ys, self.color) = (name, xs, ys, color)
    }

    /// x = 0, 1, 2, …: one value per step.
    public init(name: String, ys: [Double], color: RGBColor? = nil) {
        self.init(name: name, xs: ys.indices.map(Double.init), ys: ys, color: color)
    }

    public init(name: String, points: [(x: Double, y: Double)], color: RGBColor? = nil) {
        self.init(name: name, xs: points.map(\.x), ys: points.map(\.y), color: color)
    }
}

/// One bar per group in a grouped bar chart; `values[i]` belongs to group i.
public struct BarSeries: Sendable {
    public var name: String
    public var values: [Double]
    /// nil takes `RGBColor.palette` by the series' position in the chart.
    public var color: RGBColor?

    public init(name: String, values: [Double], color: RGBColor? = nil) {
        (self.name, self.values, self.color) = (name, values, color)
    }
}

// MARK: - Line plots

/// Renders line series on a white background with framed axes, gridlines,
/// 1/2/5×10^k ticks with numeric labels, a title and a legend.
///
/// - `logY` plots log10(y); values ≤ 0 are left out like NaN.
/// - `panels` stacks one panel per series, each with its own y scale and
///   all sharing the x axis: training losses differ by orders of magnitude
///   (critic loss, generator loss, gradient penalty, k_t) and one shared y
///   axis would flatten all but the largest.
/// - `smoothing` > 1 is a centred moving-average window in points: the raw
///   curve is drawn faintly and the average strongly, as noisy per-step
///   losses are read by their trend.
///
/// Each curve is reduced to at most four points per pixel column (first,
/// min, max, last), which draws the same pixels as every segment would, so
/// 100k-step runs plot in milliseconds.
public func linePlot(_ series: [LineSeries], title: String, xLabel: String, yLabel: String = "",
                     width: Int = 800, height: Int = 480, logY: Bool = false, panels: Bool = false,
                     smoothing: Int = 0) -> RGBImage {
    precondition(width > 0 && height > 0, "plot size \(width)×\(height)")
    precondition(smoothing >= 0, "negative smoothing window \(smoothing)")
    var image = RGBImage(width: width, height: height, fill: PlotStyle.background.tuple)
    let curves = series.enumerated().map { index, s in
        PreparedCurve(s, color: s.color ?? RGBColor.palette[index % RGBColor.palette.count],
                      logY: logY, smoothing: smoothing)
    }

    // One x range for everything, so panels line up.
    var xLo = Double.infinity, xHi = -Double.infinity
    for curve in curves {
        if let range = curve.xRange { xLo = min(xLo, range.lo); xHi = max(xHi, range.hi) }
    }
    if xLo > xHi { (xLo, xHi) = (0, 1) } else if xLo == xHi { (xLo, xHi) = widenedConstant(xLo, log: false) }

    // Vertical layout: title, legend, panels, x tick labels, x label.
    let margin = PlotStyle.margin
    var top = drawTitle(title, on: &image, top: margin)
    if !panels {
        top = drawLegend(curves.map { LegendEntry(name: $0.name, color: $0.color, kind: .line) }, on: &image, top: top)
    }
    var bottom = height - margin
    if !xLabel.isEmpty { bottom -= BitmapFont.glyphHeight + 4 }
    bottom -= PlotStyle.tickLength + 3 + BitmapFont.glyphHeight
    let panelCount = panels ? max(curves.count, 1) : 1
    let strip = panels ? BitmapFont.lineHeight + 2 : 0 // a panel's name above it
    let gap = panels ? 8 : 0
    let panelHeight = max(8, (bottom - top - panelCount * strip - (panelCount - 1) * gap) / panelCount)

    let members: (Int) -> ArraySlice<PreparedCurve> = { panel in
        panels ? curves[min(panel, curves.count)..<min(panel + 1, curves.count)] : curves[...]
    }
    let maxYTicks = max(2, panelHeight / 30)
    let yAxes: [Axis] = (0..<panelCount).map { panel in
        var lo = Double.infinity, hi = -Double.infinity
        for curve in members(panel) {
            if let range = curve.yRange { lo = min(lo, range.lo); hi = max(hi, range.hi) }
        }
        if lo > hi { (lo, hi) = (0, 1) } // nothing drawable: an empty unit axis
        let padded = paddedRange(lo, hi, log: logY)
        return logY ? Axis.logarithmic(lo: padded.lo, hi: padded.hi, maxCount: maxYTicks)
                    : Axis.linear(lo: padded.lo, hi: padded.hi, maxCount: maxYTicks)
    }

    // Horizontal layout: y label, y tick labels, plot, a little room on the
    // right for the last x tick label.
    let yTickLabelWidth = yAxes.flatMap(\.ticks).map { BitmapFont.size(of: $0.label).width }.max() ?? 0
    var left = margin + yTickLabelWidth + 3 + PlotStyle.tickLength
    if !yLabel.isEmpty { left += BitmapFont.glyphHeight + 6 }
    let plotWidth = max(8, width - margin - 14 - left)
    let xAxis = Axis.fitted(lo: xLo, hi: xHi, pixels: plotWidth)

    var rects: [PixelRect] = []
    for panel in 0..<panelCount {
        let y = top + panel * (strip + panelHeight + gap) + strip
        let rect = PixelRect(x: left, y: y, width: plotWidth, height: panelHeight)
        rects.append(rect)
        if panels, panel < curves.count {
            let entry = LegendEntry(name: curves[panel].name, color: curves[panel].color, kind: .line)
            entry.draw(at: left, y: y - strip, on: &image)
        }
        drawAxes(rect, x: xAxis, y: yAxes[panel], xTickLabels: panel == panelCount - 1, on: &image)
    }

    // Faint raw curves first, so they never cover another series' strong line.
    for panel in 0..<panelCount {
        for curve in members(panel) where curve.smoothed != nil {
            curve.draw(curve.ys, in: rects[panel], x: xAxis, y: yAxes[panel],
                       color: curve.color.mixed(with: .white, amount: 0.65), thickness: 1, on: &image)
        }
    }
    for panel in 0..<panelCount {
        for curve in members(panel) {
            curve.draw(curve.smoothed ?? curve.ys, in: rects[panel], x: xAxis, y: yAxes[panel],
                       color: curve.color, thickness: 2, on: &image)
        }
    }

    if !xLabel.isEmpty {
        let size = BitmapFont.size(of: xLabel)
        drawText(xLabel, x: left + (plotWidth - size.width) / 2, y: height - margin - size.height,
                 color: PlotStyle.text, on: &image)
    }
    if !yLabel.isEmpty, let first = rects.first, let last = rects.last {
        let length = BitmapFont.size(of: yLabel).width
        drawTextUpward(yLabel, x: margin, y: (first.y + last.maxY + length) / 2, color: PlotStyle.text, on: &image)
    }
    return image
}

/// A series made ready to draw: sorted by x, y in plotted coordinates
/// (log10 on log axes, NaN where nothing is drawn), optionally smoothed.
struct PreparedCurve {
    let name: String
    let color: RGBColor
    let xs: [Double]
    let ys: [Double]
    let smoothed: [Double]?
    let xRange: (lo: Double, hi: Double)?
    let yRange: (lo: Double, hi: Double)?

    init(_ series: LineSeries, color: RGBColor, logY: Bool, smoothing: Int) {
        (name, self.color) = (series.name, color)
        var xs = series.xs, raw = series.ys
        var previous = -Double.infinity, sorted = true
        for x in xs where !x.isNaN {
            if x < previous { sorted = false; break }
            previous = x
        }
        if !sorted {
            // NaN x sort last (and are dropped as gaps below) instead of breaking the order.
            let order = xs.indices.sorted { a, b in
                xs[a].isNaN ? false : (xs[b].isNaN ? true : xs[a] < xs[b])
            }
            xs = order.map { xs[$0] }
            raw = order.map { raw[$0] }
        }
        for i in xs.indices where !xs[i].isFinite { raw[i] = .nan }
        func plotted(_ v: Double) -> Double {
            guard v.isFinite else { return .nan }
            if logY { return v > 0 ? log10(v) : .nan }
            return v
        }
        let ys = raw.map(plotted)
        (self.xs, self.ys) = (xs, ys)
        smoothed = smoothing > 1 ? movingAverage(raw, window: smoothing).map(plotted) : nil

        var xLo = Double.infinity, xHi = -Double.infinity, yLo = Double.infinity, yHi = -Double.infinity
        for i in ys.indices where !ys[i].isNaN {
            xLo = min(xLo, xs[i]); xHi = max(xHi, xs[i])
            yLo = min(yLo, ys[i]); yHi = max(yHi, ys[i])
        }
        xRange = xLo <= xHi ? (xLo, xHi) : nil
        yRange = yLo <= yHi ? (yLo, yHi) : nil
    }

    /// Draws `values` (plotted coordinates, aligned with `xs`) inside `rect`.
    func draw(_ values: [Double], in rect: PixelRect, x: Axis, y: Axis, color: RGBColor, thickness: Int,
              on image: inout RGBImage) {
        let inner = rect.inset(by: 1)
        let xMap = x.affine(from: Double(inner.x), to: Double(inner.maxX - 1))
        let yMap = y.affine(from: Double(inner.maxY - 1), to: Double(inner.y))
        for line in pixelPolylines(xs: xs, ys: values, xMap: xMap, yMap: yMap) {
            if line.count == 1 {
                image.drawLine(line[0], line[0], color: color, thickness: thickness, clip: inner)
            }
            for i in line.indices.dropFirst() {
                image.drawLine(line[i - 1], line[i], color: color, thickness: thickness, clip: inner)
            }
        }
    }
}

/// The nearest pixel to a mapped coordinate, kept within ±10⁶ so that
/// Int conversion cannot trap on extreme data (everything that far out is
/// clipped anyway); NaN, which only absurd ranges produce, goes off-image.
func pixelCoordinate(_ v: Double) -> Int {
    v.isNaN ? -1_000_000 : Int(min(max(v, -1e6), 1e6).rounded())
}

/// A pixel position.
struct PixelPoint: Equatable {
    var x: Int
    var y: Int
}

/// The pixel polylines that draw `ys` against `xs` (sorted by x) under the
/// affine maps `pixel = a·v + b`. Non-finite y end a polyline. Within one
/// pixel column only the first, lowest, highest and last points are kept (the
/// extremes in the order they occur): the segments between the dropped
/// points all lie inside that column's vertical span, so the drawing is the
/// same while the work is bounded by the image width, not the point count.
func pixelPolylines(xs: [Double], ys: [Double], xMap: (a: Double, b: Double),
                    yMap: (a: Double, b: Double)) -> [[PixelPoint]] {
    var lines: [[PixelPoint]] = []
    var line: [PixelPoint] = []
    var column = Int.min
    var first = 0, last = 0, low = 0, high = 0, lowIndex = 0, highIndex = 0

    func append(_ y: Int) {
        let point = PixelPoint(x: column, y: y)
        if line.last != point { line.append(point) }
    }
    func endColumn() {
        guard column != Int.min else { return }
        append(first)
        if lowIndex <= highIndex { append(low); append(high) } else { append(high); append(low) }
        append(last)
        column = Int.min
    }
    func endLine() {
        endColumn()
        if !line.isEmpty { lines.append(line); line = [] }
    }

    for i in ys.indices {
        let (fx, fy) = (xMap.a * xs[i] + xMap.b, yMap.a * ys[i] + yMap.b)
        guard fx.isFinite, fy.isFinite else { endLine(); continue }
        let (px, py) = (pixelCoordinate(fx), pixelCoordinate(fy))
        if px != column {
            endColumn()
            column = px
            (first, last, low, high, lowIndex, highIndex) = (py, py, py, py, i, i)
        } else {
            last = py
            if py < low { low = py; lowIndex = i }
            if py > high { high = py; highIndex = i }
        }
    }
    endLine()
    return lines
}

/// Centred moving average over `window` points (partial windows at the
/// ends, so the curve keeps its length). Non-finite values are left out of
/// the averages and stay gaps in the result. Prefix sums make it O(n).
func movingAverage(_ values: [Double], window: Int) -> [Double] {
    let n = values.count
    guard window > 1, n > 0 else { return values }
    var sums = [Double](repeating: 0, count: n + 1)
    var counts = [Int](repeating: 0, count: n + 1)
    for i in 0..<n {
        let finite = values[i].isFinite
        sums[i + 1] = sums[i] + (finite ? values[i] : 0)
        counts[i + 1] = counts[i] + (finite ? 1 : 0)
    }
    let before = (window - 1) / 2
    return (0..<n).map { i in
        guard values[i].isFinite else { return .nan }
        let start = max(0, i - before), end = min(n, i - before + window)
        return (sums[end] - sums[start]) / Double(counts[end] - counts[start])
    }
}

// MARK: - Bar charts

/// Renders grouped vertical bars: one group per entry of `groups` (its
/// label under the axis, wrapped onto up to three lines), one bar per series
/// in each group with its value printed above it (turned upright when the
/// bars are too narrow for the text), and a legend. Meant for comparing runs,
/// e.g. the FID of each ablation setting for "ours" against "paper".
///
/// `referenceValues` (one per group, nil for none) draws a dashed marker
/// across the group, named `referenceName` in the legend: a published number
/// to compare all the bars of a group against. Bars start at 0; negative
/// values hang below it. NaN values draw no bar and the label "n/a".
public func barChart(groups: [String], series: [BarSeries], title: String, yLabel: String,
                     width: Int = 800, height: Int = 480, referenceValues: [Double?]? = nil,
                     referenceName: String = "reference") -> RGBImage {
    precondition(width > 0 && height > 0, "chart size \(width)×\(height)")
    precondition(!groups.isEmpty, "bar chart without groups")
    for s in series {
        precondition(s.values.count == groups.count, "series \(s.name): \(s.values.count) values for \(groups.count) groups")
    }
    if let referenceValues {
        precondition(referenceValues.count == groups.count,
                     "\(referenceValues.count) reference values for \(groups.count) groups")
    }
    var image = RGBImage(width: width, height: height, fill: PlotStyle.background.tuple)
    let colors = series.indices.map { series[$0].color ?? RGBColor.palette[$0 % RGBColor.palette.count] }
    let margin = PlotStyle.margin

    var top = drawTitle(title, on: &image, top: margin)
    var entries = series.indices.map { LegendEntry(name: series[$0].name, color: colors[$0], kind: .box) }
    if referenceValues != nil { entries.append(LegendEntry(name: referenceName, color: PlotStyle.text, kind: .dashed)) }
    top = drawLegend(entries, on: &image, top: top)

    let labels = series.map { $0.values.map(formatValue) }
    let maxLabelWidth = labels.joined().map { BitmapFont.size(of: $0).width }.max() ?? 0
    let finite = series.flatMap(\.values).filter(\.isFinite) + (referenceValues ?? []).compactMap { $0 }.filter(\.isFinite)
    let dataLo = min(0, finite.min() ?? 0), dataHi = max(0, finite.max() ?? 0)

    // The layout is circular (bar width → label orientation → headroom → y
    // range → tick label width → plot width → bar width); two passes settle it.
    var left = margin + (yLabel.isEmpty ? 0 : BitmapFont.glyphHeight + 6) + 30
    var rect = PixelRect(x: 0, y: 0, width: 0, height: 0)
    var axis = Axis.linear(lo: 0, hi: 1, maxCount: 1)
    var (slot, barWidth, upright) = (0.0, 1, true)
    var groupLines: [[String]] = []
    for _ in 0..<2 {
        let plotWidth = max(8, width - margin - 4 - left)
        slot = Double(plotWidth - 2) / Double(groups.count)
        barWidth = max(1, Int(slot * 0.8) / max(series.count, 1))
        upright = maxLabelWidth <= barWidth + 2
        groupLines = groups.map { wrapText($0, maxWidth: max(Int(slot) - 4, BitmapFont.advance), maxLines: 3) }
        let lineCount = groupLines.map(\.count).max() ?? 0
        let plotBottom = height - margin - lineCount * BitmapFont.lineHeight - PlotStyle.tickLength - 2
        rect = PixelRect(x: left, y: top + 4, width: plotWidth, height: max(8, plotBottom - top - 4))

        // Room for value labels beyond the longest bars, converted to data units.
        let labelExtent = upright ? BitmapFont.glyphHeight + 4 : maxLabelWidth + 5
        let headroom = Double(dataHi > 0 ? labelExtent : 0), footroom = Double(dataLo < 0 ? labelExtent : 0)
        let pixels = Double(rect.height - 2)
        let usable = max(pixels - headroom - footroom, pixels / 3)
        let span = dataHi > dataLo ? dataHi - dataLo : 1
        let total = span * pixels / usable
        let hi = (dataHi > dataLo ? dataHi : 1) + headroom / pixels * total
        let lo = dataLo - footroom / pixels * total
        axis = Axis.linear(lo: lo, hi: hi, maxCount: max(1, rect.height / 32))
        let tickWidth = axis.ticks.map { BitmapFont.size(of: $0.label).width }.max() ?? 0
        left = margin + (yLabel.isEmpty ? 0 : BitmapFont.glyphHeight + 6) + tickWidth + 3 + PlotStyle.tickLength
    }

    drawAxes(rect, x: nil, y: axis, xTickLabels: false, on: &image)
    // Bars sit on the bottom frame row (value `lo`, 0 unless some are negative).
    let yMap = axis.affine(from: Double(rect.maxY - 1), to: Double(rect.y))
    let zeroY = pixelCoordinate(yMap.b)
    if dataLo < 0 { image.fillRect(x: rect.x, y: zeroY, width: rect.width, height: 1, color: PlotStyle.axis) }
    let visibleWidth = barWidth >= 6 ? barWidth - 1 : barWidth // a hairline between touching bars
    let inner = rect.inset(by: 1)

    func groupCenter(_ group: Int) -> Double { Double(rect.x + 1) + (Double(group) + 0.5) * slot }
    func barX(_ group: Int, _ s: Int) -> Int {
        pixelCoordinate(groupCenter(group) - Double(barWidth * series.count) / 2) + s * barWidth
    }
    func valueY(_ value: Double) -> Int { pixelCoordinate(yMap.a * value + yMap.b) }

    for group in groups.indices {
        for s in series.indices where series[s].values[group].isFinite {
            let (x, y) = (barX(group, s), valueY(series[s].values[group]))
            let (top, bottom) = y <= zeroY ? (y, zeroY) : (zeroY + 1, y + 1)
            image.fillRect(x: x, y: top, width: visibleWidth, height: bottom - top, color: colors[s], clip: inner)
        }
        if let reference = referenceValues?[group], reference.isFinite {
            image.drawDashedLine(x: barX(group, 0) - 4, y: valueY(reference), length: barWidth * series.count + 8,
                                 color: PlotStyle.text, clip: inner)
        }
        for (line, text) in groupLines[group].enumerated() {
            let w = BitmapFont.size(of: text).width
            drawText(text, x: pixelCoordinate(groupCenter(group)) - w / 2,
                     y: rect.maxY + PlotStyle.tickLength + line * BitmapFont.lineHeight,
                     color: PlotStyle.text, on: &image)
        }
    }
    // Value labels last, each on a background patch limited to its own bar's
    // columns, so reference dashes and gridlines never run through the digits.
    for group in groups.indices {
        for s in series.indices {
            let x = barX(group, s), value = series[s].values[group], label = labels[s][group]
            let labelWidth = BitmapFont.size(of: label).width
            let barCenter = x + visibleWidth / 2
            let y = value.isFinite ? valueY(value) : zeroY
            let column = PixelRect(x: x, y: inner.y, width: visibleWidth, height: inner.height)
            if upright || !value.isFinite {
                let textY = value < 0 ? y + 4 : y - 3 - 7
                image.fillRect(x: barCenter - labelWidth / 2 - 1, y: textY - 1, width: labelWidth + 2, height: 9,
                               color: PlotStyle.background, clip: column)
                drawText(label, x: barCenter - labelWidth / 2, y: textY, color: PlotStyle.text, on: &image)
            } else {
                let baseY = value < 0 ? y + 4 + labelWidth : y - 3
                image.fillRect(x: barCenter - 4, y: baseY - labelWidth - 1, width: 9, height: labelWidth + 2,
                               color: PlotStyle.background, clip: column)
                drawTextUpward(label, x: barCenter - 3, y: baseY, color: PlotStyle.text, on: &image)
            }
        }
    }
    if !yLabel.isEmpty {
        let length = BitmapFont.size(of: yLabel).width
        drawTextUpward(yLabel, x: margin, y: rect.y + (rect.height + length) / 2, color: PlotStyle.text, on: &image)
    }
    return image
}

/// Greedy word wrap to lines at most `maxWidth` pixels wide (a word longer
/// than that gets a line of its own and is clipped when drawn). Text beyond
/// `maxLines` is cut and the last line ends in "..".
func wrapText(_ text: String, maxWidth: Int, maxLines: Int) -> [String] {
    let maxChars = max(1, (maxWidth + 1) / BitmapFont.advance)
    var lines: [String] = []
    var current = ""
    for word in text.split(separator: " ") {
        if current.isEmpty { current = String(word) }
        else if current.count + 1 + word.count <= maxChars { current += " " + word }
        else { lines.append(current); current = String(word) }
    }
    if !current.isEmpty { lines.append(current) }
    if lines.count > maxLines {
        lines = Array(lines.prefix(maxLines))
        lines[maxLines - 1] = String(lines[maxLines - 1].prefix(max(0, maxChars - 2))) + ".."
    }
    return lines
}

// MARK: - Axes, ticks and number labels

/// Colours and sizes shared by the charts.
enum PlotStyle {
    static let background = RGBColor.white
    static let text = RGBColor(34, 34, 34)
    static let axis = RGBColor(90, 90, 90)
    static let grid = RGBColor(230, 230, 230)
    static let margin = 10
    static let tickLength = 4
}

/// One axis: its range in plotted coordinates (log10 of the values on log
/// axes) and its labelled ticks.
struct Axis {
    var lo: Double
    var hi: Double
    var ticks: [(at: Double, label: String)]

    /// Linear ticks on [lo, hi] at a 1/2/5×10^k step giving at most `maxCount` intervals.
    static func linear(lo: Double, hi: Double, maxCount: Int) -> Axis {
        let step = Ticks.step(span: hi - lo, maxCount: maxCount)
        let magnitude = max(abs(lo), abs(hi))
        let ticks = Ticks.values(from: lo, to: hi, step: step).map { ($0, Ticks.label($0, step: step, magnitude: magnitude)) }
        return Axis(lo: lo, hi: hi, ticks: ticks)
    }

    /// Log ticks on [lo, hi] (log10 units): whole decades, every k-th one if
    /// there are too many; within less than two decades 1, 2, 5 × 10^k; within
    /// a narrow range plain linear ticks of the values.
    static func logarithmic(lo: Double, hi: Double, maxCount: Int) -> Axis {
        let first = Int(ceil(lo - 1e-9)), last = Int(floor(hi + 1e-9))
        var values: [Double] = []
        if last - first + 1 >= 2 {
            let stride = max(1, Int((Double(last - first) / Double(max(maxCount, 1))).rounded(.up)))
            values = Swift.stride(from: first, through: last, by: stride).map { pow(10, Double($0)) }
        } else {
            for k in (first - 1)...(last + 1) {
                for m in [1.0, 2, 5] {
                    let v = m * pow(10, Double(k)), at = log10(v)
                    if at >= lo - 1e-9 && at <= hi + 1e-9 { values.append(v) }
                }
            }
        }
        if values.count >= 2 && values.count <= maxCount + 1 {
            return Axis(lo: lo, hi: hi, ticks: values.map { (log10($0), Ticks.logLabel($0)) })
        }
        let a = pow(10, lo), b = pow(10, hi)
        let step = Ticks.step(span: b - a, maxCount: maxCount)
        let ticks = Ticks.values(from: a, to: b, step: step).filter { $0 > 0 }
            .map { (log10($0), Ticks.label($0, step: step, magnitude: b)) }
        return Axis(lo: lo, hi: hi, ticks: ticks)
    }

    /// A linear axis over `pixels` with as many ticks as fit without their
    /// labels touching (about one per 70 pixels at most).
    static func fitted(lo: Double, hi: Double, pixels: Int) -> Axis {
        var count = max(1, pixels / 70)
        while true {
            let axis = linear(lo: lo, hi: hi, maxCount: count)
            let widest = axis.ticks.map { BitmapFont.size(of: $0.label).width }.max() ?? 0
            let spacing = axis.ticks.count > 1 ? (axis.ticks[1].at - axis.ticks[0].at) / (hi - lo) * Double(pixels) : .infinity
            if spacing >= Double(widest + 10) || count == 1 { return axis }
            count -= 1
        }
    }

    /// The map `pixel = a·v + b` taking `lo` to `p0` and `hi` to `p1`.
    func affine(from p0: Double, to p1: Double) -> (a: Double, b: Double) {
        let a = (p1 - p0) / (hi - lo)
        return (a, p0 - a * lo)
    }
}

/// A range around a single value: ±10 % of it (±1 for zero, ±½ decade on a
/// log axis), so constant series get a centred line instead of a division by zero.
func widenedConstant(_ v: Double, log: Bool) -> (lo: Double, hi: Double) {
    let pad = log ? 0.5 : (v == 0 ? 1 : abs(v) * 0.1)
    let (lo, hi) = (v - pad, v + pad)
    return (lo.isFinite ? lo : -.greatestFiniteMagnitude, hi.isFinite ? hi : .greatestFiniteMagnitude)
}

/// The data range plus 5 % each side, so extremes do not sit on the frame.
func paddedRange(_ lo: Double, _ hi: Double, log: Bool) -> (lo: Double, hi: Double) {
    if hi - lo <= max(abs(lo), abs(hi)) * 1e-12 { return widenedConstant(lo / 2 + hi / 2, log: log) }
    guard (hi - lo).isFinite else { return (lo, hi) } // ±1e308 data: no room to pad
    let pad = (hi - lo) * 0.05
    return (lo - pad, hi + pad)
}

/// Draws the frame, gridlines, ticks and tick labels of one plot area. `x`
/// nil leaves out the vertical grid and x ticks (bar charts label groups instead).
func drawAxes(_ rect: PixelRect, x xAxis: Axis?, y yAxis: Axis, xTickLabels: Bool, on image: inout RGBImage) {
    let yMap = yAxis.affine(from: Double(rect.maxY - 2), to: Double(rect.y + 1))
    let yTicks = yAxis.ticks.map { (pixelCoordinate(yMap.a * $0.at + yMap.b), $0.label) }
    for (y, _) in yTicks { image.fillRect(x: rect.x + 1, y: y, width: rect.width - 2, height: 1, color: PlotStyle.grid) }
    var xTicks: [(Int, String)] = []
    if let xAxis {
        let xMap = xAxis.affine(from: Double(rect.x + 1), to: Double(rect.maxX - 2))
        xTicks = xAxis.ticks.map { (pixelCoordinate(xMap.a * $0.at + xMap.b), $0.label) }
        for (x, _) in xTicks { image.fillRect(x: x, y: rect.y + 1, width: 1, height: rect.height - 2, color: PlotStyle.grid) }
    }
    image.strokeRect(rect, color: PlotStyle.axis)
    for (y, label) in yTicks {
        image.fillRect(x: rect.x - PlotStyle.tickLength, y: y, width: PlotStyle.tickLength, height: 1, color: PlotStyle.axis)
        let w = BitmapFont.size(of: label).width
        drawText(label, x: rect.x - PlotStyle.tickLength - 3 - w, y: y - 3, color: PlotStyle.text, on: &image)
    }
    for (x, label) in xTicks {
        image.fillRect(x: x, y: rect.maxY, width: 1, height: PlotStyle.tickLength, color: PlotStyle.axis)
        if xTickLabels {
            let w = BitmapFont.size(of: label).width
            drawText(label, x: x - w / 2, y: rect.maxY + PlotStyle.tickLength + 3, color: PlotStyle.text, on: &image)
        }
    }
}

/// Tick steps, positions and labels.
enum Ticks {
    /// The smallest step of 1, 2 or 5 × 10^k that divides `span` into at
    /// most `maxCount` intervals: round steps people can read off at a glance.
    static func step(span: Double, maxCount: Int) -> Double {
        guard span.isFinite, span > 0 else { return 1 }
        let raw = span / Double(max(maxCount, 1))
        let magnitude = pow(10, floor(log10(raw)))
        for m in [1.0, 2, 5] where m * magnitude >= raw * (1 - 1e-9) { return m * magnitude }
        return 10 * magnitude
    }

    /// The multiples of `step` in [lo, hi], computed as k·step (no drift),
    /// with −0 and rounding dust at zero snapped to 0.
    static func values(from lo: Double, to hi: Double, step: Double) -> [Double] {
        guard step > 0, lo.isFinite, hi.isFinite, hi >= lo else { return [] }
        let first = ceil(lo / step - 1e-9), last = floor(hi / step + 1e-9)
        guard last >= first, last - first <= 1000 else { return [] }
        return (0...Int(last - first)).map { i in
            let v = (first + Double(i)) * step
            return abs(v) < step * 1e-9 ? 0 : v
        }
    }

    /// A label for a tick at `v` on an axis with this step and largest
    /// absolute value: plain decimals with just enough digits for the step
    /// ("0.001", "2.5"), scientific ("1e-5", "1.5e6") for very small or very
    /// large axes where decimals would run long.
    static func label(_ v: Double, step: Double, magnitude: Double) -> String {
        if v == 0 { return "0" }
        let stepExponent = Int(floor(log10(step) + 1e-9))
        if magnitude >= 1e6 || magnitude < 1e-3 {
            let exponent = Int(floor(log10(abs(v)) + 1e-9))
            return NumberText.scientific(v, decimals: min(3, max(0, exponent - stepExponent)))
        }
        return NumberText.fixed(v, decimals: min(10, max(0, -stepExponent)))
    }

    /// A label for a log-axis tick (1, 2 or 5 × 10^k): decimals from 0.001 to
    /// 10000, "1e-5" style beyond.
    static func logLabel(_ v: Double) -> String {
        if v >= 1e-3 && v < 1e5 { return NumberText.fixed(v, decimals: max(0, -Int(floor(log10(v) + 1e-9)))) }
        return NumberText.scientific(v, decimals: 0)
    }
}

/// Three significant digits, trailing zeros dropped ("23.4", "0.0123",
/// "1234", "2.5e-5"): enough to compare FIDs without a wall of digits.
func formatValue(_ v: Double) -> String {
    guard v.isFinite else { return "n/a" }
    if v == 0 { return "0" }
    let a = abs(v)
    if a >= 1e6 || a < 1e-3 { return NumberText.scientific(v, decimals: 2) }
    let exponent = Int(floor(log10(a) + 1e-12))
    return NumberText.trimmed(NumberText.fixed(v, decimals: max(0, 2 - exponent)))
}

/// Locale-free number formatting (no Foundation, no printf).
enum NumberText {
    /// `v` rounded to `decimals` places, e.g. fixed(-0.05, 3) = "-0.050".
    static func fixed(_ v: Double, decimals: Int) -> String {
        let scaled = (abs(v) * pow(10, Double(decimals))).rounded()
        guard scaled < 9e15 else { return scientific(v, decimals: 3) }
        var digits = String(UInt64(scaled))
        if decimals > 0 {
            if digits.count <= decimals { digits = String(repeating: "0", count: decimals + 1 - digits.count) + digits }
            digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -decimals))
        }
        return (v < 0 && scaled != 0 ? "-" : "") + digits
    }

    /// Mantissa and power of ten: scientific(0.000025, 1) = "2.5e-5";
    /// trailing zeros of the mantissa are dropped ("1e6", not "1.0e6").
    static func scientific(_ v: Double, decimals: Int) -> String {
        guard v != 0, v.isFinite else { return v == 0 ? "0" : "\(v)" }
        var exponent = Int(floor(log10(abs(v)) + 1e-12))
        var mantissa = fixed(v / pow(10, Double(exponent)), decimals: decimals)
        if abs(Double(mantissa) ?? 0) >= 10 { // rounded up to 10: renormalise
            exponent += 1
            mantissa = fixed(v / pow(10, Double(exponent)), decimals: decimals)
        }
        return trimmed(mantissa) + "e\(exponent)"
    }

    /// Drops trailing zeros after a decimal point, and the point itself.
    static func trimmed(_ s: String) -> String {
        guard s.contains(".") else { return s }
        var s = Substring(s)
        while s.last == "0" { s = s.dropLast() }
        if s.last == "." { s = s.dropLast() }
        return String(s)
    }
}

// MARK: - Titles and legends

/// Draws `title` centred at `top` (twice the font size when it fits) and
/// returns the top of what follows.
func drawTitle(_ title: String, on image: inout RGBImage, top: Int) -> Int {
    guard !title.isEmpty else { return top }
    var scale = 2
    if BitmapFont.size(of: title, scale: scale).width > image.width - 2 * PlotStyle.margin { scale = 1 }
    let size = BitmapFont.size(of: title, scale: scale)
    drawText(title, x: (image.width - size.width) / 2, y: top, color: PlotStyle.text, scale: scale, on: &image)
    return top + size.height + 6
}

/// One legend item: a swatch in the series' style and its name.
struct LegendEntry {
    enum Kind { case line, box, dashed }
    var name: String
    var color: RGBColor
    var kind: Kind

    static let swatchWidth = 16
    var width: Int { LegendEntry.swatchWidth + 4 + BitmapFont.size(of: name).width }

    /// Draws the entry with its text's top-left corner at y.
    func draw(at x: Int, y: Int, on image: inout RGBImage) {
        let full = PixelRect(x: 0, y: 0, width: image.width, height: image.height)
        switch kind {
        case .line: image.fillRect(x: x, y: y + 2, width: LegendEntry.swatchWidth, height: 3, color: color)
        case .box: image.fillRect(x: x + 4, y: y - 1, width: 9, height: 9, color: color)
        case .dashed: image.drawDashedLine(x: x, y: y + 3, length: LegendEntry.swatchWidth, color: color, clip: full)
        }
        drawText(name, x: x + LegendEntry.swatchWidth + 4, y: y, color: PlotStyle.text, on: &image)
    }
}

/// Lays named entries out in centred rows below `top` and returns the top of
/// what follows. Above the plot rather than inside it, so it never hides data.
func drawLegend(_ entries: [LegendEntry], on image: inout RGBImage, top: Int) -> Int {
    let shown = entries.filter { !$0.name.isEmpty }
    guard !shown.isEmpty else { return top }
    let spacing = 16, available = image.width - 2 * PlotStyle.margin
    var rows: [[LegendEntry]] = [[]]
    var rowWidth = 0
    for entry in shown {
        let needed = rows[rows.count - 1].isEmpty ? entry.width : rowWidth + spacing + entry.width
        if needed > available && !rows[rows.count - 1].isEmpty {
            rows.append([entry]); rowWidth = entry.width
        } else {
            rows[rows.count - 1].append(entry); rowWidth = needed
        }
    }
    var y = top
    for row in rows {
        let total = row.map(\.width).reduce(0, +) + spacing * (row.count - 1)
        var x = (image.width - total) / 2
        for entry in row {
            entry.draw(at: x, y: y, on: &image)
            x += entry.width + spacing
        }
        y += BitmapFont.lineHeight + 2
    }
    return y + 4
}

// MARK: - Raster primitives

/// A pixel rectangle: columns x ..< maxX, rows y ..< maxY.
struct PixelRect: Equatable {
    var x: Int
    var y: Int
    var width: Int
    var height: Int
    var maxX: Int { x + width }
    var maxY: Int { y + height }

    func inset(by d: Int) -> PixelRect {
        PixelRect(x: x + d, y: y + d, width: max(0, width - 2 * d), height: max(0, height - 2 * d))
    }
}

extension RGBImage {
    /// Fills a rectangle, clipped to `clip` (default: the image) and the image.
    mutating func fillRect(x: Int, y: Int, width w: Int, height h: Int, color: RGBColor, clip: PixelRect? = nil) {
        let bounds = clip ?? PixelRect(x: 0, y: 0, width: width, height: height)
        let x0 = max(x, bounds.x, 0), x1 = min(x + w, bounds.maxX, width)
        let y0 = max(y, bounds.y, 0), y1 = min(y + h, bounds.maxY, height)
        guard x0 < x1, y0 < y1 else { return }
        let stride = width
        pixels.withUnsafeMutableBufferPointer { p in
            for row in y0..<y1 {
                var i = (row * stride + x0) * 3
                for _ in x0..<x1 {
                    p[i] = color.r; p[i + 1] = color.g; p[i + 2] = color.b
                    i += 3
                }
            }
        }
    }

    /// A one-pixel outline just inside `rect`.
    mutating func strokeRect(_ rect: PixelRect, color: RGBColor) {
        fillRect(x: rect.x, y: rect.y, width: rect.width, height: 1, color: color)
        fillRect(x: rect.x, y: rect.maxY - 1, width: rect.width, height: 1, color: color)
        fillRect(x: rect.x, y: rect.y, width: 1, height: rect.height, color: color)
        fillRect(x: rect.maxX - 1, y: rect.y, width: 1, height: rect.height, color: color)
    }

    /// A Bresenham line whose every step stamps a `thickness`² square, clipped to `clip`.
    mutating func drawLine(_ from: PixelPoint, _ to: PixelPoint, color: RGBColor, thickness: Int, clip: PixelRect) {
        let cx0 = max(clip.x, 0), cx1 = min(clip.maxX, width)
        let cy0 = max(clip.y, 0), cy1 = min(clip.maxY, height)
        guard cx0 < cx1, cy0 < cy1 else { return }
        let offset = -(thickness - 1) / 2, stride = width
        pixels.withUnsafeMutableBufferPointer { p in
            let (dx, dy) = (abs(to.x - from.x), -abs(to.y - from.y))
            let (sx, sy) = (from.x < to.x ? 1 : -1, from.y < to.y ? 1 : -1)
            var (x, y, err) = (from.x, from.y, dx + dy)
            while true {
                let xa = max(x + offset, cx0), xb = min(x + offset + thickness, cx1)
                let ya = max(y + offset, cy0), yb = min(y + offset + thickness, cy1)
                if xa < xb && ya < yb {
                    for row in ya..<yb {
                        var i = (row * stride + xa) * 3
                        for _ in xa..<xb {
                            p[i] = color.r; p[i + 1] = color.g; p[i + 2] = color.b
                            i += 3
                        }
                    }
                }
                if x == to.x && y == to.y { break }
                let e2 = 2 * err
                if e2 >= dy { err += dy; x += sx }
                if e2 <= dx { err += dx; y += sy }
            }
        }
    }

    /// A 2-pixel-thick horizontal dashed line (5 on, 3 off) starting at (x, y).
    mutating func drawDashedLine(x: Int, y: Int, length: Int, color: RGBColor, clip: PixelRect) {
        var start = x
        while start < x + length {
            fillRect(x: start, y: y, width: min(5, x + length - start), height: 2, color: color, clip: clip)
            start += 8
        }
    }
}
