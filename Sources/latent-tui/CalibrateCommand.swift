import ArgumentParser
import Foundation
import GAN
import NN
import Tensors

/// `latent-tui calibrate CKPT --data shapes|DIR`: the logistic head and
/// burn-in maximum that rejection sampling (`--drs`, the browser's `r`) needs.
struct CalibrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Calibrate the saved critic for rejection sampling (generator frozen).",
        discussion: """
        Fits a·D(x) + b with the logistic loss on N dataset and N generated images, then takes \
        the maximum calibrated logit over a burn-in of generated samples, and stores both as \
        critic_calibration (CKPT is rewritten, the previous version kept as CKPT.bak; or --out). \
        Critics without a single logit output (BEGAN's autoencoder) cannot be calibrated.
        """)

    @Argument(help: "Checkpoint (safetensors) file with a critic.")
    var checkpoint: String

    @Option(help: "shapes, or a folder of PNG files.")
    var data: String = "shapes"

    @Option(help: "Dataset images, and as many generated ones, for the logistic fit.")
    var n: Int = 2048

    @Option(help: "Generated samples over which the maximum logit is taken.")
    var burnIn: Int = 4096

    @Option(help: "Seed of the latent and dataset draws.")
    var seed: UInt64 = 1

    @OptionGroup var target: UpdateTarget

    @OptionGroup var threads: ThreadOptions

    func validate() throws {
        if n < 2 { throw ValidationError("--n must be at least 2") }
        if burnIn < 1 { throw ValidationError("--burn-in must be at least 1") }
    }

    func run() throws {
        try reportingErrors {
            threads.apply()
            let ckpt = try Checkpoint.load(path: checkpoint)
            try target.checkWritable(updating: checkpoint)
            _ = try logitCritic(of: ckpt, file: checkpoint)
            let (_, size) = try generatorImageShape(ckpt.generator.spec, file: checkpoint)
            let dataset = try openDataset(data, imageSize: size, seed: seed, valueRange: ckpt.valueRange)
            let report = try calibrateCritic(ckpt, dataset: dataset, count: n, burnIn: burnIn, seed: seed, file: checkpoint)
            var calibration = report.calibration
            calibration.record = ["seed": Double(seed), "n": Double(report.realCount), "burn_in": Double(burnIn),
                                  "accuracy": Double(report.accuracy), "log_loss": Double(report.logLoss)]
            ckpt.calibration = calibration
            let written = try target.save(ckpt, updating: checkpoint)
            print(report.text)
            print("wrote critic_calibration to \(written)")
        }
    }
}

/// `--out NEW [--force]` of the commands that otherwise rewrite CKPT in place (keeping `CKPT.bak`).
struct UpdateTarget: ParsableArguments {
    @Option(help: "Write the result here instead of updating CKPT.")
    var out: String?

    @Flag(help: "Replace an existing --out file.")
    var force = false

    func checkWritable(updating checkpoint: String) throws {
        if let out, out != checkpoint, !force, FileManager.default.fileExists(atPath: out) {
            throw InputError(.badArgument, file: out, key: "--out", "already exists; choose another file or add --force")
        }
    }

    /// Saves and says where: "NEW", or "CKPT (previous kept as CKPT.bak)".
    func save(_ ckpt: Checkpoint, updating checkpoint: String) throws -> String {
        try ckpt.save(to: out ?? checkpoint, keepBackup: out == nil)
        return out ?? "\(checkpoint) (previous kept as \(checkpoint).bak)"
    }
}

/// `--drs` and its settings, shared by `sample` and `evaluate`.
struct RejectionOptions: ParsableArguments {
    @Flag(help: "Draw samples through discriminator rejection sampling (needs `latent-tui calibrate`).")
    var drs = false

    @Option(help: "DRS: γ as this percentile of F over a burn-in (higher keeps fewer samples).")
    var drsPercentile: Double = 80

    @Option(help: "DRS: γ itself (overrides --drs-percentile).")
    var drsGamma: Double?

    @Option(help: "DRS: ε of the acceptance rule.")
    var drsEpsilon: Double = 1e-6

    func validate() throws {
        if !(0...100).contains(drsPercentile) { throw ValidationError("--drs-percentile must be in [0, 100]") }
        if !(drsEpsilon > 0) || !drsEpsilon.isFinite { throw ValidationError("--drs-epsilon must be positive") }
    }

    func sampler(_ ckpt: Checkpoint, seed: UInt64, truncation: Float = 1, file: String) throws -> RejectionSampler {
        try RejectionSampler(checkpoint: ckpt, percentile: drsPercentile, gamma: drsGamma, epsilon: drsEpsilon,
                             truncation: truncation, seed: seed, file: file)
    }
}

/// `--truncation ψ` (sample, evaluate): each latent draw scaled by ψ towards the prior's centre.
struct TruncationOptions: ParsableArguments {
    @Option(help: "Truncation ψ: scale each latent draw towards the prior's centre (0.05 to 2; 1 is the prior itself, below 1 gives more typical, less varied samples).")
    var truncation: Float = 1

    func validate() throws {
        do { try checkTruncation(truncation) } catch let error as InputError { throw ValidationError(error.description) }
    }
}
