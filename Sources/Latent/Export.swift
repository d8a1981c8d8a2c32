import Foundation
import Imaging
import NN
import Tensors

/// Where a walk's z0 comes from; recorded in `walk.json` so a walk can be redone.
public enum LatentSource: Sendable {
    /// One draw from the prior with this seed (`checkpoint.sampleLatents(1, …)`).
    case seed(UInt64)
    /// Row `row` of a `.npy` file of latents.
    case file(path: String, row: Int)
    /// A latent the caller already has (the browser's current z0), [1, d] or [d].
    case vector(Tensor)

    /// z0 as [1, d].
    public func latent(for checkpoint: Checkpoint) throws -> Tensor {
        let d = checkpoint.latentDimension
        switch self {
        case let .seed(seed):
            var rng = RandomGenerator(seed: seed)
            return checkpoint.sampleLatents(1, using: &rng)
        case let .file(path, row):
            let z = try NPY.read(path: path)
            guard z.rank == 2, z.shape[1] == d else {
                throw InputError(.badNPY, file: path, "has shape \(z.shape); the generator needs rows of \(d) values")
            }
            guard (0..<z.shape[0]).contains(row) else {
                throw InputError(.badArgument, file: path, key: "--row",
                                 "is \(row); the file has \(z.shape[0]) rows (0…\(z.shape[0] - 1))")
            }
            return z.slice(axis: 0, row..<(row + 1)).detached()
        case let .vector(z):
            guard z.count == d else {
                throw InputError(.badArgument, key: "z0", "has \(z.count) values; the generator needs \(d)")
            }
            try checkFinite(z, file: nil, key: "z0")
            return z.detached().reshaped([1, d])
        }
    }
}

/// The direction set `method` of a checkpoint (nil = `--method`'s default:
/// dplase when present, else the first); a missing set names the command that
/// makes it.
public func directionSet(_ method: String?, in checkpoint: Checkpoint, file: String?) throws -> DirectionSet {
    let path = file ?? "CKPT"
    guard let name = method ?? checkpoint.defaultMethod else {
        throw InputError(.missingData, file: file, key: "directions",
                         "the checkpoint has no direction sets; run `latent-tui discover \(path) --method dplase` (or sefa, pca, random) first")
    }
    guard let set = checkpoint.directionSets[name] else {
        let present = checkpoint.methods.isEmpty ? "none" : checkpoint.methods.joined(separator: ", ")
        guard DirectionMethod(rawValue: name) != nil else {
            throw InputError(.badArgument, key: "--method",
                             "\"\(name)\" is not a method; the file has: \(present)")
        }
        throw InputError(.missingData, file: file, key: "directions.\(name)",
                         "not in the file (it has: \(present)); run `latent-tui discover \(path) --method \(name)` to add it")
    }
    return set
}

/// What `latent-tui export` (and the browser's `e`, `g`, `c` keys) writes.
public struct ExportRequest: Sendable {
    /// nil = dplase when present, else the first method in the file.
    public var method: String?
    public var direction: Int
    public var mode: WalkMode
    public var stride: Float
    /// n: frames are steps −n…+n.
    public var steps: Int
    public var source: LatentSource
    /// Also write `grid.png`: rows = all directions of the set, columns = steps.
    public var grid = false
    /// Also write `compare.png`: rows = linear, norm-preserving, density-corrected.
    public var compare = false
    /// Also write `walk.gif`.
    public var gif = false
    /// Write into a non-empty folder (earlier `frame_*.png` files are removed).
    public var force = false
    public var output: String
    /// The checkpoint's path, for messages and `walk.json`.
    public var checkpointPath: String?
    /// Recorded in `walk.json`.
    public var commandLine: [String] = []
    public var gifDelayCentiseconds = 12

    public init(method: String? = nil, direction: Int, mode: WalkMode, stride: Float, steps: Int,
                source: LatentSource, output: String) {
        self.method = method
        self.direction = direction
        self.mode = mode
        self.stride = stride
        self.steps = steps
        self.source = source
        self.output = output
    }
}

/// What an export produced.
public struct ExportResult: Sendable {
    public var folder: String
    /// File names written, inside `folder`.
    public var files: [String]
    public var frames: WalkFrames
    public var record: WalkRecord
    /// Things the user should know (e.g. a comparison row left out).
    public var notes: [String]
}

/// `walk.json`: how the walk was made and every frame's z and readouts.
public struct WalkRecord: Codable, Sendable, Equatable {
    public struct Frame: Codable, Sendable, Equatable {
        public var file: String
        public var z: [Float]
        public var readouts: Readouts
    }

    public var command: [String]
    public var checkpoint: String?
    public var method: String
    public var direction: Int
    public var label: String
    public var score: Float?
    /// The unit direction γ walked along.
    public var directionVector: [Float]
    /// The direction set's seed (discovery), not z0's.
    public var directionSeed: UInt64
    public var layer: Int
    public var mode: String
    public var stride: Float
    public var steps: Int
    /// z0's origin: a seed, or a file and row (nil when given directly).
    public var seed: UInt64?
    public var zFile: String?
    public var zRow: Int?
    public var z0: [Float]
    public var valueRange: [Float]
    public var frames: [Frame]
    /// Extra sheets written beside the frames.
    public var grid: String?
    public var compare: String?
    public var compareModes: [String]?
    public var gif: String?
    public var created: String

    /// Encoder for the file: snake_case keys, sorted, readable; NaN and ±∞
    /// (a diverged generator) as strings instead of failing.
    public static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return encoder
    }

    public static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return decoder
    }
}

/// `frame_000.png`… with at least 3 digits, enough for `count` frames.
public func frameFileName(_ index: Int, count: Int) -> String {
    let digits = Swift.max(3, String(Swift.max(count - 1, 0)).count)
    let number = String(index)
    return "frame_" + String(repeating: "0", count: Swift.max(0, digits - number.count)) + number + ".png"
}

/// Walks direction `request.direction` of a set from z0 in steps −n…+n and
/// writes the folder DESIGN.md describes: `frame_###.png` in walk order (z0 is
/// frame n), `z.npy` [2n+1, d], `walk.json`, and optionally `grid.png`,
/// `compare.png`, `walk.gif`. Every file is written atomically.
///
/// - Throws: `InputError(.badArgument)` for a non-empty folder without
///   `force`, a bad direction index, stride or step count;
///   `.missingData` for a missing method or, in density mode, a missing C.
public func exportWalk(_ request: ExportRequest, checkpoint: Checkpoint) throws -> ExportResult {
    let path = request.checkpointPath
    let set = try directionSet(request.method, in: checkpoint, file: path)
    guard (0..<set.k).contains(request.direction) else {
        throw InputError(.badArgument, key: "--direction",
                         "is \(request.direction); \(set.method) has \(set.k) directions (0…\(set.k - 1))")
    }
    guard (0...10_000).contains(request.steps) else {
        throw InputError(.badArgument, key: "--steps", "is \(request.steps); give 0…10000 steps each way")
    }
    let z0 = try request.source.latent(for: checkpoint)
    let walk = try Walk(checkpoint: checkpoint, z0: z0, direction: set.direction(request.direction),
                        stride: request.stride, mode: request.mode, file: path)
    try prepareOutputFolder(request.output, force: request.force)

    let n = request.steps
    let rendered = walk.render(steps: -n...n, with: checkpoint, layer: set.layer)
    let images = rgbImages(from: rendered.images, valueRange: checkpoint.valueRange)
    let folder = request.output
    func file(_ name: String) -> String { (folder as NSString).appendingPathComponent(name) }

    var written: [String] = []
    var frames: [WalkRecord.Frame] = []
    let d = checkpoint.latentDimension
    for (i, image) in images.enumerated() {
        let name = frameFileName(i, count: images.count)
        let step = rendered.steps[i]
        let description = "\(set.method) direction \(request.direction), \(request.mode.title) walk, step \(step) of ±\(n), stride \(request.stride)"
        try PNG.write(image, to: file(name), metadata: [("Software", "latent-tui"), ("Description", description)])
        written.append(name)
        frames.append(WalkRecord.Frame(file: name, z: Array(rendered.latents.storage[(i * d)..<((i + 1) * d)]),
                                       readouts: rendered.readouts[i]))
    }
    try NPY.write(rendered.latents, to: file("z.npy"))
    written.append("z.npy")

    var notes: [String] = []
    var gridName: String?, compareName: String?, compareModes: [String]?, gifName: String?
    if request.grid {
        let sheet = try contactSheet(checkpoint: checkpoint, set: set, z0: z0, mode: request.mode,
                                     stride: request.stride, steps: n, file: path)
        try PNG.write(sheet, to: file("grid.png"), metadata: [("Software", "latent-tui")])
        gridName = "grid.png"
        written.append("grid.png")
    }
    if request.compare {
        let modes = WalkMode.allCases.filter { $0 != .density || checkpoint.correction != nil }
        if modes.count < WalkMode.allCases.count {
            notes.append("compare.png has no density-corrected row: the file has no C (run `latent-tui discover \(path ?? "CKPT") --method dplase`)")
        }
        let sheet = try comparisonSheet(checkpoint: checkpoint, z0: z0, direction: set.direction(request.direction),
                                        stride: request.stride, steps: n, modes: modes, file: path)
        try PNG.write(sheet, to: file("compare.png"), metadata: [("Software", "latent-tui")])
        compareName = "compare.png"
        compareModes = modes.map(\.rawValue)
        written.append("compare.png")
    }
    if request.gif {
        try GIF.write(images, delayCentiseconds: request.gifDelayCentiseconds, loop: true, to: file("walk.gif"))
        gifName = "walk.gif"
        written.append("walk.gif")
    }

    var seed: UInt64?, zFile: String?, zRow: Int?
    switch request.source {
    case let .seed(s): seed = s
    case let .file(p, row): (zFile, zRow) = (p, row)
    case .vector: break
    }
    let record = WalkRecord(
        command: request.commandLine, checkpoint: path, method: set.method, direction: request.direction,
        label: request.direction < set.labels.count ? set.labels[request.direction] : "",
        score: request.direction < set.scores.count ? set.scores[request.direction] : nil,
        directionVector: walk.direction.storage, directionSeed: set.seed, layer: set.layer,
        mode: request.mode.rawValue, stride: request.stride, steps: n, seed: seed, zFile: zFile, zRow: zRow,
        z0: walk.z0.storage, valueRange: [checkpoint.valueRange.0, checkpoint.valueRange.1], frames: frames,
        grid: gridName, compare: compareName, compareModes: compareModes, gif: gifName,
        created: ISO8601DateFormatter().string(from: Date()))
    try writeAtomically(Array(try WalkRecord.encoder.encode(record)), to: file("walk.json"))
    written.append("walk.json")
    return ExportResult(folder: folder, files: written, frames: rendered, record: record, notes: notes)
}

/// One sheet: row j = direction j of the set walked from z0, columns = steps −n…+n.
public func contactSheet(checkpoint: Checkpoint, set: DirectionSet, z0: Tensor, mode: WalkMode, stride: Float,
                         steps n: Int, file: String? = nil) throws -> RGBImage {
    let walks = try (0..<set.k).map {
        try Walk(checkpoint: checkpoint, z0: z0, direction: set.direction($0), stride: stride, mode: mode, file: file)
    }
    return sheet(checkpoint: checkpoint, rows: walks.map { $0.latents(steps: -n...n) }, columns: 2 * n + 1)
}

/// One sheet: one row per walk mode along the same direction from z0, columns = steps −n…+n.
public func comparisonSheet(checkpoint: Checkpoint, z0: Tensor, direction: Tensor, stride: Float, steps n: Int,
                            modes: [WalkMode] = WalkMode.allCases, file: String? = nil) throws -> RGBImage {
    let walks = try modes.map {
        try Walk(checkpoint: checkpoint, z0: z0, direction: direction, stride: stride, mode: $0, file: file)
    }
    return sheet(checkpoint: checkpoint, rows: walks.map { $0.latents(steps: -n...n) }, columns: 2 * n + 1)
}

/// Renders rows of latents (batched, ≤ 256 per generator call) into a grid.
func sheet(checkpoint: Checkpoint, rows: [Tensor], columns: Int) -> RGBImage {
    let all = withoutGrad { Tensor.concat(rows, axis: 0) }
    var images: [RGBImage] = []
    var start = 0
    while start < all.shape[0] {
        let end = Swift.min(start + 256, all.shape[0])
        images += rgbImages(from: checkpoint.generate(all.slice(axis: 0, start..<end)), valueRange: checkpoint.valueRange)
        start = end
    }
    return grid(images, columns: columns)
}

/// Makes `path` an empty-enough folder: created when missing; a non-empty one
/// only with `force`, which removes earlier `frame_*.png` so the folder holds
/// one walk.
func prepareOutputFolder(_ path: String, force: Bool) throws {
    let manager = FileManager.default
    var isDirectory: ObjCBool = false
    if manager.fileExists(atPath: path, isDirectory: &isDirectory) {
        guard isDirectory.boolValue else {
            throw InputError(.badArgument, file: path, key: "--out", "exists and is not a folder")
        }
        let contents = (try? manager.contentsOfDirectory(atPath: path)) ?? []
        if !contents.isEmpty {
            guard force else {
                throw InputError(.badArgument, file: path, key: "--out",
                                 "is not empty; choose another folder or add --force to overwrite")
            }
            for name in contents where name.hasPrefix("frame_") && name.hasSuffix(".png") {
                try? manager.removeItem(atPath: (path as NSString).appendingPathComponent(name))
            }
        }
    } else {
        do {
            try manager.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw FileWriteError(path: path, "cannot create the folder: \(error.localizedDescription)")
        }
    }
}
