import ArgumentParser
import Foundation
import GAN
import NN
import Tensors

/// `latent-tui evaluate CKPT --data shapes|DIR [--n N] [--seed S] [--truncation ψ] [--drs] [--json]`:
/// sample-quality figures from shape statistics (no pretrained network).
/// The work is `evaluateCheckpoint` in GAN; this only parses and prints.
struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Sample-quality figures: generated samples against the dataset, through shape statistics.",
        discussion: """
        Reduces N generated samples and N dataset images (at the checkpoint's image size) to \
        shape statistics (position, area, orientation, hue, compactness, background) and reports \
        per-statistic distances, the Fréchet distance of the standardised statistics, k-NN \
        precision and recall (k = 3) and the share of clean single shapes.
        """)

    @Argument(help: "Checkpoint (safetensors) file.")
    var checkpoint: String

    @Option(help: "shapes, or a folder of PNG files (./shapes for a folder of that name).")
    var data: String = "shapes"

    @Option(help: "Samples to generate, and dataset images to draw (a folder gives at most all of its images).")
    var n: Int = 1000

    @Option(help: "Seed of the latent draws and of the dataset draw.")
    var seed: UInt64 = 1

    @Flag(help: "Print the report as JSON.")
    var json = false

    @OptionGroup var rejection: RejectionOptions

    @OptionGroup var truncation: TruncationOptions

    @OptionGroup var threads: ThreadOptions

    func validate() throws {
        if n < 4 { throw ValidationError("--n must be at least 4 (k-NN precision and recall use k = 3)") }
    }

    func run() throws {
        try reportingErrors {
            threads.apply()
            let ckpt = try Checkpoint.load(path: checkpoint)
            // Checked before the long plain evaluation so a missing calibration fails fast.
            let psi = truncation.truncation
            let sampler = rejection.drs ? try rejection.sampler(ckpt, seed: seed, truncation: psi, file: checkpoint) : nil
            let progress = ProgressLine(total: n, label: "generating")
            let report = try evaluateCheckpoint(ckpt, data: data, count: n, seed: seed, truncation: psi, file: checkpoint,
                                                progress: { done, _ in progress.update(done) })
            guard let sampler else {
                print(json ? report.json : report.text)
                return
            }
            let drsProgress = ProgressLine(total: n, label: "generating with DRS")
            let drsReport = try evaluateCheckpoint(ckpt, data: data, count: n, seed: seed, truncation: psi, file: checkpoint,
                                                   drawImages: { count, rng in try sampler.draw(count, using: &rng).images },
                                                   progress: { done, _ in drsProgress.update(done) })
            let comparison = RejectionComparison(plain: report, drs: drsReport, rejection: .init(sampler))
            print(json ? comparison.json : comparison.text)
        }
    }
}

/// `evaluate --drs`: the figures without and with rejection sampling.
struct RejectionComparison: Encodable {
    let plain: EvaluationReport
    let drs: EvaluationReport
    let rejection: SampleRecord.Rejection

    var text: String {
        func row(_ name: String, _ a: Float, _ b: Float, lowerIsBetter: Bool) -> String {
            let better = lowerIsBetter ? b < a : b > a
            return name.padding(toLength: 28, withPad: " ", startingAt: 0)
                + String(format: "%10.4f %10.4f %+10.4f", a, b, b - a) + (b == a ? "" : better ? "  better" : "  worse")
        }
        return ([plain.text, "",
                String(format: "rejection sampling: percentile %g, γ = %.4g, accepted %d of %d proposals (%.1f%%)",
                       rejection.percentile, rejection.gamma, rejection.accepted, rejection.proposed,
                       100 * rejection.acceptanceRate),
                "figure                          without   with DRS     change",
                row("Fréchet distance", plain.frechet, drs.frechet, lowerIsBetter: true),
                row("precision", plain.precision, drs.precision, lowerIsBetter: false),
                row("recall", plain.recall, drs.recall, lowerIsBetter: false),
                row("clean shapes", plain.cleanFraction, drs.cleanFraction, lowerIsBetter: false)]
            + zip(plain.cleanConditions ?? [], drs.cleanConditions ?? []).map { without, with in
                row("  " + without.condition.label, without.generated, with.generated, lowerIsBetter: false)
            }).joined(separator: "\n")
    }

    var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }
}
