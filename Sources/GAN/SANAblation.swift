import Foundation
import Imaging
import NN
import Tensors

// Seed 004's SAN ablation, one factor at a time, on `shapes`: the R1 weight
// λ at batch 128, the batch size at λ = 1, dropout at λ = 1 and batch 64.
// Every run sees the same number of training images, so a larger batch
// means fewer steps, as in the seed.

/// One run of the ablation.
public struct AblationRun: Codable, Equatable, Sendable {
    public var name: String
    /// Which factor this run varies ("lambda", "batch", "dropout").
    public var factor: String
    public var r1: Float
    public var batch: Int
    public var dropout: Float
    /// Seed 004's final FID for the same setting (nil where it reports none).
    public var seedFID: Double?
}

/// The plan and its shared settings.
public struct SANAblation: Sendable {
    public var images: Int
    public var width: Int
    public var imageSize: Int
    public var latentDimension: Int
    public var seed: UInt64
    /// Dropout probability of the "dropout on" run (seed 004 gives none).
    public var dropoutProbability: Float
    /// Samples for each run's evaluation.
    public var evaluationCount: Int

    public init(images: Int = 192_000, width: Int = 32, imageSize: Int = 32, latentDimension: Int = 64, seed: UInt64 = 1,
                dropoutProbability: Float = 0.3, evaluationCount: Int = 1000) {
        (self.images, self.width, self.imageSize, self.latentDimension) = (images, width, imageSize, latentDimension)
        (self.seed, self.dropoutProbability, self.evaluationCount) = (seed, dropoutProbability, evaluationCount)
    }

    /// Seed 004's runs that fit on two cores (its batch 512 does not).
    public var runs: [AblationRun] {
        [AblationRun(name: "lambda1-b128", factor: "lambda", r1: 1, batch: 128, dropout: 0, seedFID: 20.54),
         AblationRun(name: "lambda5-b128", factor: "lambda", r1: 5, batch: 128, dropout: 0, seedFID: 20.91),
         AblationRun(name: "lambda20-b128", factor: "lambda", r1: 20, batch: 128, dropout: 0, seedFID: 21.29),
         AblationRun(name: "lambda1-b64", factor: "batch", r1: 1, batch: 64, dropout: 0, seedFID: 19.04),
         AblationRun(name: "lambda1-b256", factor: "batch", r1: 1, batch: 256, dropout: 0, seedFID: 24.97),
         AblationRun(name: "lambda1-b64-dropout", factor: "dropout", r1: 1, batch: 64, dropout: dropoutProbability,
                     seedFID: 36.64)]
    }

    /// The training configuration of a run: SAN's defaults, the run's factors,
    /// and as many steps as `images` / batch (at least one).
    public func config(for run: AblationRun) -> TrainingConfig {
        var config = TrainingConfig(objective: .san)
        (config.imageSize, config.width, config.latentDimension, config.seed) = (imageSize, width, latentDimension, seed)
        (config.r1, config.batch, config.dropout) = (run.r1, run.batch, run.dropout)
        config.steps = max(images / run.batch, 1)
        (config.sampleEvery, config.checkpointEvery) = (config.steps, config.steps)
        return config
    }
}

/// What one finished run reports.
public struct AblationResult: Codable, Sendable {
    public var run: AblationRun
    public var steps: Int
    public var images: Int
    public var wallSeconds: Double
    /// nil when the run diverged (then `diverged` says where).
    public var report: EvaluationReport?
    public var diverged: String?
}

extension SANAblation {
    /// Trains and evaluates one run, writing `folder/san.bin`, its `.state`
    /// and `samples.png`. `progress` gets (step, total) now and then.
    public func perform(_ run: AblationRun, folder: String,
                        progress: ((_ step: Int, _ total: Int, _ metrics: StepMetrics) -> Void)? = nil) throws -> AblationResult {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let config = config(for: run)
        let dataset = try openDataset(config.data, imageSize: config.imageSize, seed: config.seed)
        let trainer = try Trainer(config: config, realBatches: dataset.batch)
        let started = Date()
        var diverged: String?
        do {
            while trainer.step < config.steps {
                let metrics = try trainer.trainStep()
                progress?(trainer.step, config.steps, metrics)
            }
        } catch let error as TrainingDiverged {
            diverged = error.description
        }
        let wall = Date().timeIntervalSince(started)
        let path = (folder as NSString).appendingPathComponent("san.bin")
        try trainer.save(to: path)
        try PNG.write(grid(rgbImages(from: trainer.fixedSamples(), valueRange: (-1, 1)), columns: 8),
                      to: (folder as NSString).appendingPathComponent("samples.png"))
        let report = diverged == nil
            ? try evaluateCheckpoint(trainer.checkpoint(), data: config.data, count: evaluationCount, seed: seed)
            : nil
        return AblationResult(run: run, steps: trainer.step, images: trainer.step * run.batch, wallSeconds: wall,
                              report: report, diverged: diverged)
    }

    /// The Markdown table: our figures beside seed 004's FID, per factor.
    public static func markdown(_ results: [AblationResult], settings: SANAblation) -> String {
        var lines = [
            "| run | factor | λ (R1) | batch | dropout | steps | images | wall time | Fréchet | precision | recall | clean | seed 004 FID |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in results {
            let figures = r.report.map {
                String(format: "%.3f | %.3f | %.3f | %.3f", $0.frechet, $0.precision, $0.recall, $0.cleanFraction)
            } ?? "diverged | — | — | —"
            lines.append("| \(r.run.name) | \(r.run.factor) | \(formatNumber(r.run.r1)) | \(r.run.batch) | "
                         + "\(r.run.dropout > 0 ? formatNumber(r.run.dropout) : "off") | \(r.steps) | \(r.images) | "
                         + "\(String(format: "%.0f s", r.wallSeconds)) | \(figures) | "
                         + "\(r.run.seedFID.map { String(format: "%.2f", $0) } ?? "—") |")
        }
        lines.append("")
        lines.append("SAN on shapes at \(settings.imageSize) px, width \(settings.width), latent \(settings.latentDimension), "
                     + "seed \(settings.seed), \(settings.images) training images per run; each run evaluated on "
                     + "\(settings.evaluationCount) samples (`latent-tui evaluate`'s figures). Fréchet is over shape "
                     + "statistics, not Inception features: compare trends, not values.")
        return lines.joined(separator: "\n")
    }

    /// Bars per run: our Fréchet and seed 004's FID, each divided by its own
    /// value at λ = 1, batch 64 (the seed's best), so the two scales compare.
    public static func chart(_ results: [AblationResult]) -> RGBImage? {
        let evaluated = results.filter { $0.report != nil }
        guard let baseline = evaluated.first(where: { $0.run.name == "lambda1-b64" }),
              let ours0 = baseline.report?.frechet, ours0 > 0, let theirs0 = baseline.run.seedFID else { return nil }
        let ours = evaluated.map { Double($0.report!.frechet / ours0) }
        let theirs = evaluated.map { ($0.run.seedFID ?? .nan) / theirs0 }
        return barChart(groups: evaluated.map(\.run.name),
                        series: [BarSeries(name: "latent-tui Frechet (shape statistics)", values: ours),
                                 BarSeries(name: "seed 004 FID", values: theirs.map { $0.isNaN ? 0 : $0 })],
                        // The bitmap font is ASCII.
                        title: "SAN ablation on shapes, relative to lambda 1, batch 64",
                        yLabel: "relative to lambda 1, batch 64 (lower is better)", width: 960, height: 480)
    }
}

private func formatNumber(_ value: Float) -> String {
    value == value.rounded() ? String(Int(value)) : String(format: "%g", value)
}
