#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Tensors
import GAN
import Imaging
import Latent
import NN
import XCTest

/// The built `latent-tui` binary in a real terminal: tmux runs it in a
/// detached 120×40 session, `send-keys` types, `capture-pane -p -e` reads
/// the screen (text and SGR colour codes). The checkpoint is a tiny
/// generator made here, with DP-LaSE (so the density walk exists) and SeFa
/// directions, so the test needs no shipped file and takes seconds.
///
/// Needs tmux (Debian package `tmux`) and the binary next to the test
/// bundle, which `swift build` and `swift test` both put there (or set
/// `LATENT_TUI_BINARY`). Skips, saying why, when either is missing.
final class EndToEndTests: XCTestCase {
    var folder: TemporaryFolder!
    var tmux: Tmux!

    override func setUpWithError() throws {
        guard let binary = Self.binary else {
            throw XCTSkip("latent-tui is not built next to the tests (run `swift build` first, or set LATENT_TUI_BINARY)")
        }
        guard let tmuxPath = Self.executable(named: "tmux") else { throw XCTSkip("tmux is not installed") }
        folder = TemporaryFolder()
        tmux = Tmux(executable: tmuxPath, binary: binary, folder: folder)
    }

    override func tearDown() {
        tmux?.killServer()
        tmux = nil
        folder = nil
    }

    func testStepStrideModeMethodExportAndQuit() throws {
        let checkpoint = try TinyCheckpoint.make(methods: [.dplase, .sefa], k: 3, dplaseSteps: 5)
        try checkpoint.save(to: folder.file("tiny.bin"))
        // The first draw has placeholders; the frames and readouts follow.
        var screen = try startBrowser(["tiny.bin", "--seed", "5"])
        XCTAssertTrue(screen.contains("latent-tui · tiny.bin · 16×16 · gaussian z∈R⁸ · dplase k=3"), screen)
        XCTAssertTrue(screen.contains("readouts · linear"), screen)
        XCTAssertEqual(Self.number(after: "feature Δ", in: screen), 0)
        let raw = tmux.capture(escapes: true)
        XCTAssertTrue(raw.contains("38;5;") || raw.contains("48;5;"), "256-colour cells on xterm-256color")
        XCTAssertTrue(raw.contains("▀"), "half-block pixels")
        let norm0 = try XCTUnwrap(Self.number(after: "‖z‖", in: screen))
        let stride0 = try XCTUnwrap(Self.number(after: "stride", in: screen))

        // → : one step along direction 0.
        tmux.send("Right")
        screen = try tmux.waitFor("step +1") { $0.contains("step +1 ×") }
        XCTAssertGreaterThan(try XCTUnwrap(Self.number(after: "feature Δ", in: screen)), 0)
        XCTAssertNotEqual(Self.number(after: "‖z‖", in: screen), norm0, "a linear step changes ‖z‖")
        XCTAssertTrue(screen.contains("[+1]"), "the filmstrip centres on the step")

        // + : stride × 1.25, same step.
        tmux.send("+")
        screen = try tmux.waitFor("a longer stride") { Self.number(after: "stride", in: $0) != stride0 }
        XCTAssertEqual(try XCTUnwrap(Self.number(after: "stride", in: screen)), stride0 * 1.25, accuracy: 0.011)

        // m, m : norm-preserving, then density-corrected.
        tmux.send("m")
        screen = try tmux.waitFor("the norm-preserving walk") { $0.contains("readouts · norm-preserving") }
        XCTAssertEqual(try XCTUnwrap(Self.number(after: "‖z‖", in: screen)), norm0, accuracy: 0.011,
                       "the norm-preserving walk keeps ‖z0‖")
        tmux.send("m")
        _ = try tmux.waitFor("the density-corrected walk") { $0.contains("readouts · density-corrected") }

        // d : the next direction set.
        tmux.send("d")
        screen = try tmux.waitFor("the sefa directions") { $0.contains("directions · sefa") }
        XCTAssertTrue(screen.contains("sefa k=3"), screen)

        // e : export, the folder named in the status line.
        tmux.send("e")
        screen = try tmux.waitFor("the export's status line") { $0.contains("wrote walk_") }
        let name = try XCTUnwrap(Self.match(#"wrote (walk_[A-Za-z0-9_]+)/"#, in: screen), screen)
        XCTAssertEqual(name, "walk_sefa_0_density_1")
        let out = folder.file(name)
        let frames = try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.hasPrefix("frame_") }.sorted()
        XCTAssertEqual(frames.count, 17, "steps −8…+8")
        for frame in frames {
            let image = try PNG.read((out as NSString).appendingPathComponent(frame))
            XCTAssertEqual(image.width, 16)
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/walk.json"))

        // q : exit 0 with the terminal restored (cooked mode, main screen).
        tmux.send("q")
        XCTAssertEqual(try tmux.waitForExit(), 0)
        XCTAssertTrue(Self.ttyRestored(tmux.statusLine), tmux.statusLine)
        XCTAssertEqual(tmux.display("#{alternate_on}"), "0", "back on the main screen")
        XCTAssertEqual(tmux.standardError, "", "nothing written past the screen")
    }

    /// The same walk on the shipped checkpoint (copied: exports land beside
    /// the copy), with all four direction sets and DP-LaSE's F and C.
    func testTheShippedCheckpoint() throws {
        let shipped = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("checkpoints/shapes-wgangp.bin").path
        guard FileManager.default.fileExists(atPath: shipped) else { throw XCTSkip("\(shipped) is not there") }
        try FileManager.default.copyItem(atPath: shipped, toPath: folder.file("shipped.bin"))
        var screen = try startBrowser(["shipped.bin", "--seed", "7"])
        XCTAssertTrue(screen.contains("32×32 · gaussian z∈R⁶⁴ · dplase k=8"), screen)
        XCTAssertNotNil(Self.number(after: "learned", in: screen), "F is in the file: \(screen)")
        let image0 = try XCTUnwrap(Self.number(after: "image Δ", in: screen))
        for _ in 0..<3 { tmux.send("Right") }
        screen = try tmux.waitFor("step +3") { $0.contains("step +3 ×") }
        XCTAssertGreaterThan(try XCTUnwrap(Self.number(after: "image Δ", in: screen)), image0)
        tmux.send("m")
        tmux.send("m")
        _ = try tmux.waitFor("the density-corrected walk") { $0.contains("readouts · density-corrected") }
        for method in ["sefa", "pca", "random", "dplase"] {
            tmux.send("d")
            _ = try tmux.waitFor("the \(method) directions") { $0.contains("directions · \(method)") }
        }
        tmux.send("e")
        screen = try tmux.waitFor("the export") { $0.contains("wrote walk_dplase_0_density_1/") }
        let frame = try PNG.read(folder.file("walk_dplase_0_density_1/frame_008.png"))
        XCTAssertEqual(frame.width, 32)
        tmux.send("q")
        XCTAssertEqual(try tmux.waitForExit(), 0)
        XCTAssertTrue(Self.ttyRestored(tmux.statusLine), tmux.statusLine)
    }

    func testEscQuitsAtOnceAndResizeRedraws() throws {
        let checkpoint = try TinyCheckpoint.make(methods: [.sefa], k: 2)
        try checkpoint.save(to: folder.file("tiny.bin"))
        try startBrowser(["tiny.bin", "--seed", "1"])
        tmux.resize(cols: 60, rows: 20)
        _ = try tmux.waitFor("the too-small message") { $0.contains("terminal too small: need 80×24, have 60×20") }
        tmux.resize(cols: 100, rows: 30)
        let screen = try tmux.waitFor("the browser again") { $0.contains("step 0 ×") && !$0.contains("too small") }
        XCTAssertTrue(screen.contains("[0]"), "the filmstrip is back: \(screen)")
        tmux.send("Escape")
        XCTAssertEqual(try tmux.waitForExit(), 0)
        XCTAssertTrue(Self.ttyRestored(tmux.statusLine), tmux.statusLine)
    }

    func testCtrlCExits130WithTheTerminalRestored() throws {
        let checkpoint = try TinyCheckpoint.make(methods: [.sefa], k: 2)
        try checkpoint.save(to: folder.file("tiny.bin"))
        try startBrowser(["tiny.bin", "--seed", "1"])
        tmux.send("C-c")
        XCTAssertEqual(try tmux.waitForExit(), 130)
        XCTAssertTrue(Self.ttyRestored(tmux.statusLine), tmux.statusLine)
        XCTAssertEqual(tmux.display("#{alternate_on}"), "0", "back on the main screen")
    }

    func testNoColorIsMonochromeAndEightColourTerminalsGetThePlainPalette() throws {
        let checkpoint = try TinyCheckpoint.make(methods: [.sefa], k: 2)
        try checkpoint.save(to: folder.file("tiny.bin"))
        var screen = try startBrowser(["tiny.bin", "--seed", "1"], environment: ["NO_COLOR": "1"])
        var raw = tmux.capture(escapes: true)
        XCTAssertEqual(Self.colourParameters(in: raw), [], "NO_COLOR: no colour codes at all")
        XCTAssertTrue(screen.contains("░") || screen.contains("▒") || screen.contains("▓") || screen.contains("█"),
                      "images shaded by brightness")
        tmux.send("q")
        XCTAssertEqual(try tmux.waitForExit(), 0)
        tmux.killServer()

        screen = try startBrowser(["tiny.bin", "--seed", "1"], environment: ["TERM": "xterm"])
        raw = tmux.capture(escapes: true)
        let colours = Self.colourParameters(in: raw)
        XCTAssertFalse(colours.contains(38) || colours.contains(48), "8 colours only, no 256-colour or RGB codes")
        XCTAssertFalse(colours.isDisjoint(with: Set(40...47)), "basic background colours")
        XCTAssertTrue(screen.contains("▀"), "still two pixels per cell")
        tmux.send("q")
        XCTAssertEqual(try tmux.waitForExit(), 0)
    }

    func testACheckpointWithoutDirectionsExits2AndLeavesTheTerminalAlone() throws {
        let checkpoint = try TinyCheckpoint.make(methods: [])
        try checkpoint.save(to: folder.file("bare.bin"))
        try tmux.start(arguments: ["bare.bin"])
        XCTAssertEqual(try tmux.waitForExit(), 2)
        XCTAssertEqual(tmux.standardError, "error: bare.bin: directions: the checkpoint has no direction sets to walk; "
                       + "run `latent-tui discover bare.bin --method sefa` first\n")
        XCTAssertTrue(Self.ttyRestored(tmux.statusLine), tmux.statusLine)
    }

    func testStandardOutputThatIsNotATerminalExits2WithAHint() throws {
        let checkpoint = try TinyCheckpoint.make(methods: [.sefa], k: 2)
        try checkpoint.save(to: folder.file("tiny.bin"))
        let run = try runCommand([folder.file("tiny.bin")])
        XCTAssertEqual(run.status, 2)
        XCTAssertEqual(run.errors, "error: standard output is not a terminal: use `latent-tui export` to write frames\n")
        XCTAssertTrue(run.output.isEmpty, "no escape codes into the pipe")
    }

    /// calibrate → sample --drs → the browser's r through DRS; BEGAN-style critics refused.
    func testRejectionSamplingFromTheCommandLineAndTheBrowser() throws {
        let checkpoint = try TinyCheckpoint.make(methods: [.sefa], k: 2)
        var rng = RandomGenerator(seed: 4)
        checkpoint.critic = Network(spec: try Models.dcganCritic(imageSize: 16, width: 8), initializeWith: &rng)
        try checkpoint.save(to: folder.file("tiny.bin"))

        var run = try runCommand(["sample", "tiny.bin", "--n", "4", "--seed", "3", "--drs", "--out", "early"])
        XCTAssertEqual(run.status, 2)
        XCTAssertEqual(run.errors, "error: tiny.bin: critic_calibration: the critic is not calibrated; "
                           + "run `latent-tui calibrate tiny.bin --data shapes` first\n")

        run = try runCommand(["calibrate", "tiny.bin", "--n", "64", "--burn-in", "64", "--seed", "2"])
        XCTAssertEqual(run.status, 0, run.errors)
        XCTAssertTrue(run.output.contains("wrote critic_calibration to tiny.bin (previous kept as tiny.bin.bak)"), run.output)
        XCTAssertNotNil(try Checkpoint.load(path: folder.file("tiny.bin")).calibration)

        run = try runCommand(["sample", "tiny.bin", "--n", "4", "--seed", "3", "--drs", "--out", "drs"])
        XCTAssertEqual(run.status, 0, run.errors)
        XCTAssertTrue(run.output.contains("DRS: accepted 4 of"), run.output)
        let record = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder.file("drs/sample.json"))))
        let drs = try XCTUnwrap((record as? [String: Any])?["drs"] as? [String: Any])
        XCTAssertEqual(drs["accepted"] as? Int, 4)
        XCTAssertEqual(try NPY.read(path: folder.file("drs/z.npy")).shape, [4, TinyCheckpoint.latentDimension])

        // evaluate --drs: the figures without and with rejection, each condition of a clean shape in both.
        run = try runCommand(["evaluate", "tiny.bin", "--n", "8", "--seed", "2", "--drs"])
        XCTAssertEqual(run.status, 0, run.errors)
        XCTAssertTrue(run.output.contains("without   with DRS"), run.output)
        for condition in ShapeStatistics.CleanCondition.allCases {
            let name = "  " + condition.label + " "
            XCTAssertEqual(run.output.components(separatedBy: name).count - 1, 2, "\(condition) in the report and the comparison")
        }

        try startBrowser(["tiny.bin", "--seed", "5"])
        tmux.send("r")
        let screen = try tmux.waitFor("a DRS draw") { $0.contains("new z0: seed 6 · DRS") }
        XCTAssertTrue(screen.contains("of proposals accepted so far"), screen)
        tmux.send("q")
        XCTAssertEqual(try tmux.waitForExit(), 0)

        checkpoint.critic = Network(spec: try Models.beganAutoencoder(imageSize: 16, width: 8, hidden: 4), initializeWith: &rng)
        try checkpoint.save(to: folder.file("began.bin"))
        run = try runCommand(["calibrate", "began.bin"])
        XCTAssertEqual(run.status, 2)
        XCTAssertTrue(run.errors.contains("BEGAN's autoencoder critic has none"), run.errors)
        XCTAssertEqual(run.errors.split(separator: "\n").count, 1)
    }

    /// `sample --truncation ψ` writes the seed's latents scaled by ψ and records ψ;
    /// `evaluate --truncation` reports it; a ψ out of range, or with --z, is refused.
    func testSampleAndEvaluateWithTruncation() throws {
        try TinyCheckpoint.make(methods: [.sefa], k: 2).save(to: folder.file("tiny.bin"))
        var run = try runCommand(["sample", "tiny.bin", "--n", "4", "--seed", "3", "--out", "plain"])
        XCTAssertEqual(run.status, 0, run.errors)
        run = try runCommand(["sample", "tiny.bin", "--n", "4", "--seed", "3", "--truncation", "0.5", "--out", "half"])
        XCTAssertEqual(run.status, 0, run.errors)
        XCTAssertTrue(run.output.contains("(seed 3, truncation ψ 0.5)"), run.output)
        let plain = try NPY.read(path: folder.file("plain/z.npy")), half = try NPY.read(path: folder.file("half/z.npy"))
        XCTAssertEqual(half.storage, plain.storage.map { $0 * 0.5 })
        func record(_ name: String) throws -> [String: Any] {
            let data = try Data(contentsOf: URL(fileURLWithPath: folder.file(name + "/sample.json")))
            return try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        }
        XCTAssertEqual(try record("half")["truncation"] as? Double, 0.5)
        XCTAssertNil(try record("plain")["truncation"])

        run = try runCommand(["evaluate", "tiny.bin", "--n", "8", "--seed", "2", "--truncation", "0.5", "--json"])
        XCTAssertEqual(run.status, 0, run.errors)
        let report = try JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [String: Any]
        XCTAssertEqual(report?["truncation"] as? Double, 0.5)

        for bad in [["--n", "4", "--truncation", "0"], ["--n", "4", "--truncation", "2.5"], ["--z", "plain/z.npy", "--truncation", "0.5"]] {
            run = try runCommand(["sample", "tiny.bin", "--out", "refused"] + bad)
            XCTAssertEqual(run.status, 64, bad.joined(separator: " "))
            XCTAssertTrue(run.errors.contains("--truncation"), run.errors)
            XCTAssertFalse(FileManager.default.fileExists(atPath: folder.file("refused")))
        }
    }

    /// Ctrl-C (SIGINT) saves the checkpoint, the samples and the loss plot and exits 130, and
    /// `--resume` goes on from that step; a diverging loss exits 3 in one line and leaves the
    /// last good checkpoint as it was.
    func testTrainInterruptedAndDiverged() throws {
        let tiny = ["--image-size", "16", "--width", "8", "--latent-dim", "4", "--batch", "4", "--sample-every", "2"]
        let (stdoutPath, stderrPath) = (folder.file("train.out"), folder.file("train.err"))
        FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        FileManager.default.createFile(atPath: stderrPath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tmux.binary)
        process.arguments = ["train", "--objective", "wgan-gp", "--steps", "1000000", "--out", "run/t.bin"] + tiny
        process.currentDirectoryURL = URL(fileURLWithPath: folder.path)
        process.environment = ProcessInfo.processInfo.environment.merging(["OPENBLAS_NUM_THREADS": "1"]) { $1 }
        process.standardOutput = FileHandle(forWritingAtPath: stdoutPath)
        process.standardError = FileHandle(forWritingAtPath: stderrPath)
        try process.run()
        let started = Date()
        while !FileManager.default.fileExists(atPath: folder.file("run/samples/step_000004.png")) && process.isRunning
                && Date().timeIntervalSince(started) < 60 {
            usleep(20_000)
        }
        process.interrupt()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 130)
        let errors = try String(contentsOfFile: stderrPath, encoding: .utf8)
        let line = try XCTUnwrap(errors.split(separator: "\n").last.map(String.init))
        let prefix = "interrupted at step ", suffix = ": saved run/t.bin; continue with --resume"
        XCTAssertTrue(line.hasPrefix(prefix) && line.hasSuffix(suffix), errors)
        let step = try XCTUnwrap(Int(line.dropFirst(prefix.count).dropLast(suffix.count)), line)
        XCTAssertGreaterThanOrEqual(step, 4)
        XCTAssertNotNil(try Checkpoint.load(path: folder.file("run/t.bin")))
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder.file("run/losses.png")))
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder.file(String(format: "run/samples/step_%06d.png", step))))

        var run = try runCommand(["train", "--objective", "wgan-gp", "--resume", "--steps", "\(step + 2)", "--out", "run/t.bin"])
        XCTAssertEqual(run.status, 0, run.errors)
        XCTAssertTrue(run.output.contains("step \(step) of \(step + 2)"), run.output)
        let good = try Data(contentsOf: URL(fileURLWithPath: folder.file("run/t.bin")))

        // Adam moves every weight by about the learning rate per step: 1e8 blows the critic up at once.
        run = try runCommand(["train", "--objective", "wgan-gp", "--resume", "--lr", "1e8", "--steps", "\(step + 50)", "--out", "run/t.bin"])
        XCTAssertEqual(run.status, 3, run.output + run.errors)
        XCTAssertTrue(run.errors.hasPrefix("error: ") && run.errors.contains("the last good checkpoint is run/t.bin"), run.errors)
        XCTAssertEqual(run.errors.split(separator: "\n").count, 1, run.errors)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: folder.file("run/t.bin"))), good)
    }

    /// `train` from the command line: a bad flag is one line and leaves no folder behind;
    /// `--ema` saves the average in the checkpoint and the live weights in the state;
    /// `--resume` continues to the new total with the same settings.
    func testTrainFromTheCommandLineWithAMovingAverageAndResume() throws {
        let tiny = ["--image-size", "16", "--width", "8", "--latent-dim", "4", "--batch", "4", "--sample-every", "2"]
        var run = try runCommand(["train", "--objective", "wgan-gp", "--ema", "1.5", "--out", "bad/t.bin"] + tiny)
        XCTAssertEqual(run.status, 2)
        XCTAssertEqual(run.errors, "error: --ema: must be in [0, 1), e.g. 0.999\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.file("bad")), "nothing is written for a bad flag")

        run = try runCommand(["train", "--objective", "wgan-gp", "--steps", "3", "--ema", "0.9", "--out", "run/t.bin"] + tiny)
        XCTAssertEqual(run.status, 0, run.errors)
        let saved = try Checkpoint.load(path: folder.file("run/t.bin"))
        let state = try SafetensorsFile.read(path: folder.file("run/t.bin.state"))
        var differs = false
        for (name, average) in saved.generator.namedTensors {
            let live = try state.tensor("live_generator.\(name)")
            XCTAssertEqual(live.shape, average.shape, name)
            differs = differs || live.storage != average.storage
        }
        XCTAssertTrue(differs, "the checkpoint holds the average, not the live weights")
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder.file("run/samples/step_000002.png")))

        run = try runCommand(["train", "--objective", "wgan-gp", "--resume", "--steps", "5", "--out", "run/t.bin"])
        XCTAssertEqual(run.status, 0, run.errors)
        let record = try XCTUnwrap(try Checkpoint.load(path: folder.file("run/t.bin")).trainingRecord)
        XCTAssertTrue(record.contains("\"steps\":5"), record)
        XCTAssertTrue(record.contains("\"generatorAverage\":0.9"), record)
        // --resume keeps the saved settings: repeating them is fine, changing one is refused in one line.
        run = try runCommand(["train", "--objective", "wgan-gp", "--resume", "--width", "16", "--out", "run/t.bin"])
        XCTAssertEqual(run.status, 2)
        XCTAssertEqual(run.errors, "error: run/t.bin: --width: the run was saved with --width 8 and --resume keeps it: drop the flag, or start a new run with --force\n")
        run = try runCommand(["train", "--objective", "ns", "--resume", "--out", "run/t.bin"])
        XCTAssertEqual(run.status, 2)
        XCTAssertTrue(run.errors.contains("resume it with --objective wgan-gp"), run.errors)
        run = try runCommand(["train", "--objective", "wgan-gp", "--resume", "--out", "run/t.bin"] + tiny)
        XCTAssertEqual(run.status, 0, run.errors)
        XCTAssertTrue(run.output.contains("step 5 of 5"), "without --steps the saved total stays: \(run.output)")
        run = try runCommand(["train", "--objective", "wgan-gp", "--resume", "--lr", "0.00005", "--steps", "6", "--out", "run/t.bin"])
        XCTAssertEqual(run.status, 0, run.errors)
        XCTAssertTrue(run.output.contains("learning rate 0.0001 → 5e-05 from here on"), run.output)
        XCTAssertEqual(try Trainer.savedConfig(at: folder.file("run/t.bin")).learningRateCritic, 5e-5)

        // A new run from that generator against a wider, warmed-up critic; a generator of another width is refused.
        run = try runCommand(["train", "--objective", "wgan-gp", "--init-generator", "run/t.bin", "--out", "bad/w.bin"]
                             + tiny.map { $0 == "8" ? "16" : $0 })
        XCTAssertEqual(run.status, 2)
        XCTAssertTrue(run.errors.contains("--init-generator") && run.errors.contains("--width"), run.errors)
        XCTAssertEqual(run.errors.split(separator: "\n").count, 1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.file("bad")))
        run = try runCommand(["train", "--objective", "wgan-gp", "--steps", "2", "--init-generator", "run/t.bin",
                              "--critic-width", "16", "--critic-warmup", "3", "--out", "wide/t.bin"] + tiny)
        XCTAssertEqual(run.status, 0, run.errors)
        let wide = try Checkpoint.load(path: folder.file("wide/t.bin"))
        XCTAssertEqual(wide.critic?.spec.layers.count, saved.critic?.spec.layers.count)
        XCTAssertNotEqual(wide.critic?.spec, saved.critic?.spec)
        let wideRecord = try XCTUnwrap(wide.trainingRecord)
        XCTAssertTrue(wideRecord.contains("\"initGeneratorSteps\":6") && wideRecord.contains("\"criticWarmup\":3"), wideRecord)
    }

    /// `train --began-hidden h` sets the autoencoder's code size, and `--resume` keeps it.
    func testTrainBEGANWithAChosenCodeSize() throws {
        let tiny = ["--image-size", "16", "--width", "8", "--latent-dim", "4", "--batch", "4", "--sample-every", "2"]
        var run = try runCommand(["train", "--objective", "began", "--began-hidden", "0", "--out", "bad/b.bin"] + tiny)
        XCTAssertEqual(run.status, 2)
        XCTAssertEqual(run.errors, "error: --began-hidden: must be positive\n")
        run = try runCommand(["train", "--objective", "began", "--began-hidden", "3", "--steps", "2", "--out", "run/b.bin"] + tiny)
        XCTAssertEqual(run.status, 0, run.errors)
        let layers = try XCTUnwrap(Checkpoint.load(path: folder.file("run/b.bin")).critic?.spec.layers)
        let codes = layers.compactMap { layer -> Int? in
            if case .linear(_, let out, _) = layer { return out } else { return nil }
        }
        XCTAssertEqual(codes.first, 3, "the encoder's last linear layer ends in the code: \(layers)")
        run = try runCommand(["train", "--objective", "began", "--resume", "--began-hidden", "5", "--out", "run/b.bin"])
        XCTAssertEqual(run.status, 2)
        XCTAssertTrue(run.errors.contains("saved with --began-hidden 3"), run.errors)
    }

    // MARK: helpers

    /// Starts the browser and waits until the first frame's readouts are drawn.
    @discardableResult
    func startBrowser(_ arguments: [String], environment: [String: String] = [:]) throws -> String {
        try tmux.start(arguments: arguments, environment: environment)
        return try tmux.waitFor("the first frame") { Self.number(after: "feature Δ", in: $0) != nil }
    }

    /// Runs the binary in the test folder without a terminal.
    func runCommand(_ arguments: [String]) throws -> (status: Int32, output: String, errors: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tmux.binary)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: folder.path)
        process.environment = ProcessInfo.processInfo.environment.merging(["OPENBLAS_NUM_THREADS": "1"]) { $1 }
        let (stdout, stderr) = (Pipe(), Pipe())
        (process.standardOutput, process.standardError) = (stdout, stderr)
        try process.run()
        // stdout first, then stderr: the commands used here write far less than a pipe holds to stderr.
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        let errors = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self), String(decoding: errors, as: UTF8.self))
    }

    /// `latent-tui` in the products folder that holds this test binary.
    static var binary: String? {
        var candidates: [String] = []
        if let path = ProcessInfo.processInfo.environment["LATENT_TUI_BINARY"] { candidates.append(path) }
        // Linux: the test runner is `<products>/latent-tuiPackageTests.xctest`
        // itself; macOS: a bundle in <products> run by xctest.
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append(((exe as NSString).deletingLastPathComponent as NSString).appendingPathComponent("latent-tui"))
        }
        let bundle = Bundle(for: EndToEndTests.self).bundleURL.deletingLastPathComponent()
        candidates.append(bundle.appendingPathComponent("latent-tui").path)
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static func executable(named name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// The first number after `label` on the screen ("−" read as minus).
    static func number(after label: String, in screen: String) -> Double? {
        guard let range = screen.range(of: label) else { return nil }
        let rest = screen[range.upperBound...].drop { $0 == " " }
        let token = rest.prefix { "0123456789.−-+".contains($0) }.replacingOccurrences(of: "−", with: "-")
        return Double(token)
    }

    /// The colour parameters of the SGR sequences in `raw` (30–38, 40–48,
    /// 90–97, 100–107; 39 and 49, "default colour", do not count).
    static func colourParameters(in raw: String) -> Set<Int> {
        var found = Set<Int>()
        var rest = raw[...]
        while let start = rest.range(of: "\u{1B}[") {
            let tail = rest[start.upperBound...]
            guard let end = tail.firstIndex(where: { !"0123456789;".contains($0) }) else { break }
            if tail[end] == "m" {
                for p in tail[..<end].split(separator: ";").compactMap({ Int($0) }) where
                    (30...38).contains(p) || (40...48).contains(p) || (90...97).contains(p) || (100...107).contains(p) {
                    found.insert(p)
                }
            }
            rest = tail[end...]
        }
        return found
    }

    static func match(_ pattern: String, in text: String) -> String? {
        guard let regex = try? NSRegularExpression(pattern: pattern),
              let m = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)),
              m.numberOfRanges > 1, let r = Range(m.range(at: 1), in: text) else { return nil }
        return String(text[r])
    }

    /// The `stty` flags the wrapper recorded after the binary exited: the
    /// line discipline is back in cooked mode with echo and signals.
    static func ttyRestored(_ statusLine: String) -> Bool {
        let flags = Set(statusLine.split(whereSeparator: \.isWhitespace).map(String.init))
        return flags.contains("icanon") && flags.contains("echo") && flags.contains("isig")
    }
}

/// A private tmux server (its own socket) running one session.
final class Tmux {
    let executable: String
    let binary: String
    let folder: TemporaryFolder
    let socket = "latent-e2e-\(getpid())-\(UUID().uuidString.prefix(8))"
    let session = "browse"

    init(executable: String, binary: String, folder: TemporaryFolder) {
        (self.executable, self.binary, self.folder) = (executable, binary, folder)
    }

    /// Runs the binary in a 120×40 session through a wrapper that, after it
    /// exits, writes its status and the terminal's line-discipline flags to
    /// `status.txt` (and the pane, which stays: remain-on-exit). Files, not
    /// the screen, carry what is read after the exit: tmux may drop or
    /// shift a dead pane's last lines. The binary's stderr goes to
    /// `stderr.txt`.
    func start(arguments: [String], environment: [String: String] = [:]) throws {
        func quote(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        let settings = ["TERM": "xterm-256color", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"]
            .merging(environment) { $1 }.sorted { $0.key < $1.key }.map { "\($0.key)=\(quote($0.value))" }
        let script = """
            cd \(quote(folder.path)) || exit 99
            unset NO_COLOR COLORTERM TMUX
            # Survive the Ctrl-C meant for the binary (a handler, not an
            # ignore: the binary starts with the default disposition).
            trap ':' INT
            \(settings.joined(separator: " ")) \(([binary] + arguments).map(quote).joined(separator: " ")) 2>stderr.txt
            status=$?
            line="exit=$status tty: $(stty -a | tr ' ;' '\\n\\n' | grep -E '^-?(icanon|echo|isig)$' | tr '\\n' ' ')"
            echo "$line" > status.txt
            echo "$line"
            exit $status
            """
        try script.write(toFile: folder.file("run.sh"), atomically: true, encoding: .utf8)
        try "set -g remain-on-exit on\nset -g status off\n".write(toFile: folder.file("tmux.conf"), atomically: true,
                                                                    encoding: .utf8)
        let status = run(["-f", folder.file("tmux.conf"), "new-session", "-d", "-s", session, "-x", "120", "-y", "40",
                          "sh " + folder.file("run.sh")])
        guard status == 0 else { throw TmuxError(message: "tmux new-session failed (\(status))") }
    }

    func send(_ key: String) {
        // Single characters go literally (-l), names (Right, Escape) as keys.
        _ = run(key.count == 1 ? ["send-keys", "-t", session, "-l", key] : ["send-keys", "-t", session, key])
    }

    func resize(cols: Int, rows: Int) {
        _ = run(["resize-window", "-t", session, "-x", String(cols), "-y", String(rows)])
    }

    /// The pane's text (`escapes`: with SGR colour codes).
    func capture(escapes: Bool = false) -> String {
        var output = ""
        // -J joins lines the terminal wrapped (long error messages).
        _ = run(["capture-pane", "-p", "-J", "-t", session] + (escapes ? ["-e"] : []), output: &output)
        return output
    }

    func display(_ format: String) -> String {
        var output = ""
        _ = run(["display-message", "-p", "-t", session, format], output: &output)
        return output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Polls the screen until `condition` holds on a settled screen (two
    /// captures 60 ms apart agree: tmux may show a frame half written);
    /// throws with the last screen after `timeout` seconds.
    func waitFor(_ what: String, timeout: Double = 15, _ condition: (String) -> Bool) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        var screen = ""
        repeat {
            screen = capture()
            if condition(screen) {
                usleep(60_000)
                let again = capture()
                if again == screen { return screen }
                continue
            }
            if display("#{pane_dead}") == "1" { break }
            usleep(50_000)
        } while Date() < deadline
        throw TmuxError(message: "timed out waiting for \(what); screen:\n\(screen)\nstderr: \(standardError)")
    }

    /// Waits for the wrapper to exit and returns the binary's exit status
    /// as the wrapper recorded it (`exit=N`); tmux 3.3's `pane_dead_status`
    /// is often empty, and when it is not it must agree.
    func waitForExit(timeout: Double = 15) throws -> Int {
        let deadline = Date().addingTimeInterval(timeout)
        while display("#{pane_dead}") != "1" {
            guard Date() < deadline else {
                throw TmuxError(message: "timed out waiting for the process to exit; screen:\n\(capture())")
            }
            usleep(50_000)
        }
        guard let printed = EndToEndTests.match(#"exit=([0-9]+)"#, in: statusLine).flatMap({ Int($0) }) else {
            throw TmuxError(message: "the wrapper recorded no exit status; screen:\n\(capture())")
        }
        if let reported = Int(display("#{pane_dead_status}")), reported != printed {
            throw TmuxError(message: "tmux reports exit status \(reported), the wrapper \(printed)")
        }
        return printed
    }

    func killServer() { _ = run(["kill-server"]) }

    /// The wrapper's `exit=N tty: flags` line ("" before the exit).
    var statusLine: String { (try? String(contentsOfFile: folder.file("status.txt"), encoding: .utf8)) ?? "" }

    /// What the binary wrote to standard error.
    var standardError: String { (try? String(contentsOfFile: folder.file("stderr.txt"), encoding: .utf8)) ?? "" }

    /// Runs a tmux command without reading its output.
    @discardableResult
    private func run(_ arguments: [String]) -> Int32 {
        var ignored = ""
        return spawn(["-L", socket] + arguments, capture: false, output: &ignored)
    }

    /// Runs a tmux command against the running server and reads its output.
    private func run(_ arguments: [String], output: inout String) -> Int32 {
        spawn(["-L", socket] + arguments, capture: true, output: &output)
    }

    /// posix_spawn + waitpid rather than Foundation's `Process`: the first
    /// command forks the tmux server, which keeps the descriptors it
    /// inherited, and `Process` on Linux learns of an exit from a socket
    /// the child holds, so it would wait for the server to end. Here the
    /// child gets /dev/null or a pipe only, and waitpid reaps the client.
    private func spawn(_ arguments: [String], capture: Bool, output: inout String) -> Int32 {
        var pipeEnds: [Int32] = [-1, -1]
        if capture && pipe(&pipeEnds) != 0 { return -1 }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if capture {
            posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 1)
            posix_spawn_file_actions_addclose(&actions, pipeEnds[0])
            posix_spawn_file_actions_addclose(&actions, pipeEnds[1])
        } else {
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        }
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        var environment = ProcessInfo.processInfo.environment
        environment["TMUX"] = nil
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, envp)
        if capture { close(pipeEnds[1]) }
        guard spawned == 0 else {
            if capture { close(pipeEnds[0]) }
            return -1
        }
        if capture {
            var bytes: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = read(pipeEnds[0], &buffer, buffer.count)
                if n > 0 { bytes += buffer[0..<n] } else if n < 0 && errno == EINTR { continue } else { break }
            }
            close(pipeEnds[0])
            output = String(decoding: bytes, as: UTF8.self)
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        // WIFEXITED / WEXITSTATUS (macros Swift does not import).
        return status & 0x7F == 0 ? (status >> 8) & 0xFF : -1
    }
}

struct TmuxError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
