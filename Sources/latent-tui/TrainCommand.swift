import ArgumentParser
import Foundation
import GAN
import Imaging
import NN
import Tensors

/// Set from the SIGINT/SIGTERM handler; the training loop saves and exits 130.
nonisolated(unsafe) var stopRequested: sig_atomic_t = 0

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a generator (WGAN, WGAN-GP, BEGAN, SAN, non-saturating; optional path length regularization).",
        discussion: """
        Writes CKPT, CKPT.state (for --resume), metrics.jsonl, samples/step_NNNNNN.png and losses.png \
        beside CKPT. Ctrl-C saves and exits with code 130; a diverging loss stops with code 3, keeping \
        the last good checkpoint.
        """)

    @Option(help: "wgan, wgan-gp, began, san or ns.")
    var objective: String

    @Option(help: "shapes (procedural) or a folder of PNG files (default: shapes).")
    var data: String?

    @Option(help: "Image size (4·2^k, e.g. 32 or 64; default: 32).")
    var imageSize: Int?

    @Option(help: "Width of the 4×4 stage; halves each stage (default: 128 → 128-64-32 at 32 px).")
    var width: Int?

    @Option(help: "Width of the critic's 4×4 stage (BEGAN: the autoencoder's) (default: --width).")
    var criticWidth: Int?

    @Option(help: "Latent dimension (default: 64).")
    var latentDim: Int?

    @Option(help: "Generator steps in total (default: 10000; with --resume: the new total, else the saved one).")
    var steps: Int?

    @Option(help: "Batch size (default: the objective's).")
    var batch: Int?

    @Option(help: "Seed of initialisation, data and latents (default: 1).")
    var seed: UInt64?

    @Option(help: "Path length regularization weight (default: 0 = off).")
    var plr: Float?

    @Option(help: "Mapping network depth z → w in front of the generator (default: 0).")
    var mapping: Int?

    @Option(help: "Generator normalisation: batch (DCGAN) or none (BEGAN's decoder style, ELU).")
    var generatorNorm: String?

    @Option(help: "Critic steps per generator step (default: the objective's).")
    var nCritic: Int?

    @Option(help: "Learning rate of both networks (default: the objective's; with --resume: from the current step).")
    var lr: Float?

    @Option(help: "WGAN-GP λ.")
    var gpLambda: Float?

    @Option(help: "SAN R1 weight λ.")
    var r1: Float?

    @Option(help: "WGAN clipping c.")
    var clip: Float?

    @Option(help: "BEGAN diversity ratio γ.")
    var gamma: Float?

    @Option(name: .customLong("lambda-k"), help: "BEGAN learning rate of k_t.")
    var lambdaK: Float?

    @Option(help: ArgumentHelp("BEGAN autoencoder code size h (default: 64).",
                               discussion: "A code much smaller than the image keeps the autoencoder from reconstructing every image."))
    var beganHidden: Int?

    @Option(help: ArgumentHelp("Save a moving average of the generator with this decay, e.g. 0.999 (0 = the live weights).",
                               discussion: "With --resume it switches the average on, or changes its decay, from the current step."))
    var ema: Float?

    @Option(help: "Dropout after each critic stage (default: 0).")
    var dropout: Float?

    @Option(help: "Prior (default: gaussian; uniform for began).")
    var prior: String?

    @Option(help: ArgumentHelp("Start the generator from this checkpoint's generator instead of a random init.",
                               discussion: "Its architecture must be the one the other flags build; the critic starts fresh."))
    var initGenerator: String?

    @Option(help: "Critic updates before the first generator update (e.g. for a fresh critic with --init-generator).")
    var criticWarmup: Int?

    @Option(help: "Write a sample grid every N steps (default: 500).")
    var sampleEvery: Int?

    @Option(help: "Save the checkpoint every N steps (default: 500).")
    var checkpointEvery: Int?

    @Option(help: "Stop (and save) after this many minutes; continue later with --resume.")
    var minutes: Double?

    @Flag(help: "Continue the run in --out from its .state file.")
    var resume = false

    @Flag(help: "Start over even if --out exists.")
    var force = false

    @Option(help: "Checkpoint to write.")
    var out: String

    @OptionGroup var threads: ThreadOptions

    func makeConfig() throws -> TrainingConfig {
        guard let objective = Objective(rawValue: self.objective) else {
            throw ValidationError("unknown objective \"\(self.objective)\" (wgan, wgan-gp, began, san, ns)")
        }
        var config = TrainingConfig(objective: objective)
        if let data { config.data = data }
        if let imageSize { config.imageSize = imageSize }
        if let width { config.width = width }
        config.criticWidth = criticWidth
        if let latentDim { config.latentDimension = latentDim }
        if let steps { config.steps = steps }
        if let batch { config.batch = batch }
        if let seed { config.seed = seed }
        if let plr { config.pathLengthWeight = plr }
        if let mapping { config.mappingDepth = mapping }
        config.generatorNorm = generatorNorm
        if let nCritic { config.criticSteps = nCritic }
        if let lr { (config.learningRateCritic, config.learningRateGenerator) = (lr, lr) }
        if let gpLambda { config.gradientPenalty = gpLambda }
        if let r1 { config.r1 = r1 }
        if let clip { config.clip = clip }
        if let gamma { config.beganGamma = gamma }
        if let lambdaK { config.beganLambdaK = lambdaK }
        if let beganHidden { config.beganHidden = beganHidden }
        if let prior { config.prior = prior }
        if let dropout { config.dropout = dropout }
        config.generatorAverage = ema
        config.initGenerator = initGenerator
        config.criticWarmup = criticWarmup
        if let sampleEvery { config.sampleEvery = sampleEvery }
        if let checkpointEvery { config.checkpointEvery = checkpointEvery }
        try config.validate()
        return config
    }

    /// A resumed run keeps its saved settings: a flag that would change one is refused rather
    /// than silently ignored (repeating a saved value is fine). The total, the average, the
    /// learning rate and the output cadence may change.
    func checkResumeFlags(against saved: TrainingConfig) throws {
        func text<T>(_ value: T?) -> String? { value.map { "\($0)" } }
        let settings: [(flag: String, given: String?, saved: String)] = [
            ("--objective", objective, saved.objective),
            ("--data", data, saved.data),
            ("--image-size", text(imageSize), "\(saved.imageSize)"),
            ("--width", text(width), "\(saved.width)"),
            ("--critic-width", text(criticWidth), "\(saved.criticWidthValue)"),
            ("--latent-dim", text(latentDim), "\(saved.latentDimension)"),
            ("--batch", text(batch), "\(saved.batch)"),
            ("--seed", text(seed), "\(saved.seed)"),
            ("--plr", text(plr), "\(saved.pathLengthWeight)"),
            ("--mapping", text(mapping), "\(saved.mappingDepth)"),
            ("--generator-norm", generatorNorm, saved.generatorNorm ?? "batch"),
            ("--n-critic", text(nCritic), "\(saved.criticSteps)"),
            ("--gp-lambda", text(gpLambda), "\(saved.gradientPenalty)"),
            ("--r1", text(r1), "\(saved.r1)"),
            ("--clip", text(clip), "\(saved.clip)"),
            ("--gamma", text(gamma), "\(saved.beganGamma)"),
            ("--lambda-k", text(lambdaK), "\(saved.beganLambdaK)"),
            ("--began-hidden", text(beganHidden), "\(saved.beganHidden)"),
            ("--dropout", text(dropout), "\(saved.dropout)"),
            ("--prior", prior, saved.prior),
            ("--init-generator", initGenerator, saved.initGenerator ?? "(none)"),
            ("--critic-warmup", text(criticWarmup), "\(saved.criticWarmup ?? 0)"),
        ]
        if let changed = settings.first(where: { $0.given != nil && $0.given != $0.saved }) {
            if changed.flag == "--objective" {
                throw InputError(.badArgument, file: out, key: changed.flag,
                                 "the run was saved as \(changed.saved): resume it with --objective \(changed.saved)")
            }
            throw InputError(.badArgument, file: out, key: changed.flag,
                             "the run was saved with \(changed.flag) \(changed.saved) and --resume keeps it: drop the flag, or start a new run with --force")
        }
    }

    func run() throws {
        try reportingErrors {
            threads.apply()
            // The folder is made by `train` (with samples/), once the flags and data have been checked.
            let folder = (out as NSString).deletingLastPathComponent
            let trainer: Trainer
            let exists = FileManager.default.fileExists(atPath: out)
            if resume {
                guard exists else { throw InputError(.unreadable, file: out, "does not exist: drop --resume to start a new run") }
                let saved = try Trainer.savedConfig(at: out)
                try checkResumeFlags(against: saved)
                if let lr, lr != saved.learningRateGenerator {
                    print("learning rate \(saved.learningRateGenerator) → \(lr) from here on")
                }
                let dataset = try openDataset(saved.data, imageSize: saved.imageSize, seed: saved.seed)
                trainer = try Trainer.resume(from: out, steps: steps, generatorAverage: ema, learningRate: lr, sampleEvery: sampleEvery,
                                             checkpointEvery: checkpointEvery, realBatches: dataset.batch)
            } else {
                if exists && !force {
                    throw InputError(.badArgument, file: out, "already exists: add --resume to continue it or --force to start over")
                }
                let config = try makeConfig()
                let dataset = try openDataset(config.data, imageSize: config.imageSize, seed: config.seed)
                trainer = try Trainer(config: config, realBatches: dataset.batch)
            }
            try train(trainer, folder: folder.isEmpty ? "." : folder)
        }
    }

    func train(_ trainer: Trainer, folder: String) throws {
        let config = trainer.config
        let samples = (folder as NSString).appendingPathComponent("samples")
        try FileManager.default.createDirectory(atPath: samples, withIntermediateDirectories: true)
        let metricsPath = (folder as NSString).appendingPathComponent("metrics.jsonl")
        // A file that cannot be created shows in the open just below, with the path.
        if !FileManager.default.fileExists(atPath: metricsPath) { _ = FileManager.default.createFile(atPath: metricsPath, contents: nil) }
        guard let metricsFile = FileHandle(forWritingAtPath: metricsPath) else {
            throw InputError(.unreadable, file: metricsPath, "cannot be opened for writing")
        }
        defer { try? metricsFile.close() }
        metricsFile.seekToEndOfFile()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]

        signal(SIGINT) { _ in stopRequested = 1 }
        signal(SIGTERM) { _ in stopRequested = 1 }
        let deadline = minutes.map { Date().addingTimeInterval($0 * 60) }
        let progress = ProgressLine(total: config.steps, label: "train \(config.objective)", initial: trainer.step)
        print("training \(config.objective) on \(config.data) at \(config.imageSize) px, step \(trainer.step) of \(config.steps), seed \(config.seed) → \(out)")

        func writeLossPlot() throws {
            let metrics = try TrainingLog.read(metricsPath)
            guard !metrics.isEmpty else { return }
            let path = (folder as NSString).appendingPathComponent("losses.png")
            try PNG.write(TrainingLog.plot(metrics, title: "\(config.objective) · \((out as NSString).lastPathComponent)"), to: path)
        }

        func writeSamples() throws {
            let images = rgbImages(from: trainer.fixedSamples(), valueRange: (-1, 1))
            let name = String(format: "step_%06d.png", trainer.step)
            try PNG.write(grid(images, columns: 8), to: (samples as NSString).appendingPathComponent(name),
                          metadata: [("latent-tui", "objective=\(config.objective) step=\(trainer.step) seed=\(config.seed)")])
        }

        while trainer.step < config.steps {
            let metrics: StepMetrics
            do {
                metrics = try trainer.trainStep()
            } catch let error as TrainingDiverged {
                throw DivergedError(description: "\(error.description); the last good checkpoint is \(out) — lower --lr or check the data")
            }
            metricsFile.write(try encoder.encode(metrics) + Data("\n".utf8))
            progress.update(trainer.step, metrics.summary)
            if trainer.step % config.sampleEvery == 0 { try writeSamples() }
            if trainer.step % config.checkpointEvery == 0 { try trainer.save(to: out) }
            if stopRequested != 0 {
                try trainer.save(to: out)
                // The run so far, as a finished run leaves it; the checkpoint above is what matters.
                try? writeSamples()
                try? writeLossPlot()
                throw InterruptedError(description: "interrupted at step \(trainer.step): saved \(out); continue with --resume")
            }
            if let deadline, Date() >= deadline {
                try trainer.save(to: out)
                try writeSamples()
                try writeLossPlot()
                print("\nstopped after \(minutes ?? 0) minutes at step \(trainer.step): saved \(out); continue with --resume")
                return
            }
        }
        try trainer.save(to: out)
        try writeSamples()
        try writeLossPlot()
        print("done: \(trainer.step) steps in \(ProgressLine.duration(trainer.trainingSeconds)) of training; saved \(out)")
    }
}
