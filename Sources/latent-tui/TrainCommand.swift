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

    @Option(help: "shapes (procedural) or a folder of PNG files.")
    var data = "shapes"

    @Option(help: "Image size (4·2^k, e.g. 32 or 64).")
    var imageSize = 32

    @Option(help: "Width of the 4×4 stage; halves each stage (128 → 128-64-32 at 32 px).")
    var width = 128

    @Option(help: "Width of the critic's 4×4 stage (BEGAN: the autoencoder's) (default: --width).")
    var criticWidth: Int?

    @Option(help: "Latent dimension.")
    var latentDim = 64

    @Option(help: "Generator steps in total (with --resume: the new total).")
    var steps = 10_000

    @Option(help: "Batch size (default: the objective's).")
    var batch: Int?

    @Option(help: "Seed of initialisation, data and latents.")
    var seed: UInt64 = 1

    @Option(help: "Path length regularization weight (0 = off).")
    var plr: Float = 0

    @Option(help: "Mapping network depth z → w in front of the generator.")
    var mapping = 0

    @Option(help: "Generator normalisation: batch (DCGAN) or none (BEGAN's decoder style, ELU).")
    var generatorNorm: String?

    @Option(help: "Critic steps per generator step (default: the objective's).")
    var nCritic: Int?

    @Option(help: "Learning rate of both networks (default: the objective's).")
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

    @Option(help: ArgumentHelp("Save a moving average of the generator with this decay, e.g. 0.999 (0 = the live weights).",
                               discussion: "With --resume it switches the average on, or changes its decay, from the current step."))
    var ema: Float?

    @Option(help: "Dropout after each critic stage.")
    var dropout: Float = 0

    @Option(help: "Prior (default: gaussian; uniform for began).")
    var prior: String?

    @Option(help: ArgumentHelp("Start the generator from this checkpoint's generator instead of a random init.",
                               discussion: "Its architecture must be the one the other flags build; the critic starts fresh."))
    var initGenerator: String?

    @Option(help: "Critic updates before the first generator update (e.g. for a fresh critic with --init-generator).")
    var criticWarmup = 0

    @Option(help: "Write a sample grid every N steps.")
    var sampleEvery = 500

    @Option(help: "Save the checkpoint every N steps.")
    var checkpointEvery = 500

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
        config.data = data
        config.imageSize = imageSize
        config.width = width
        config.criticWidth = criticWidth
        config.latentDimension = latentDim
        config.steps = steps
        if let batch { config.batch = batch }
        config.seed = seed
        config.pathLengthWeight = plr
        config.mappingDepth = mapping
        config.generatorNorm = generatorNorm
        if let nCritic { config.criticSteps = nCritic }
        if let lr { (config.learningRateCritic, config.learningRateGenerator) = (lr, lr) }
        if let gpLambda { config.gradientPenalty = gpLambda }
        if let r1 { config.r1 = r1 }
        if let clip { config.clip = clip }
        if let gamma { config.beganGamma = gamma }
        if let lambdaK { config.beganLambdaK = lambdaK }
        if let prior { config.prior = prior }
        config.dropout = dropout
        config.generatorAverage = ema
        config.initGenerator = initGenerator
        config.criticWarmup = criticWarmup == 0 ? nil : criticWarmup
        config.sampleEvery = sampleEvery
        config.checkpointEvery = checkpointEvery
        try config.validate()
        return config
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
                let dataset = try openDataset(saved.data, imageSize: saved.imageSize, seed: saved.seed)
                trainer = try Trainer.resume(from: out, steps: steps, generatorAverage: ema, realBatches: dataset.batch)
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
        if !FileManager.default.fileExists(atPath: metricsPath) { FileManager.default.createFile(atPath: metricsPath, contents: nil) }
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
