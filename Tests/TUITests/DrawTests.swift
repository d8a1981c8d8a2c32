import Imaging
import Latent
import TUI
import XCTest

final class DrawTests: XCTestCase {
    static let red = RGBImage(width: 32, height: 32, fill: (255, 0, 0))
    static let blue = RGBImage(width: 32, height: 32, fill: (0, 0, 255))

    func makeModel() -> BrowserViewModel {
        var m = BrowserViewModel(header: .init(fileName: "shapes-wgangp.bin", imageWidth: 32, imageHeight: 32,
                                               prior: "gaussian", latentDim: 64, method: "dplase", k: 3))
        m.seed = 7
        m.origin = Self.blue
        m.current = Self.red
        m.step = 3
        m.stride = 0.5
        m.mode = .density
        m.directions = [.init(index: 0, label: "x-position", score: 0.41), .init(index: 1, label: "hue", score: 0.37),
                        .init(index: 2, label: "", score: 0.30)]
        m.selectedDirection = 1
        m.readouts = .init(priorLogDensity: -90.62, priorDrift: -0.02, learnedLogDensity: -45.1, learnedDrift: 0.1,
                           featureChange: 0.42, imageChange: 0.11, psnr: 19.04, pathLength: 2.3, norm: 7.98)
        m.drift = [0, 0.1, 0.3, 0.2, 0.7]
        m.filmstrip = (1...5).map { .init(step: $0, image: $0 == 3 ? Self.red : Self.blue) }
        m.status = "wrote ./frame_seed7_d1_+3.png"
        return m
    }

    func drawn(_ m: BrowserViewModel, rows: Int = 24, cols: Int = 80) -> MemoryScreen {
        let screen = MemoryScreen(rows: rows, cols: cols)
        draw(m, on: screen)
        return screen
    }

    func testHeaderLine() {
        let screen = drawn(makeModel())
        XCTAssertEqual(screen.find("latent-tui · shapes-wgangp.bin · 32×32 · gaussian z∈R⁶⁴ · dplase k=3")?.row, 0)
    }

    func testSelectedDirectionIsMarked() {
        let screen = drawn(makeModel())
        let row = try! XCTUnwrap(screen.find("▶ 1  hue"))
        XCTAssertTrue(screen[row.row, row.col].style.reverse, "selection does not rely on colour")
        XCTAssertNil(screen.find("▶ 0"))
        XCTAssertTrue(screen.contains("  0  x-position"))
        XCTAssertTrue(screen.contains("(unnamed)"))
        XCTAssertTrue(screen.contains("0.37"))
        XCTAssertTrue(screen.contains("directions · dplase"))
    }

    func testReadoutsAreFormatted() {
        let text = drawn(makeModel()).dumpText()
        for expected in ["readouts · density-corrected", "log p(z)   −90.6   Δ −0.02", "learned    −45.1   Δ +0.10",
                         "feature Δ  0.420   image Δ 0.110 · 19.0 dB", "path len   2.30    ‖z‖ 7.98",
                         "stride     0.50    step +3 → +1.50", "drift      ▁▂▄▃█"] {
            XCTAssertTrue(text.contains(expected), "missing \"\(expected)\" in\n\(text)")
        }
    }

    func testAbsentReadoutsShowDashes() {
        var m = makeModel()
        m.readouts = .init(priorLogDensity: -3, priorDrift: 0, outsideCount: 2)
        let text = drawn(m).dumpText()
        XCTAssertTrue(text.contains("learned    —       (no F in checkpoint)"), text)
        XCTAssertTrue(text.contains("out 2"))
        XCTAssertTrue(text.contains("path len   —"))
    }

    func testImagesAreDrawnWithHalfBlocksInTheirPanels() {
        let m = makeModel()
        let screen = drawn(m)
        let layout = BrowserLayout(size: screen.size, imageAspect: 1)
        let inner = layout.current.inner
        let centre = screen[inner.row + inner.rows / 2, inner.col + inner.cols / 2]
        XCTAssertEqual(centre.content, .halfBlock(top: RGB(255, 0, 0), bottom: RGB(255, 0, 0)))
        let originInner = layout.origin.inner
        XCTAssertEqual(screen[originInner.row + originInner.rows / 2, originInner.col + originInner.cols / 2].background,
                       RGB(0, 0, 255))
        XCTAssertTrue(screen.contains("z0 · seed 7"))
        XCTAssertTrue(screen.contains("+3 × 0.50 = +1.50"), "the title drops \"step\" when narrow")
        XCTAssertTrue(drawn(m, rows: 40, cols: 160).contains("step +3 × 0.50 = +1.50"))
    }

    func testFilmstripCentresOnTheCurrentStep() {
        let screen = drawn(makeModel())
        XCTAssertTrue(screen.contains("[+3]"))
        let layout = BrowserLayout(size: screen.size)
        XCTAssertGreaterThanOrEqual(layout.filmstripCount, 5)
        XCTAssertEqual(layout.filmstripCount % 2, 1)
        XCTAssertEqual(layout.filmstripSteps(around: 3).count, layout.filmstripCount)
        XCTAssertEqual(layout.filmstripSteps(around: 3)[layout.filmstripCount / 2], 3)
        let current = try! XCTUnwrap(screen.find("[+3]"))
        let left = try! XCTUnwrap(screen.find("+2"))
        XCTAssertEqual(current.row, left.row)
        XCTAssertLessThan(left.col, current.col)
        XCTAssertTrue(screen[current.row, current.col].style.reverse)
    }

    func testStatusAndKeyHints() {
        let screen = drawn(makeModel())
        XCTAssertEqual(screen.find("wrote ./frame_seed7_d1_+3.png")?.row, 22)
        XCTAssertEqual(screen.find("←/→ step")?.row, 23)
        XCTAssertTrue(screen.contains("? help  q quit"))
    }

    func testTooSmallShowsAMessageInstead() {
        let screen = drawn(makeModel(), rows: 20, cols: 79)
        XCTAssertTrue(screen.contains("terminal too small: need 80×24, have 79×20 — resize"), screen.dumpText())
        XCTAssertFalse(screen.contains("readouts"))
        // Narrower than the message: wrapped, still complete.
        let tiny = drawn(makeModel(), rows: 10, cols: 20)
        let words = tiny.dumpText().split(whereSeparator: { $0 == " " || $0 == "\n" }).joined(separator: " ")
        XCTAssertEqual(words, "terminal too small: need 80×24, have 20×10 — resize")
        XCTAssertTrue(drawn(makeModel(), rows: 24, cols: 80).contains("readouts"), "80×24 is enough")
    }

    func testLongDirectionListsScrollToTheSelection() {
        var m = makeModel()
        m.directions = (0..<30).map { .init(index: $0, label: "dir\($0)", score: Double($0)) }
        m.selectedDirection = 15
        let screen = drawn(m)
        XCTAssertTrue(screen.contains("▶ 15  dir15"))
        XCTAssertFalse(screen.contains(" dir0 "))
        XCTAssertTrue(screen.contains("▲"), "more above")
        XCTAssertTrue(screen.contains("▼"), "more below")
        m.selectedDirection = 29
        XCTAssertFalse(drawn(m).contains("▼"), "at the end nothing is below")
    }

    func testHelpOverlayListsTheKeys() {
        var m = makeModel()
        m.showHelp = true
        let screen = drawn(m)
        for text in ["previous direction", "walk: linear → norm → density", "q Esc", "any key closes this help"] {
            XCTAssertTrue(screen.contains(text), "missing \(text)\n\(screen.dumpText())")
        }
        XCTAssertFalse(drawn(makeModel()).contains("previous direction"))
    }

    func testCompareViewShowsThreeWalks() {
        var m = makeModel()
        m.comparison = .init(linear: Self.red, norm: Self.blue, density: nil)
        let screen = drawn(m)
        XCTAssertTrue(screen.contains("linear · +3"), screen.dumpText())
        XCTAssertTrue(screen.contains("norm-preserving · +3"))
        XCTAssertTrue(screen.contains("density-corrected · +3"))
        XCTAssertTrue(screen.contains("(no frame yet)"), "density frame absent")
        XCTAssertFalse(screen.contains("z0 · seed"))
        let density = try! XCTUnwrap(screen.find("density-corrected · +3"))
        XCTAssertTrue(screen[density.row, density.col].style.reverse, "the active mode is marked")
        XCTAssertFalse(screen[density.row, density.col - 30].style.reverse)
        // Red and blue frames both drawn, side by side on one row.
        let layout = BrowserLayout(size: screen.size)
        let y = layout.compare[0].inner.row + layout.compare[0].inner.rows / 2
        let colours = Set((0..<80).compactMap { screen[y, $0].background })
        XCTAssertEqual(colours, [RGB(255, 0, 0), RGB(0, 0, 255)])
        // On a wide terminal the directions stay beside the three frames.
        let wide = drawn(m, rows: 40, cols: 200)
        XCTAssertTrue(wide.contains("▶ 1  hue"))
        XCTAssertTrue(wide.contains("norm-preserving · +3"))
    }

    func testPromptShowsTheTextField() {
        var state = BrowserState(methods: [.init(name: "dplase", labels: ["a", "hue"])], direction: 1, stride: 0.5,
                                 origin: .init(seed: 7), limits: .init(stride: 0.1...2))
        (state, _) = reduce(state, .nameDirection)
        (state, _) = reduce(state, .text(.insert("s")))
        var m = makeModel()
        m.update(from: state, scores: [0.5, 0.25])
        let screen = drawn(m)
        XCTAssertTrue(screen.contains("name direction 1: hues"), screen.dumpText())
        XCTAssertTrue(screen.contains("Esc cancels"))
    }

    func testUpdateFromStateCopiesPositionAndLabels() {
        var state = BrowserState(methods: [.init(name: "sefa", labels: ["", "smile"])], stride: 0.5,
                                 mode: .norm, origin: .init(seed: nil, truncation: 0.7), limits: .init(stride: 0.1...2))
        (state, _) = reduce(state, .nextDirection)
        (state, _) = reduce(state, .stepBackward)
        (state, _) = reduce(state, .toggleCompare)
        var m = makeModel()
        m.update(from: state, scores: [2.5])
        XCTAssertEqual(m.header.method, "sefa")
        XCTAssertEqual(m.header.k, 2)
        XCTAssertEqual(m.step, -1)
        XCTAssertEqual(m.mode, .norm)
        XCTAssertEqual(m.selectedDirection, 1)
        XCTAssertEqual(m.directions, [.init(index: 0, label: "", score: 2.5), .init(index: 1, label: "smile", score: nil)])
        XCTAssertNil(m.seed)
        XCTAssertNotNil(m.comparison)
        XCTAssertTrue(drawn(m).contains("linear · −1"))
        m.comparison = nil
        let screen = drawn(m)
        XCTAssertTrue(screen.contains("▶ 1  smile"))
        XCTAssertTrue(screen.contains("z0 · from file"), "ψ matters only for drawn z0")
        m.seed = 3
        XCTAssertTrue(drawn(m).contains("seed 3 · ψ 0.70"))
    }

    func testDrawingIsDeterministic() {
        let m = makeModel()
        let a = drawn(m), b = drawn(m)
        XCTAssertEqual(a.buffer, b.buffer)
        // Drawing over an old frame leaves nothing of it.
        let reused = drawn(m)
        var other = m
        other.status = ""
        draw(other, on: reused)
        XCTAssertFalse(reused.contains("wrote"))
    }

    func testLayoutFitsTheScreenAndPanelsDoNotOverlap() {
        for (cols, rows) in [(80, 24), (100, 30), (200, 60), (300, 40), (80, 60), (120, 24)] {
            let l = BrowserLayout(size: TerminalSize(rows: rows, cols: cols), imageAspect: 1)
            XCTAssertTrue(l.fits)
            let panels = [l.origin, l.current, l.directions, l.filmstrip, l.readouts]
            var owner = [Int](repeating: -1, count: rows * cols)
            for (i, p) in panels.enumerated() {
                XCTAssertGreaterThanOrEqual(p.row, 1)
                XCTAssertLessThanOrEqual(p.row + p.rows, rows - 2, "\(cols)×\(rows) panel \(i)")
                XCTAssertGreaterThanOrEqual(p.col, 0)
                XCTAssertLessThanOrEqual(p.col + p.cols, cols, "\(cols)×\(rows) panel \(i)")
                XCTAssertGreaterThanOrEqual(p.cols, 14, "\(cols)×\(rows) panel \(i)")
                for r in p.row..<(p.row + p.rows) {
                    for c in p.col..<(p.col + p.cols) {
                        XCTAssertEqual(owner[r * cols + c], -1, "\(cols)×\(rows): panels \(owner[r * cols + c]) and \(i) overlap")
                        owner[r * cols + c] = i
                    }
                }
            }
            XCTAssertGreaterThanOrEqual(l.readouts.inner.rows, 6, "six readout lines")
            XCTAssertGreaterThanOrEqual(l.directions.cols, 28)
            XCTAssertGreaterThanOrEqual(l.filmstripCount, 5)
            // The current frame is as large as the band's height allows.
            let fit = HalfBlockRenderer.fittedPixelSize(width: 32, height: 32, cols: l.current.inner.cols,
                                                        rows: l.current.inner.rows)
            XCTAssertTrue(fit.height == 2 * l.current.inner.rows || fit.width == l.current.inner.cols)
        }
        XCTAssertFalse(BrowserLayout(size: TerminalSize(rows: 23, cols: 200)).fits)
    }
}
