import ArgumentParser
import Foundation
import GAN
import NN
import Tensors

/// `latent-tui evaluate CKPT --data shapes|DIR [--n N] [--seed S] [--json]`:
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

    @OptionGroup var threads: ThreadOptions

    func validate() throws {
        if n < 4 { throw ValidationError("--n must be at least 4 (k-NN precision and recall use k = 3)") }
    }

    func run() throws {
        try reportingErrors {
            threads.apply()
            let ckpt = try Checkpoint.load(path: checkpoint)
            let progress = ProgressLine(total: n, label: "generating")
            let report = try evaluateCheckpoint(ckpt, data: data, count: n, seed: seed, file: checkpoint) { done, _ in
                progress.update(done)
            }
            print(json ? report.json : report.text)
        }
    }
}
