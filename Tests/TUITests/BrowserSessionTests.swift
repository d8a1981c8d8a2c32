import Foundation
import GAN
import Imaging
import Latent
import NN
import Tensors
import TUI
import XCTest

/// The browser without a terminal: setup from a checkpoint, the session's
/// requests and results, the engine's cache, and the files the keys write.
/// The app loop only adds threads and ncurses around exactly these calls.
final class BrowserSessionTests: XCTestCase {
    static let size = TerminalSize(rows: 40, cols: 120)

    func makeSession(_ checkpoint: Checkpoint, folder: TemporaryFolder, path: String = "tiny.bin",
                     method: String? = nil, origin: BrowserOrigin = .seed(7)) throws
        -> (BrowserSession, BrowserEngine) {
        let (context, state) = try makeBrowser(checkpoint: checkpoint, path: path, method: method, origin: origin,
                                               outputFolder: folder.path)
        return (BrowserSession(context: context, state: state, screenSize: Self.size),
                BrowserEngine(checkpoint: checkpoint, context: context))
    }

    /// Sends an action and, when it asks for frames, renders and applies them.
    @discardableResult
    func press(_ action: Action, _ session: BrowserSession, _ engine: BrowserEngine) -> FrameResult? {
        switch session.send(action) {
        case .render(let request):
            let result = engine.render(request)
            XCTAssertTrue(session.apply(result))
            return result
        case .write(let job):
            _ = session.show(engine.perform(job))
        case .saveLabel(let job):
            _ = session.show(engine.perform(job))
        case .none, .draw, .quit:
            break
        }
        return nil
    }

    @discardableResult
    func start(_ session: BrowserSession, _ engine: BrowserEngine) -> FrameResult {
        let result = engine.render(session.makeRequest())
        XCTAssertTrue(session.apply(result))
        return result
    }

    // MARK: setup

    func testSetupReadsMethodsModesAndTheDefaultStrideRange() throws {
        let checkpoint = try TinyCheckpoint.make(methods: [.sefa, .random])
        let folder = TemporaryFolder()
        let (session, _) = try makeSession(checkpoint, folder: folder)
        let state = session.state
        XCTAssertEqual(state.methods.map(\.name), ["sefa", "random"])
        XCTAssertEqual(state.method?.name, "sefa", "no dplase: the first set")
        XCTAssertEqual(state.availableModes, [.linear, .norm], "no corrector C: no density walk")
        let epsilonMax = Float(TinyCheckpoint.latentDimension).squareRoot() / 2   // ½·E‖z‖ for N(0, I)
        XCTAssertEqual(state.limits.stride.upperBound, epsilonMax, accuracy: 1e-6)
        XCTAssertEqual(state.stride, epsilonMax / 8, accuracy: 1e-6)
        XCTAssertEqual(state.origin.seed, 7)
        XCTAssertEqual(session.model.header.imageWidth, 16)
        XCTAssertEqual(session.model.header.latentDim, 8)
        XCTAssertEqual(session.model.header.fileName, "tiny.bin")
    }

    func testACheckpointWithoutDirectionsNamesTheDiscoverCommand() throws {
        let checkpoint = try TinyCheckpoint.make(methods: [])
        XCTAssertThrowsError(try makeBrowser(checkpoint: checkpoint, path: "g.bin", origin: .seed(1))) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("latent-tui discover g.bin --method sefa"), text)
            XCTAssertEqual((error as? InputError)?.kind, .missingData)
        }
    }

    func testAMissingMethodIsAnInputError() throws {
        let checkpoint = try TinyCheckpoint.make(methods: [.sefa])
        XCTAssertThrowsError(try makeBrowser(checkpoint: checkpoint, path: "g.bin", method: "pca", origin: .seed(1))) {
            XCTAssertTrue("\($0)".contains("--method pca"), "\($0)")
        }
    }

    func testZ0FromAFileRow() throws {
        let checkpoint = try TinyCheckpoint.make(methods: [.sefa])
        let folder = TemporaryFolder()
        let values: [Float] = (0..<16).map { Float($0) / 10 }
        try NPY.write(Tensor(shape: [2, 8], storage: values), to: folder.file("z.npy"))
        let (session, _) = try makeSession(checkpoint, folder: folder, origin: .file(path: folder.file("z.npy"), row: 1))
        XCTAssertEqual(session.z0.storage, Array(values[8..<16]))
        XCTAssertNil(session.state.origin.seed)
        XCTAssertThrowsError(try makeSession(checkpoint, folder: folder, origin: .file(path: folder.file("z.npy"), row: 2)))
    }

    // MARK: frames

    func testFirstRenderFillsFramesReadoutsAndFilmstrip() throws {
        let checkpoint = try TinyCheckpoint.make()
        let folder = TemporaryFolder()
        let (session, engine) = try makeSession(checkpoint, folder: folder)
        let result = start(session, engine)
        XCTAssertNil(result.error)
        let strip = session.layout.filmstripSteps(around: 0)
        XCTAssertEqual(result.renderedRows, strip.count, "current + filmstrip in one batch, z0 among them")
        let model = session.model
        XCTAssertEqual(model.origin?.width, 16)
        XCTAssertEqual(model.current, model.origin, "step 0 is z0")
        XCTAssertEqual(model.filmstrip.map(\.step), strip)
        XCTAssertEqual(model.readouts.featureChange ?? -1, 0, accuracy: 1e-6)
        XCTAssertEqual(model.readouts.psnr, .infinity)
        XCTAssertEqual(model.readouts.norm ?? 0, Double(session.z0.storage.reduce(0) { $0 + $1 * $1 }.squareRoot()),
                       accuracy: 1e-4)
        XCTAssertEqual(model.drift, [0])
    }

    func testAStepRendersOnlyTheNewFilmstripFrame() throws {
        let checkpoint = try TinyCheckpoint.make()
        let folder = TemporaryFolder()
        let (session, engine) = try makeSession(checkpoint, folder: folder)
        let first = start(session, engine)
        let step = try XCTUnwrap(press(.stepForward, session, engine))
        XCTAssertEqual(step.renderedRows, 1, "the current frame was in the filmstrip; one frame enters at the edge")
        XCTAssertNotEqual(session.model.current, first.current?.image)
        XCTAssertGreaterThan(session.model.readouts.featureChange ?? 0, 0)
        XCTAssertLessThan(session.model.readouts.psnr ?? .infinity, 100)
        let back = try XCTUnwrap(press(.stepBackward, session, engine))
        XCTAssertEqual(back.renderedRows, 0, "all cached")
        XCTAssertEqual(session.model.current, first.current?.image)
        XCTAssertEqual(session.model.drift.count, 3, "steps 0, +1, 0 walked")
    }

    func testLinearWalkFramesMatchTheLatentLibrary() throws {
        let checkpoint = try TinyCheckpoint.make(methods: [.sefa])
        let folder = TemporaryFolder()
        let (session, engine) = try makeSession(checkpoint, folder: folder)
        start(session, engine)
        press(.stepForward, session, engine)
        press(.stepForward, session, engine)
        let set = try XCTUnwrap(checkpoint.directionSets["sefa"])
        let walk = try Walk(checkpoint: checkpoint, z0: session.z0, direction: set.direction(0),
                            stride: session.state.stride, mode: .linear)
        let expected = rgbImages(from: checkpoint.generate(walk.latent(at: 2)), valueRange: (-1, 1))[0]
        XCTAssertLessThanOrEqual(maxDifference(try XCTUnwrap(session.model.current), expected), 1,
                                 "batched rows may round one level apart")
    }

    func testStaleResultsAreDropped() throws {
        let checkpoint = try TinyCheckpoint.make()
        let folder = TemporaryFolder()
        let (session, engine) = try makeSession(checkpoint, folder: folder)
        start(session, engine)
        guard case .render(let older) = session.send(.stepForward),
              case .render(let newer) = session.send(.stepForward) else { return XCTFail("steps render") }
        XCTAssertTrue(session.renderPending)
        XCTAssertFalse(session.apply(engine.render(older)), "a newer request replaced it")
        XCTAssertTrue(session.renderPending)
        XCTAssertTrue(session.apply(engine.render(newer)))
        XCTAssertFalse(session.renderPending)
        XCTAssertEqual(session.model.step, 2)
    }

    func testTextRedrawsWhileRenderingKeepTheShownPosition() throws {
        let checkpoint = try TinyCheckpoint.make()
        let folder = TemporaryFolder()
        let (session, engine) = try makeSession(checkpoint, folder: folder)
        start(session, engine)
        guard case .render(let request) = session.send(.stepForward) else { return XCTFail("a step renders") }
        _ = session.show("wrote something")
        XCTAssertEqual(session.model.step, 0, "the frames on screen are still step 0's")
        XCTAssertEqual(session.model.status, "wrote something")
        session.apply(engine.render(request))
        XCTAssertEqual(session.model.step, 1)
    }

    func testNewOriginUsesTheSeedAndTruncation() throws {
        let checkpoint = try TinyCheckpoint.make()
        let folder = TemporaryFolder()
        let (session, engine) = try makeSession(checkpoint, folder: folder)
        start(session, engine)
        _ = session.send(.setTruncation)
        for _ in 0..<4 { _ = session.send(.text(.deleteBackward)) }
        for c in "0.5" { _ = session.send(.text(.insert(c))) }
        _ = session.send(.text(.commit))
        press(.newOrigin, session, engine)
        XCTAssertEqual(session.state.origin.seed, 8)
        var rng = RandomGenerator(seed: 8)
        let z = checkpoint.sampleLatents(1, using: &rng)
        XCTAssertEqual(session.z0.storage, z.storage.map { $0 * 0.5 })
        XCTAssertEqual(session.model.drift, [0], "a new walk starts a new drift history")
        press(.undo, session, engine)
        var rng7 = RandomGenerator(seed: 7)
        XCTAssertEqual(session.z0.storage, checkpoint.sampleLatents(1, using: &rng7).storage)
    }

    func testNewOriginGoesThroughRejectionSamplingWhenTheCriticIsCalibrated() throws {
        let checkpoint = try TinyCheckpoint.make()
        var rng = RandomGenerator(seed: 5)
        checkpoint.critic = Network(spec: try Models.dcganCritic(imageSize: 16, width: 8), initializeWith: &rng)
        checkpoint.calibration = CriticCalibration(a: 40, b: 0, maxLogit: 0)
        let folder = TemporaryFolder()
        let (session, engine) = try makeSession(checkpoint, folder: folder)
        XCTAssertTrue(session.state.rejectionSampling)
        start(session, engine)
        press(.newOrigin, session, engine)
        XCTAssertEqual(session.state.origin, BrowserState.Origin(seed: 8, rejection: true))
        XCTAssertTrue(session.state.status.contains("DRS"), session.state.status)
        XCTAssertTrue(session.state.status.contains("accepted"), session.state.status)
        // The same draw as a fresh sampler makes from seed 8.
        let sampler = try RejectionSampler(checkpoint: checkpoint, seed: 0)
        var drawRNG = RandomGenerator(seed: 8)
        XCTAssertEqual(session.z0.storage, try sampler.draw(1, using: &drawRNG, batchSize: 16).latents.storage)

        // With ψ the proposals are truncated, so the z shown is the one the critic accepted.
        _ = session.send(.setTruncation)
        for _ in 0..<4 { _ = session.send(.text(.deleteBackward)) }
        for c in "0.5" { _ = session.send(.text(.insert(c))) }
        _ = session.send(.text(.commit))
        press(.newOrigin, session, engine)
        XCTAssertEqual(session.state.origin, BrowserState.Origin(seed: 9, truncation: 0.5, rejection: true))
        var truncatedRNG = RandomGenerator(seed: 9)
        let truncated = try sampler.truncated(0.5).draw(1, using: &truncatedRNG, batchSize: 16).latents
        XCTAssertEqual(session.z0.storage, truncated.storage)
        XCTAssertTrue(session.state.status.contains("accepted so far"), session.state.status)
        press(.undo, session, engine)
        var again = RandomGenerator(seed: 8)
        XCTAssertEqual(session.z0.storage, try RejectionSampler(checkpoint: checkpoint, seed: 0).draw(1, using: &again, batchSize: 16).latents.storage)

        // Without a calibration `r` is the plain prior draw.
        checkpoint.calibration = nil
        let (plain, _) = try makeSession(checkpoint, folder: folder)
        XCTAssertFalse(plain.state.rejectionSampling)
    }

    func testCompareRendersTheAvailableModesAndExplainsTheMissingOne() throws {
        let checkpoint = try TinyCheckpoint.make()
        let folder = TemporaryFolder()
        let (session, engine) = try makeSession(checkpoint, folder: folder)
        start(session, engine)
        press(.stepForward, session, engine)
        press(.toggleCompare, session, engine)
        let comparison = try XCTUnwrap(session.model.comparison)
        XCTAssertNotNil(comparison.linear)
        XCTAssertNotNil(comparison.norm)
        XCTAssertNil(comparison.density)
        XCTAssertTrue(comparison.notes[.density]?.contains("--method dplase") ?? false)
        XCTAssertNotEqual(comparison.linear, comparison.norm)
        let screen = MemoryScreen(rows: 40, cols: 120)
        draw(session.model, on: screen)
        XCTAssertTrue(screen.contains("norm-preserving · +1"))
    }

    func testDensityWalkWithACorrector() throws {
        let checkpoint = try TinyCheckpoint.make(methods: [.dplase], k: 2, dplaseSteps: 5)
        let folder = TemporaryFolder()
        let (session, engine) = try makeSession(checkpoint, folder: folder)
        XCTAssertEqual(session.state.availableModes, [.linear, .norm, .density])
        start(session, engine)
        XCTAssertNotNil(session.model.readouts.learnedLogDensity, "F is in the file")
        press(.cycleMode, session, engine)
        press(.cycleMode, session, engine)
        XCTAssertEqual(session.state.mode, .density)
        let result = try XCTUnwrap(press(.stepForward, session, engine))
        XCTAssertNil(result.error)
        XCTAssertNotNil(session.model.current)
        XCTAssertNotNil(session.model.readouts.learnedDrift)
    }

    func testResizeAsksForFramesOnlyWhenTheFilmstripChanges() throws {
        let checkpoint = try TinyCheckpoint.make()
        let folder = TemporaryFolder()
        let (session, engine) = try makeSession(checkpoint, folder: folder)
        start(session, engine)
        XCTAssertNil(session.resize(to: Self.size), "same size, same filmstrip")
        let tiny = try XCTUnwrap(session.resize(to: TerminalSize(rows: 10, cols: 40)))
        XCTAssertEqual(tiny.filmstripSteps, [], "too small: no filmstrip frames")
        session.apply(engine.render(tiny))
        let back = try XCTUnwrap(session.resize(to: Self.size), "the filmstrip is back")
        XCTAssertEqual(back.filmstripSteps, session.layout.filmstripSteps(around: 0))
        XCTAssertEqual(engine.render(back).renderedRows, 0, "its frames are cached")
    }

    func testDrawingAFrameShowsTheReadouts() throws {
        let checkpoint = try TinyCheckpoint.make()
        let folder = TemporaryFolder()
        let (session, engine) = try makeSession(checkpoint, folder: folder)
        start(session, engine)
        press(.stepForward, session, engine)
        let screen = MemoryScreen(rows: 40, cols: 120)
        draw(session.model, on: screen)
        XCTAssertTrue(screen.contains("step +1 ×"), screen.dumpText())
        XCTAssertTrue(screen.contains("readouts · linear"))
        XCTAssertTrue(screen.contains("directions · sefa"))
        XCTAssertTrue(screen.contains("[+1]"))
        XCTAssertTrue(screen.contains("∞ dB") == false, "step 1 differs from z0")
    }

    // MARK: writes

    func testWritesNameTheirFilesAndNeverOverwrite() throws {
        let checkpoint = try TinyCheckpoint.make()
        let folder = TemporaryFolder()
        let (session, engine) = try makeSession(checkpoint, folder: folder)
        start(session, engine)
        press(.stepForward, session, engine)
        press(.writeLatent, session, engine)
        XCTAssertEqual(session.state.status, "wrote z_7_sefa_0_1.npy (z at step +1, [1, 8])")
        press(.writeLatent, session, engine)
        XCTAssertTrue(session.state.status.hasPrefix("wrote z_7_sefa_0_1_1.npy"), session.state.status)
        let z = try NPY.read(path: folder.file("z_7_sefa_0_1.npy"))
        XCTAssertEqual(z.shape, [1, 8])

        press(.saveFrame, session, engine)
        XCTAssertEqual(session.state.status, "wrote frame_7_sefa_0_linear_1.png")
        XCTAssertLessThanOrEqual(try maxDifference(PNG.read(folder.file("frame_7_sefa_0_linear_1.png")),
                                                   XCTUnwrap(session.model.current)), 1)

        press(.writeContactSheet, session, engine)
        XCTAssertTrue(session.state.status.hasPrefix("wrote sheet_7_sefa_linear.png (4 directions × 17 steps)"),
                      session.state.status)
        XCTAssertNoThrow(try PNG.read(folder.file("sheet_7_sefa_linear.png")))
    }

    func testExportWritesWhatExportWritesIntoANewFolder() throws {
        let checkpoint = try TinyCheckpoint.make()
        let folder = TemporaryFolder()
        let (session, engine) = try makeSession(checkpoint, folder: folder)
        start(session, engine)
        press(.stepForward, session, engine)
        press(.exportWalk, session, engine)
        XCTAssertEqual(session.state.status, "wrote walk_sefa_0_linear_1/ (17 frames, z.npy, walk.json)")
        press(.exportWalk, session, engine)
        XCTAssertTrue(session.state.status.hasPrefix("wrote walk_sefa_0_linear_2/"))
        let out = folder.file("walk_sefa_0_linear_1")
        let files = try FileManager.default.contentsOfDirectory(atPath: out)
        XCTAssertEqual(files.filter { $0.hasPrefix("frame_") }.count, 17)
        XCTAssertTrue(files.contains("z.npy") && files.contains("walk.json"))
        // Frame n (= 8) is z0, frame 9 the browser's step +1.
        XCTAssertLessThanOrEqual(try maxDifference(PNG.read((out as NSString).appendingPathComponent("frame_008.png")),
                                                   XCTUnwrap(session.model.origin)), 1)
        let record = try WalkRecord.decoder.decode(WalkRecord.self,
                                                   from: Data(contentsOf: URL(fileURLWithPath: out + "/walk.json")))
        XCTAssertEqual(record.seed, 7)
        XCTAssertEqual(record.stride, session.state.stride)
        XCTAssertEqual(Array(record.command.prefix(3)), ["latent-tui", "export", "tiny.bin"])
    }

    func testNamingADirectionSavesTheCheckpointAndKeepsABackup() throws {
        let checkpoint = try TinyCheckpoint.make()
        let folder = TemporaryFolder()
        let path = folder.file("tiny.bin")
        try checkpoint.save(to: path)
        let (session, engine) = try makeSession(try Checkpoint.load(path: path), folder: folder, path: path)
        start(session, engine)
        _ = session.send(.nameDirection)
        for c in "tilt" { _ = session.send(.text(.insert(c))) }
        press(.text(.commit), session, engine)
        XCTAssertTrue(session.state.status.contains("saved \(path) (previous kept as \(path).bak)"), session.state.status)
        XCTAssertEqual(try Checkpoint.load(path: path).directionSets["sefa"]?.labels.first, "tilt")
        XCTAssertEqual(try Checkpoint.load(path: path + ".bak").directionSets["sefa"]?.labels.first, "")
        XCTAssertEqual(session.model.directions.first?.label, "tilt")
    }

    func testAFailedWriteGoesToTheStatusLine() throws {
        let checkpoint = try TinyCheckpoint.make()
        let folder = TemporaryFolder()
        let (context, state) = try makeBrowser(checkpoint: checkpoint, path: "tiny.bin", origin: .seed(7),
                                               outputFolder: folder.file("missing/deeper"))
        let session = BrowserSession(context: context, state: state, screenSize: Self.size)
        let engine = BrowserEngine(checkpoint: checkpoint, context: context)
        start(session, engine)
        press(.writeLatent, session, engine)
        XCTAssertTrue(session.state.status.hasPrefix("could not write"), session.state.status)
    }
}

/// The largest difference of two images' bytes (Int.max for other sizes):
/// the same z rendered in batches of different sizes may round one level
/// apart.
func maxDifference(_ a: RGBImage, _ b: RGBImage) -> Int {
    guard a.width == b.width, a.height == b.height else { return .max }
    return zip(a.pixels, b.pixels).map { abs(Int($0) - Int($1)) }.max() ?? 0
}
