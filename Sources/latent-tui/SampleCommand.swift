import ArgumentParser
import Foundation
import GAN
import Imaging
import NN
import Tensors

struct SampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Render samples: a grid PNG, or a folder of PNGs with z.npy and sample.json.")

    @Argument(help: "Checkpoint (safetensors) file.")
    var checkpoint: String

    @Option(help: "Number of samples (with --z: the first N rows; default all rows).")
    var n: Int?

    @Option(help: "Seed for the latent draws (default: from the clock, recorded beside the output).")
    var seed: UInt64?

    @Option(name: .customLong("z"), help: "Render the latents in this .npy file ([n, d] or [d], float32/float64).")
    var zFile: String?

    @Option(help: "Output: a path ending in .png writes one grid; anything else is a folder.")
    var out: String

    @Flag(help: "Overwrite an existing output.")
    var force = false

    @OptionGroup var rejection: RejectionOptions

    @OptionGroup var truncation: TruncationOptions

    @OptionGroup var threads: ThreadOptions

    func validate() throws {
        if let n, n <= 0 { throw ValidationError("--n must be positive") }
        if zFile != nil && truncation.truncation != 1 {
            throw ValidationError("--truncation scales drawn latents; --z gives them as they are: give one of the two")
        }
        if rejection.drs && zFile != nil { throw ValidationError("--drs draws its own latents; give --seed, not --z") }
        if zFile != nil && seed != nil { throw ValidationError("give --seed or --z, not both") }
        if zFile == nil && n == nil { throw ValidationError("give --n (or --z with latents)") }
    }

    func run() throws {
        try reportingErrors {
            threads.apply()
            let ckpt = try Checkpoint.load(path: checkpoint)
            let usedSeed = seed ?? clockSeed()
            let asGrid = out.lowercased().hasSuffix(".png")
            try refuseOverwrite(out, force: force)
            let z: Tensor, images: [RGBImage]
            var drs: SampleRecord.Rejection?
            if rejection.drs {
                let sampler = try rejection.sampler(ckpt, seed: usedSeed, truncation: truncation.truncation, file: checkpoint)
                var rng = RandomGenerator(seed: usedSeed)
                let drawn = try sampler.draw(n ?? 1, using: &rng)
                (z, images) = (drawn.latents, rgbImages(from: drawn.images, valueRange: ckpt.valueRange))
                drs = .init(sampler)
                print(sampler.summary)
            } else {
                z = try latents(for: ckpt, seed: usedSeed)
                images = renderImages(ckpt, z)
            }
            let record = SampleRecord(command: CommandLine.arguments, checkpoint: checkpoint,
                                      seed: zFile == nil ? usedSeed : nil, zFile: zFile, count: z.shape[0],
                                      truncation: truncation.truncation == 1 ? nil : truncation.truncation, drs: drs)
            if asGrid {
                let parent = (out as NSString).deletingLastPathComponent
                if !parent.isEmpty { try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true) }
                let columns = Int(Double(images.count).squareRoot().rounded(.up))
                try PNG.write(grid(images, columns: columns), to: out,
                              metadata: [("latent-tui", record.summary)])
                print("wrote \(out) (\(images.count) samples, \(record.seedText))")
            } else {
                try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
                let digits = max(3, String(images.count - 1).count)
                for (i, image) in images.enumerated() {
                    let name = "sample_" + String(repeating: "0", count: max(0, digits - String(i).count)) + String(i) + ".png"
                    try PNG.write(image, to: (out as NSString).appendingPathComponent(name))
                }
                try NPY.write(z, to: (out as NSString).appendingPathComponent("z.npy"))
                try writeJSON(record, to: (out as NSString).appendingPathComponent("sample.json"))
                print("wrote \(images.count) samples, z.npy and sample.json to \(out) (\(record.seedText))")
            }
        }
    }

    func latents(for ckpt: Checkpoint, seed: UInt64) throws -> Tensor {
        let d = ckpt.latentDimension
        guard let zFile else {
            var rng = RandomGenerator(seed: seed)
            return ckpt.sampleLatents(n ?? 1, truncation: truncation.truncation, using: &rng)
        }
        let z = try NPY.read(path: zFile)
        guard z.shape[1] == d else {
            throw InputError(.badNPY, file: zFile, "has \(z.shape[1]) values per row; the generator needs \(d)")
        }
        try checkFinite(z, file: zFile, key: nil)
        guard let n else { return z }
        guard n <= z.shape[0] else {
            throw InputError(.badArgument, file: zFile, "has \(z.shape[0]) rows, fewer than --n \(n)")
        }
        return z.slice([0..<n])
    }
}

/// Renders latents in batches of 64 to RGB images.
func renderImages(_ ckpt: Checkpoint, _ z: Tensor) -> [RGBImage] {
    var images: [RGBImage] = []
    var start = 0
    while start < z.shape[0] {
        let end = min(start + 64, z.shape[0])
        images += rgbImages(from: ckpt.generate(z.slice([start..<end])), valueRange: ckpt.valueRange)
        start = end
    }
    return images
}

/// What `sample.json` records: enough to reproduce the output.
struct SampleRecord: Encodable {
    let command: [String]
    let checkpoint: String
    let seed: UInt64?
    let zFile: String?
    let count: Int
    /// ψ of the latent draws, when not 1.
    var truncation: Float?
    /// Rejection sampling's settings and counts, with `--drs`.
    var drs: Rejection?

    struct Rejection: Encodable {
        let percentile: Double
        let epsilon: Double
        let gamma: Double
        let proposed: Int
        let accepted: Int

        init(_ sampler: RejectionSampler) {
            (percentile, epsilon, gamma) = (sampler.percentile, sampler.epsilon, sampler.gamma)
            (proposed, accepted) = (sampler.proposed, sampler.accepted)
        }

        var acceptanceRate: Double { proposed == 0 ? 0 : Double(accepted) / Double(proposed) }
    }

    var seedText: String {
        (seed.map { "seed \($0)" } ?? "latents from \(zFile ?? "?")") + (truncation.map { ", truncation ψ \($0)" } ?? "")
    }
    var summary: String {
        "checkpoint=\(checkpoint) \(seedText) n=\(count)" + (truncation.map { " truncation=\($0)" } ?? "")
            + (drs.map { " drs-percentile=\($0.percentile)" } ?? "")
    }
}

/// Refuses to replace an existing output the user named unless --force.
func refuseOverwrite(_ path: String, force: Bool) throws {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return }
    if force { return }
    if isDirectory.boolValue, (try? FileManager.default.contentsOfDirectory(atPath: path))?.isEmpty == true { return }
    throw InputError(.badArgument, file: path, "already exists; choose another --out or add --force")
}

/// Writes a value as pretty JSON, atomically.
func writeJSON<T: Encodable>(_ value: T, to path: String) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    try writeAtomically(Array(try encoder.encode(value)), to: path)
}
