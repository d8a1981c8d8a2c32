@testable import Imaging
import XCTest

/// Positions of the pixels of exactly `color`, optionally inside a row band.
private func positions(of color: RGBColor, in image: RGBImage, rows: Range<Int>? = nil) -> [(x: Int, y: Int)] {
    var found: [(x: Int, y: Int)] = []
    for y in rows ?? 0..<image.height {
        for x in 0..<image.width {
            let i = (y * image.width + x) * 3
            if image.pixels[i] == color.r && image.pixels[i + 1] == color.g && image.pixels[i + 2] == color.b {
                found.append((x, y))
            }
        }
    }
    return found
}

final class BitmapFontTests: XCTestCase {
    func testGlyphTableCoversPrintableASCII() {
        XCTAssertEqual(BitmapFont.rows.count, 96 * BitmapFont.glyphHeight)
        var seen: [ArraySlice<UInt8>: Character] = [:]
        for code in 32...126 {
            let character = Character(Unicode.Scalar(UInt8(code)))
            let index = BitmapFont.glyphIndex(character)
            XCTAssertEqual(index, code - 32)
            let glyph = BitmapFont.rows[(index * BitmapFont.glyphHeight)..<((index + 1) * BitmapFont.glyphHeight)]
            XCTAssertTrue(glyph.allSatisfy { $0 < 0x20 }, "\(character) is wider than 5 columns")
            if code == 32 {
                XCTAssertTrue(glyph.allSatisfy { $0 == 0 }, "space is not blank")
                continue
            }
            XCTAssertTrue(glyph.contains { $0 != 0 }, "\(character) has no ink")
            XCTAssertNil(seen[glyph], "\(character) looks like \(seen[glyph].map(String.init) ?? "")")
            seen[glyph] = character
        }
        let box = BitmapFont.rows[(BitmapFont.boxGlyph * BitmapFont.glyphHeight)...]
        XCTAssertNil(seen[box], "the box looks like \(seen[box].map(String.init) ?? "")")
        for unknown: Character in ["é", "\t", "€", "😀"] {
            XCTAssertEqual(BitmapFont.glyphIndex(unknown), BitmapFont.boxGlyph)
        }
    }

    func testTextChangesPixelsOnlyInsideItsBox() {
        let background = RGBColor(200, 200, 200), ink = RGBColor(10, 20, 30)
        for (text, scale) in [("Hello, World! 0.001 [x]_g%", 1), ("k_t (5e-3) = q/y", 2), ("two\nlines,y", 1)] {
            let blank = RGBImage(width: 260, height: 60, fill: background.tuple)
            var image = blank
            let (x0, y0) = (7, 5)
            drawText(text, x: x0, y: y0, color: ink, scale: scale, on: &image)
            let size = BitmapFont.size(of: text, scale: scale)
            let changed = positions(of: ink, in: image)
            XCTAssertFalse(changed.isEmpty)
            for p in changed {
                XCTAssertTrue(p.x >= x0 && p.x < x0 + size.width && p.y >= y0 && p.y < y0 + size.height,
                              "\(text): pixel \(p) outside \(size) at (\(x0), \(y0))")
            }
            XCTAssertEqual(changed.count + positions(of: background, in: image).count, 260 * 60)
            // The box is tight on the left, top and right for these strings.
            XCTAssertEqual(changed.map(\.x).min(), x0)
            XCTAssertEqual(changed.map(\.y).min(), y0)
            XCTAssertEqual(changed.map(\.x).max(), x0 + size.width - 1)
        }
    }

    func testUnknownCharactersDrawABoxAndClippingIsSafe() {
        var a = RGBImage(width: 20, height: 12, fill: (255, 255, 255))
        var b = a
        drawText("é", x: 2, y: 2, color: .black, on: &a)
        drawText("😀", x: 2, y: 2, color: .black, on: &b)
        XCTAssertEqual(a, b)
        XCTAssertEqual(positions(of: .black, in: a).count, 4 + 4 + 4 * 2) // a 4×6 outline
        var edge = RGBImage(width: 8, height: 8)
        drawText("Wide text far off", x: -30, y: -4, color: .white, scale: 3, on: &edge)
        drawText("x", x: 100, y: 100, color: .white, on: &edge)
        XCTAssertTrue(BitmapFont.size(of: "") == (0, 0))
    }
}

final class TickTests: XCTestCase {
    func testStepIsOneTwoOrFiveTimesAPowerOfTen() {
        for exponent in -12...12 {
            for mantissa in [1.0, 1.3, 2.0, 2.7, 4.9, 5.0, 7.3, 9.99] {
                let span = mantissa * pow(10, Double(exponent))
                for maxCount in 1...12 {
                    let step = Ticks.step(span: span, maxCount: maxCount)
                    let k = floor(log10(step) + 1e-9)
                    let m = (step / pow(10, k) * 1000).rounded() / 1000
                    XCTAssertTrue([1, 2, 5].contains(m), "step \(step) for span \(span)")
                    XCTAssertLessThanOrEqual(span / step, Double(maxCount) * (1 + 1e-9))
                    // And it is the smallest such step: the next smaller nice step would be too many.
                    let smaller = m == 1 ? 0.5 * step : (m == 2 ? 0.5 * step : 0.4 * step)
                    XCTAssertGreaterThan(span / smaller, Double(maxCount) * (1 - 1e-9))
                }
            }
        }
        XCTAssertEqual(Ticks.step(span: 1, maxCount: 5), 0.2, accuracy: 1e-15)
        XCTAssertEqual(Ticks.step(span: 100, maxCount: 4), 50)
        XCTAssertEqual(Ticks.step(span: 0.003, maxCount: 3), 0.001, accuracy: 1e-18)
        XCTAssertEqual(Ticks.step(span: 0, maxCount: 3), 1)
        XCTAssertEqual(Ticks.step(span: .nan, maxCount: 3), 1)
    }

    func testTickValuesAndLabels() {
        XCTAssertEqual(Ticks.values(from: -0.25, to: 1.01, step: 0.5), [0, 0.5, 1])
        XCTAssertEqual(Ticks.values(from: 0.1, to: 0.30000000000000004, step: 0.1).count, 3)
        XCTAssertEqual(Ticks.label(0.001, step: 0.001, magnitude: 0.005), "0.001")
        XCTAssertEqual(Ticks.label(2.5, step: 0.5, magnitude: 5), "2.5")
        XCTAssertEqual(Ticks.label(-40, step: 20, magnitude: 100), "-40")
        XCTAssertEqual(Ticks.label(0, step: 0.1, magnitude: 1), "0")
        XCTAssertEqual(Ticks.label(1e-5, step: 1e-5, magnitude: 5e-5), "1e-5")
        XCTAssertEqual(Ticks.label(1.5e6, step: 5e5, magnitude: 2e6), "1.5e6")
        XCTAssertEqual(Ticks.logLabel(0.001), "0.001")
        XCTAssertEqual(Ticks.logLabel(100), "100")
        XCTAssertEqual(Ticks.logLabel(1e-5), "1e-5")
        XCTAssertEqual(Ticks.logLabel(2e6), "2e6")
        XCTAssertEqual(formatValue(23.456), "23.5")
        XCTAssertEqual(formatValue(0.012345), "0.0123")
        XCTAssertEqual(formatValue(20), "20")
        XCTAssertEqual(formatValue(-1.5), "-1.5")
        XCTAssertEqual(formatValue(2.5e-5), "2.5e-5")
        XCTAssertEqual(formatValue(.nan), "n/a")
        XCTAssertEqual(NumberText.scientific(9.999e-5, decimals: 2), "1e-4")
    }

    func testLogAxisTicks() {
        let decades = Axis.logarithmic(lo: -4.2, hi: 2.1, maxCount: 8)
        XCTAssertEqual(decades.ticks.map(\.label), ["1e-4", "0.001", "0.01", "0.1", "1", "10", "100"])
        let sparse = Axis.logarithmic(lo: -6, hi: 6, maxCount: 4)
        XCTAssertEqual(sparse.ticks.map(\.label), ["1e-6", "0.001", "1", "1000", "1e6"])
        let narrow = Axis.logarithmic(lo: log10(0.15), hi: log10(0.8), maxCount: 5)
        XCTAssertEqual(narrow.ticks.map(\.label), ["0.2", "0.5"])
    }
}

final class LinePlotTests: XCTestCase {
    let blue = RGBColor.palette[0]

    func testIdentityIsADiagonalOfTheRequestedSize() {
        let xs = (0...200).map { Double($0) / 2 }
        let image = linePlot([LineSeries(name: "", xs: xs, ys: xs, color: blue)], title: "y = x", xLabel: "x",
                             width: 640, height: 400)
        XCTAssertEqual(image.width, 640)
        XCTAssertEqual(image.height, 400)
        let ink = positions(of: blue, in: image)
        let (minX, maxX) = (ink.map(\.x).min()!, ink.map(\.x).max()!)
        let (minY, maxY) = (ink.map(\.y).min()!, ink.map(\.y).max()!)
        XCTAssertGreaterThan(maxX - minX, 640 * 3 / 4)
        XCTAssertGreaterThan(maxY - minY, 400 / 2)
        // Every pixel lies within the line's thickness of the diagonal from bottom-left to top-right.
        let slope = Double(minY - maxY) / Double(maxX - minX)
        for p in ink {
            let expected = Double(maxY) + slope * Double(p.x - minX)
            XCTAssertLessThanOrEqual(abs(Double(p.y) - expected), 2.5, "pixel \(p)")
        }
    }

    func testNonFiniteValuesBreakTheLineWithoutCrashing() {
        var ys = (0...100).map { sin(Double($0) / 10) }
        for i in 40...60 { ys[i] = .nan }
        ys[10] = .infinity
        ys[80] = -.infinity
        let series = [LineSeries(name: "", ys: ys, color: blue),
                      LineSeries(name: "all nan", ys: [.nan, .nan]),
                      LineSeries(name: "empty", ys: [])]
        let image = linePlot(series, title: "gaps", xLabel: "step", width: 500, height: 300)
        let ink = positions(of: blue, in: image)
        let (minX, maxX) = (ink.map(\.x).min()!, ink.map(\.x).max()!)
        let gap = (minX + (maxX - minX) * 42 / 100)...(minX + (maxX - minX) * 58 / 100)
        XCTAssertFalse(ink.contains { gap.contains($0.x) }, "the NaN stretch was joined over")
        _ = linePlot([LineSeries(name: "nan", ys: [.nan])], title: "", xLabel: "", logY: true)
        _ = linePlot([LineSeries(name: "nonpositive", ys: [0, -1, 2, 0.5])], title: "", xLabel: "", logY: true)
        _ = linePlot([], title: "nothing", xLabel: "x", panels: true)
        _ = linePlot([LineSeries(name: "one", xs: [3], ys: [3])], title: "", xLabel: "", width: 40, height: 30)
    }

    func testConstantSeriesIsAHorizontalLine() {
        for value in [0.0, 3.0, -1e-7] {
            let image = linePlot([LineSeries(name: "", ys: Array(repeating: value, count: 50), color: blue)],
                                 title: "constant", xLabel: "step")
            let ink = positions(of: blue, in: image)
            XCTAssertFalse(ink.isEmpty)
            XCTAssertLessThanOrEqual(ink.map(\.y).max()! - ink.map(\.y).min()!, 1, "value \(value)")
            XCTAssertGreaterThan(ink.map(\.x).max()! - ink.map(\.x).min()!, 600)
        }
    }

    func testPanelsGiveEachSeriesItsOwnScale() {
        let colors = [RGBColor.palette[0], RGBColor.palette[1], RGBColor.palette[2], RGBColor.palette[3]]
        let scales = [1e-3, 10, 1e4, 1]
        let series = (0..<4).map { s in
            LineSeries(name: "loss \(s)", ys: (0..<300).map { scales[s] * (2 + sin(Double($0) / 20)) }, color: colors[s])
        }
        let image = linePlot(series, title: "losses", xLabel: "step", width: 600, height: 600, panels: true)
        var previousBottom = -1
        for s in 0..<4 {
            let ink = positions(of: colors[s], in: image)
            let (top, bottom) = (ink.map(\.y).min()!, ink.map(\.y).max()!)
            XCTAssertGreaterThan(top, previousBottom, "panel \(s) overlaps the one above")
            // Its own y scale: the wave fills most of the panel whatever its magnitude.
            XCTAssertGreaterThan(bottom - top, 70, "panel \(s)")
            previousBottom = bottom
        }
    }

    func testSmoothingDrawsFaintRawAndStrongAverage() {
        var state: UInt64 = 42
        let ys = (0..<2000).map { i -> Double in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(i) / 1000 + Double(state >> 40) / Double(1 << 24)
        }
        let image = linePlot([LineSeries(name: "noisy", ys: ys, color: blue)], title: "", xLabel: "",
                             smoothing: 100)
        XCTAssertGreaterThan(positions(of: blue, in: image).count, 1000)
        XCTAssertGreaterThan(positions(of: blue.mixed(with: .white, amount: 0.65), in: image).count, 1000)
        XCTAssertEqual(movingAverage([1, 2, 3, 4, 5], window: 3), [1.5, 2, 3, 4, 4.5])
        let gapped = movingAverage([1, .nan, 3], window: 3)
        XCTAssertEqual(gapped[0], 1)
        XCTAssertTrue(gapped[1].isNaN)
        XCTAssertEqual(gapped[2], 3)
    }

    func testColumnEnvelopeDrawsTheSamePixelsAsEverySegment() {
        var state: UInt64 = 7
        var y = 0.0
        let xs = (0..<5000).map { Double($0) }
        let ys = xs.map { _ -> Double in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            y += Double(Int64(bitPattern: state) >> 40) / Double(1 << 23)
            return y
        }
        let xMap = (a: 300.0 / 5000, b: 5.0), yMap = (a: -2.0, b: 500.0)
        let clip = PixelRect(x: 0, y: 0, width: 320, height: 1000)
        var full = RGBImage(width: 320, height: 1000, fill: (255, 255, 255))
        var reduced = full
        let points = xs.indices.map {
            PixelPoint(x: Int((xMap.a * xs[$0] + xMap.b).rounded()), y: Int((yMap.a * ys[$0] + yMap.b).rounded()))
        }
        for i in points.indices.dropFirst() {
            full.drawLine(points[i - 1], points[i], color: .black, thickness: 2, clip: clip)
        }
        let lines = pixelPolylines(xs: xs, ys: ys, xMap: xMap, yMap: yMap)
        XCTAssertEqual(lines.count, 1)
        XCTAssertLessThanOrEqual(lines[0].count, 4 * 301)
        for i in lines[0].indices.dropFirst() {
            reduced.drawLine(lines[0][i - 1], lines[0][i], color: .black, thickness: 2, clip: clip)
        }
        XCTAssertEqual(full, reduced)
    }

    func testHundredThousandPointsAreQuick() {
        let ys = (0..<100_000).map { 1 / (1 + Double($0) / 1000) + 0.1 * sin(Double($0)) }
        let start = ContinuousClock.now
        let image = linePlot([LineSeries(name: "loss", ys: ys), LineSeries(name: "other", ys: ys.map { -$0 })],
                             title: "100k", xLabel: "step", smoothing: 500)
        XCTAssertEqual(image.width, 800)
        XCTAssertLessThan(ContinuousClock.now - start, .seconds(5)) // debug build, shared machine
    }
}

final class BarChartTests: XCTestCase {
    func testBarHeightsAreProportionalToValues() {
        let (a, b) = (RGBColor.palette[0], RGBColor.palette[1])
        let values: [[Double]] = [[10, 20, 40], [30, 5, 0]]
        let image = barChart(groups: ["one", "two", "three"],
                             series: [BarSeries(name: "", values: values[0], color: a),
                                      BarSeries(name: "", values: values[1], color: b)],
                             title: "FID", yLabel: "FID", width: 600, height: 400)
        XCTAssertEqual(image.width, 600)
        XCTAssertEqual(image.height, 400)
        // Column heights of each bar: bars are the only pixels of these colours.
        var heights: [[Int]] = []
        for color in [a, b] {
            let ink = positions(of: color, in: image)
            var byColumn: [Int: Int] = [:]
            for p in ink { byColumn[p.x, default: 0] += 1 }
            // Group the columns into bars (runs of adjacent columns), one height per bar.
            var bars: [Int] = []
            var previous = Int.min
            for x in byColumn.keys.sorted() {
                if x != previous + 1 { bars.append(byColumn[x]!) }
                previous = x
            }
            heights.append(bars)
        }
        XCTAssertEqual(heights[0].count, 3)
        XCTAssertEqual(heights[1].count, 2) // a zero value draws no bar
        let unit = Double(heights[0][2]) / 40 // from the tallest bar, so rounding is spread thin
        XCTAssertGreaterThan(unit, 3)
        for (measured, value) in zip(heights[0] + heights[1], values[0] + values[1].prefix(2)) {
            XCTAssertEqual(Double(measured), value * unit, accuracy: 1.01, "bar of \(value)")
        }
    }

    func testReferencesNegativesAndNaNAreDrawn() {
        let image = barChart(groups: ["WGAN-GP n_critic=5", "BEGAN gamma=0.5", "SAN"],
                             series: [BarSeries(name: "ours", values: [31.2, .nan, -4]),
                                      BarSeries(name: "paper", values: [29.0, 35.5, 12])],
                             title: "FID by setting", yLabel: "FID", width: 300, height: 240,
                             referenceValues: [30, nil, 10], referenceName: "target")
        XCTAssertFalse(positions(of: RGBColor.palette[0], in: image).isEmpty)
        XCTAssertFalse(positions(of: RGBColor.palette[1], in: image).isEmpty)
        XCTAssertEqual(wrapText("a very long label indeed", maxWidth: 40, maxLines: 2), ["a very", "long.."])
    }
}
