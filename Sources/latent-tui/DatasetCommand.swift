import ArgumentParser
import Foundation
import GAN
import Tensors

/// `latent-tui dataset --n N --out DIR`: the procedural shapes as PNG files with
/// their ground-truth factors, e.g. to train a peer implementation on the same data.
struct DatasetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dataset",
        abstract: "Write N images of the shapes dataset as PNG files with factors.json (kind, x, y, scale, rotation, hue).")

    @Option(help: "Number of images.")
    var n: Int

    @Option(help: "Image size.")
    var imageSize = 32

    @Option(help: "Seed of the factors (the same seed gives the same images).")
    var seed: UInt64 = 0

    @Option(help: "Output folder.")
    var out: String

    @Flag(help: "Write into an existing, non-empty folder.")
    var force = false

    func validate() throws {
        if n < 1 { throw ValidationError("--n must be positive") }
    }

    func run() throws {
        try reportingErrors {
            try refuseOverwrite(out, force: force)
            let dataset = try ShapesDataset(imageSize: imageSize, seed: seed)
            try dataset.dump(count: n, to: out)
            print("wrote \(n) shapes at \(imageSize) px and factors.json to \(out) (seed \(seed))")
        }
    }
}
