import Latent
import TUI
import XCTest

final class BrowserStateTests: XCTestCase {
    func makeState(methods: [BrowserState.Method]? = nil, modes: [WalkMode] = WalkMode.allCases,
                   stride: Float = 0.5) -> BrowserState {
        BrowserState(
            methods: methods ?? [.init(name: "dplase", labels: ["x-position", "hue", ""]),
                                 .init(name: "sefa", labels: ["a", "b", "c", "d", "e"])],
            stride: stride, availableModes: modes, origin: .init(seed: 7),
            limits: .init(stride: 0.1...2, maxStep: 3, playSteps: 2, undoDepth: 4))
    }

    /// Applies actions in order, returning the last effect.
    func run(_ state: BrowserState, _ actions: [Action]) -> (BrowserState, Effect) {
        var s = state, e = Effect.none
        for a in actions { (s, e) = reduce(s, a) }
        return (s, e)
    }

    func testStepsMoveByOneAndStopAtTheLimit() {
        var (s, e) = reduce(makeState(), .stepForward)
        XCTAssertEqual(s.step, 1)
        XCTAssertEqual(e, .render)
        (s, e) = reduce(s, .stepBackward)
        XCTAssertEqual(s.step, 0)
        (s, e) = run(s, [.stepForward, .stepForward, .stepForward])
        XCTAssertEqual(s.step, 3)
        (s, e) = reduce(s, .stepForward)
        XCTAssertEqual(s.step, 3, "maxStep is 3")
        XCTAssertEqual(e, .redraw, "the refusal is shown")
        XCTAssertTrue(s.status.contains("step limit"))
        (s, _) = run(makeState(), [.stepBackward, .stepBackward, .stepBackward, .stepBackward])
        XCTAssertEqual(s.step, -3)
    }

    func testStrideScalesByAQuarterAndClamps() {
        var (s, e) = reduce(makeState(), .increaseStride)
        XCTAssertEqual(s.stride, 0.625, accuracy: 1e-6)
        XCTAssertEqual(e, .render)
        (s, _) = reduce(s, .decreaseStride)
        XCTAssertEqual(s.stride, 0.5, accuracy: 1e-6)
        (s, _) = run(s, Array(repeating: .increaseStride, count: 10))
        XCTAssertEqual(s.stride, 2, "clamped to the upper bound")
        (s, e) = reduce(s, .increaseStride)
        XCTAssertEqual(e, .redraw)
        XCTAssertTrue(s.status.contains("maximum"), s.status)
        (s, _) = run(s, Array(repeating: .decreaseStride, count: 20))
        XCTAssertEqual(s.stride, 0.1, accuracy: 1e-7, "clamped to the lower bound")
        XCTAssertEqual(BrowserState(methods: [], stride: 50, origin: .init(seed: 0),
                                    limits: .init(stride: 0.1...2)).stride, 2, "initial stride clamped")
    }

    func testModeCyclesLinearNormDensityAndSkipsUnavailable() {
        var s = makeState()
        var seen: [WalkMode] = []
        for _ in 0..<3 {
            let (next, e) = reduce(s, .cycleMode)
            XCTAssertEqual(e, .render)
            s = next
            seen.append(s.mode)
        }
        XCTAssertEqual(seen, [.norm, .density, .linear])

        var noDensity = makeState(modes: [.linear, .norm])
        (noDensity, _) = run(noDensity, [.cycleMode, .cycleMode])
        XCTAssertEqual(noDensity.mode, .linear, "density skipped without a corrector")
        let (only, e) = reduce(makeState(modes: [.linear]), .cycleMode)
        XCTAssertEqual(only.mode, .linear)
        XCTAssertEqual(e, .redraw)
        XCTAssertFalse(only.status.isEmpty)
    }

    func testMethodCyclesAndKeepsTheSelectionInRange() {
        var s = makeState()
        (s, _) = run(s, [.nextDirection, .nextDirection])
        XCTAssertEqual(s.direction, 2)
        var e: Effect
        (s, e) = reduce(s, .cycleMethod)
        XCTAssertEqual(e, .render)
        XCTAssertEqual(s.method?.name, "sefa")
        XCTAssertEqual(s.direction, 2)
        (s, _) = run(s, [.nextDirection, .nextDirection])
        XCTAssertEqual(s.direction, 4)
        (s, _) = reduce(s, .cycleMethod)
        XCTAssertEqual(s.method?.name, "dplase", "wraps around")
        XCTAssertEqual(s.direction, 2, "clamped to the method's k")
        let (single, e2) = reduce(makeState(methods: [.init(name: "pca", labels: ["", ""])]), .cycleMethod)
        XCTAssertEqual(single.methodIndex, 0)
        XCTAssertEqual(e2, .redraw)
        XCTAssertTrue(single.status.contains("only"))
    }

    func testDirectionSelectionStopsAtTheEnds() {
        var (s, e) = reduce(makeState(), .previousDirection)
        XCTAssertEqual(s.direction, 0)
        XCTAssertEqual(e, .none, "nothing to redraw at the top")
        (s, _) = run(s, [.nextDirection, .nextDirection, .nextDirection])
        XCTAssertEqual(s.direction, 2)
        let (empty, e2) = reduce(makeState(methods: []), .nextDirection)
        XCTAssertEqual(empty.direction, 0)
        XCTAssertEqual(e2, .redraw)
    }

    func testUndoRestoresPreviousPositionsInOrder() {
        var s = makeState()
        (s, _) = run(s, [.stepForward, .nextDirection, .increaseStride, .cycleMode, .cycleMethod])
        XCTAssertEqual(s.undoStack.count, 4, "undo depth 4 keeps the newest four")
        var e: Effect
        (s, e) = reduce(s, .undo)
        XCTAssertEqual(e, .render)
        XCTAssertEqual(s.method?.name, "dplase")
        (s, _) = reduce(s, .undo)
        XCTAssertEqual(s.mode, .linear)
        (s, _) = reduce(s, .undo)
        XCTAssertEqual(s.stride, 0.5)
        (s, _) = reduce(s, .undo)
        XCTAssertEqual(s.direction, 0)
        XCTAssertEqual(s.step, 1, "the first change fell off the bounded stack")
        (s, e) = reduce(s, .undo)
        XCTAssertEqual(e, .redraw)
        XCTAssertEqual(s.status, "nothing to undo")
    }

    func testUndoOfANewOriginAsksForTheOldOrigin() {
        var (s, e) = run(makeState(), [.stepForward, .newOrigin])
        XCTAssertEqual(e, .newOrigin)
        XCTAssertEqual(s.origin.seed, 8)
        XCTAssertEqual(s.step, 0)
        (s, e) = reduce(s, .undo)
        XCTAssertEqual(e, .newOrigin, "z0 must be remade from the restored seed")
        XCTAssertEqual(s.origin.seed, 7)
        XCTAssertEqual(s.step, 1)
    }

    func testZeroReturnsToOrigin() {
        var (s, e) = run(makeState(), [.stepForward, .stepForward, .returnToOrigin])
        XCTAssertEqual(s.step, 0)
        XCTAssertEqual(e, .render)
        (s, e) = reduce(s, .returnToOrigin)
        XCTAssertEqual(e, .none, "already at z0")
        (s, _) = reduce(s, .undo)
        XCTAssertEqual(s.step, 2)
    }

    func testNewOriginTakesNextSeedAndCurrentTruncation() {
        let user = BrowserState(methods: [], stride: 1, origin: .init(seed: nil), limits: .init(stride: 0.1...2))
        let (fromFile, _) = reduce(user, .newOrigin)
        XCTAssertEqual(fromFile.origin.seed, 0)
        var s = makeState()
        (s, _) = run(s, [.setTruncation, .text(.deleteBackward), .text(.deleteBackward), .text(.deleteBackward),
                         .text(.deleteBackward), .text(.insert("0")), .text(.insert(".")), .text(.insert("7")),
                         .text(.commit)])
        XCTAssertEqual(s.truncation, 0.7)
        XCTAssertEqual(s.origin.truncation, 1, "ψ applies to the next draw, not the current z0")
        XCTAssertNil(s.input)
        (s, _) = reduce(s, .newOrigin)
        XCTAssertEqual(s.origin, .init(seed: 8, truncation: 0.7))
        XCTAssertTrue(s.status.contains("seed 8"), s.status)
    }

    func testTruncationRejectsBadInputAndKeepsTheFieldOpen() {
        var (s, _) = reduce(makeState(), .setTruncation)
        XCTAssertEqual(s.input?.text, "1.00")
        (s, _) = run(s, [.text(.insert("x")), .text(.commit)])
        XCTAssertNotNil(s.input, "still editing")
        XCTAssertEqual(s.truncation, 1)
        XCTAssertTrue(s.status.contains("ψ must be"), s.status)
        (s, _) = reduce(s, .text(.cancel))
        XCTAssertNil(s.input)
        XCTAssertEqual(s.truncation, 1)
    }

    func testNamingSavesTheLabel() {
        var (s, e) = run(makeState(), [.nextDirection, .nameDirection])
        XCTAssertEqual(s.input, .init(purpose: .label, text: "hue"))
        XCTAssertEqual(e, .redraw)
        (s, _) = run(s, [.text(.deleteBackward), .text(.deleteBackward), .text(.deleteBackward)])
        XCTAssertEqual(s.input?.text, "")
        // Bound keys type text while the field is open.
        (s, _) = run(s, [.text(.insert("q")), .quit, .text(.insert(" ")), .text(.insert("z"))])
        XCTAssertEqual(s.input?.text, "q z", ".quit is ignored while editing")
        (s, e) = reduce(s, .text(.commit))
        XCTAssertEqual(e, .saveLabel(method: "dplase", direction: 1, label: "q z"))
        XCTAssertEqual(s.methods[0].labels[1], "q z")
        XCTAssertNil(s.input)
        (s, e) = run(s, [.nameDirection, .text(.commit)])
        XCTAssertEqual(e, .redraw, "an unchanged name writes nothing")
    }

    func testLabelsAreBoundedInLength() {
        var (s, _) = reduce(makeState(), .nameDirection)
        (s, _) = run(s, Array(repeating: .text(.insert("a")), count: 100))
        XCTAssertEqual(s.input?.text.count, 40, "starts from \"x-position\", capped at labelLength")
    }

    func testPlaybackBouncesBetweenLimits() {
        var (s, e) = reduce(makeState(), .togglePlay)
        XCTAssertTrue(s.playing)
        XCTAssertEqual(e, .redraw)
        var steps: [Int] = []
        for _ in 0..<8 {
            (s, e) = reduce(s, .tick)
            XCTAssertEqual(e, .render)
            steps.append(s.step)
        }
        XCTAssertEqual(steps, [1, 2, 1, 0, -1, -2, -1, 0], "playSteps is 2")
        (s, _) = reduce(s, .stepForward)
        XCTAssertFalse(s.playing, "a manual step pauses")
        (s, e) = reduce(s, .tick)
        XCTAssertEqual(e, .none, "ticks do nothing when paused")
    }

    func testHelpToggleAndAnyKeyCloses() {
        var (s, e) = reduce(makeState(), .toggleHelp)
        XCTAssertTrue(s.showingHelp)
        XCTAssertEqual(e, .redraw)
        (s, e) = reduce(s, .stepForward)
        XCTAssertFalse(s.showingHelp)
        XCTAssertEqual(s.step, 0, "the key only closed the help")
        (s, _) = run(s, [.toggleHelp, .toggleHelp])
        XCTAssertFalse(s.showingHelp)
        (s, e) = run(s, [.toggleHelp, .quit])
        XCTAssertEqual(e, .quit, "q quits even from the help")
    }

    func testQuitWritesCompareAndShow() {
        XCTAssertEqual(reduce(makeState(), .quit).1, .quit)
        XCTAssertEqual(reduce(makeState(), .writeLatent).1, .write(.latent))
        XCTAssertEqual(reduce(makeState(), .exportWalk).1, .write(.walk))
        XCTAssertEqual(reduce(makeState(), .saveFrame).1, .write(.frame))
        XCTAssertEqual(reduce(makeState(), .writeContactSheet).1, .write(.contactSheet))
        let (c, e) = reduce(makeState(), .toggleCompare)
        XCTAssertTrue(c.comparing)
        XCTAssertEqual(e, .render)
        XCTAssertFalse(reduce(c, .toggleCompare).0.comparing)
        let (shown, e2) = reduce(makeState(), .show("wrote ./z_seed7.npy"))
        XCTAssertEqual(shown.status, "wrote ./z_seed7.npy")
        XCTAssertEqual(e2, .redraw)
        XCTAssertEqual(reduce(makeState(), .resize).1, .redraw)
    }

    func testViewTogglesAreNotUndone() {
        var (s, _) = run(makeState(), [.stepForward, .toggleCompare])
        (s, _) = reduce(s, .undo)
        XCTAssertEqual(s.step, 0)
        XCTAssertTrue(s.comparing)
    }
}
