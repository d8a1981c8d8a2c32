import Foundation
import GAN
import Latent
import NN
import Tensors

/// What the browser reads from a checkpoint once, at start, as immutable
/// values: the main thread builds latents and requests from it while the
/// worker thread owns the `Checkpoint` object itself (its generator runs
/// there, and naming a direction rewrites its labels there).
public struct BrowserContext: Sendable {
    /// One direction set as the browser walks it.
    public struct MethodInfo: Sendable {
        public var name: String
        /// [k, d], one unit direction per row.
        public var directions: Tensor
        /// Split layer for the feature-change readout.
        public var layer: Int
        public var scores: [Double]
        public var k: Int { directions.shape[0] }

        /// Row j as [1, d].
        public func direction(_ j: Int) -> Tensor { directions.slice([j..<j + 1]) }
    }

    /// z0 given by the user (`--z F.npy --row i`): reloaded when undo or
    /// the state returns to `origin.seed == nil`.
    public struct UserOrigin: Sendable {
        public var z0: Tensor
        public var path: String
        public var row: Int
    }

    public var checkpointPath: String
    public var header: BrowserViewModel.Header
    public var prior: Prior
    public var latentDimension: Int
    public var methods: [MethodInfo]
    /// The file has DP-LaSE's corrector C (the density-corrected walk).
    public var hasCorrection: Bool
    public var userOrigin: UserOrigin?
    /// ε_max: the largest stride `+` reaches.
    public var maxStride: Float
    /// The folder `w`, `e`, `s`, `g` write into.
    public var outputFolder: String
    /// Draws `r`'s z0 when the file has a calibrated logit critic.
    public var rejectionSampler: RejectionSampler?

    public func method(named name: String) -> MethodInfo? { methods.first { $0.name == name } }
}

/// Where the first z0 comes from.
public enum BrowserOrigin: Sendable {
    case seed(UInt64)
    /// Row `row` of a `.npy` file.
    case file(path: String, row: Int)
}

/// Reads what the browser needs from `checkpoint` and makes the first state.
///
/// - Parameters:
///   - method: `--method`; nil takes dplase when present, else the first set.
///   - stride: the first stride; nil gives ε_max / 8, so playback (±8 steps)
///     spans exactly the default range ±ε_max.
///   - maxStride: ε_max; nil gives DESIGN.md's ½·E‖z‖ under the prior.
/// - Throws: `InputError` (exit 2) when the file has no direction set to
///   walk, `--method` names a set that is missing, the `.npy` row is bad,
///   or a stride is not a positive number.
public func makeBrowser(checkpoint: Checkpoint, path: String, method: String? = nil, origin: BrowserOrigin,
                        stride: Float? = nil, maxStride: Float? = nil,
                        outputFolder: String = FileManager.default.currentDirectoryPath) throws
    -> (context: BrowserContext, state: BrowserState) {
    guard !checkpoint.methods.isEmpty else {
        // The browser cannot walk without directions; SeFa is the quickest
        // way to get some (closed form, seconds).
        throw InputError(.missingData, file: path, key: "directions",
                         "the checkpoint has no direction sets to walk; run `latent-tui discover \(path) --method sefa` first")
    }
    let chosen = try directionSet(method, in: checkpoint, file: path)
    let d = checkpoint.latentDimension
    let methods = checkpoint.methods.compactMap { name -> BrowserContext.MethodInfo? in
        guard let set = checkpoint.directionSets[name], set.k > 0, set.directions.shape.count == 2,
              set.directions.shape[1] == d else { return nil }
        return .init(name: name, directions: set.directions, layer: set.layer, scores: set.scores.map(Double.init))
    }
    guard let methodIndex = methods.firstIndex(where: { $0.name == chosen.method }) else {
        throw InputError(.badMetadata, file: path, key: "directions.\(chosen.method)",
                         "has \(chosen.k) directions of shape \(chosen.directions.shape); expected [k, \(d)]")
    }

    let limit = maxStride ?? checkpoint.prior.expectedNorm(dimension: d) / 2
    guard limit.isFinite, limit > 0 else {
        throw InputError(.badArgument, key: "--max-stride", "must be a positive number, is \(limit)")
    }
    let first = stride ?? limit / 8
    guard first.isFinite, first > 0 else {
        throw InputError(.badArgument, key: "--stride", "must be a positive number, is \(first)")
    }
    guard first <= limit else {
        throw InputError(.badArgument, key: "--stride", "is \(first); the largest stride is ε_max = \(limit) (raise it with --max-stride)")
    }

    var userOrigin: BrowserContext.UserOrigin?
    let seed: UInt64?
    switch origin {
    case let .seed(s):
        seed = s
    case let .file(file, row):
        let z0 = try LatentSource.file(path: file, row: row).latent(for: checkpoint)
        try checkFinite(z0, file: file, key: "z")
        userOrigin = .init(z0: z0, path: file, row: row)
        seed = nil
    }

    let shape = (try? checkpoint.generator.spec.shapes().last) ?? []
    let height = shape.count >= 2 ? shape[shape.count - 2] : (checkpoint.generator.spec.imageSize ?? 0)
    let width = shape.count >= 2 ? shape[shape.count - 1] : (checkpoint.generator.spec.imageSize ?? 0)
    let header = BrowserViewModel.Header(fileName: (path as NSString).lastPathComponent, imageWidth: width,
                                         imageHeight: height, prior: checkpoint.prior.rawValue, latentDim: d)
    let modes: [WalkMode] = checkpoint.correction == nil ? [.linear, .norm] : WalkMode.allCases
    let context = BrowserContext(checkpointPath: path, header: header, prior: checkpoint.prior, latentDimension: d,
                                 methods: methods, hasCorrection: checkpoint.correction != nil,
                                 userOrigin: userOrigin, maxStride: limit, outputFolder: outputFolder,
                                 rejectionSampler: checkpoint.calibration == nil
                                     ? nil : try? RejectionSampler(checkpoint: checkpoint, seed: 0, file: path))
    // The smallest stride is 1/1024 of ε_max: below that a 32-pixel frame no
    // longer changes, and 31 presses of − get there from the default.
    let limits = BrowserState.Limits(stride: (limit / 1024)...limit)
    var state = BrowserState(
        methods: methods.map { m in .init(name: m.name, labels: paddedLabels(checkpoint.directionSets[m.name], k: m.k)) },
        methodIndex: methodIndex, stride: first, mode: .linear, availableModes: modes,
        origin: .init(seed: seed), limits: limits)
    state.rejectionSampling = context.rejectionSampler != nil
    return (context, state)
}

/// The set's labels, one per direction (files written by other tools may
/// carry fewer).
private func paddedLabels(_ set: DirectionSet?, k: Int) -> [String] {
    let labels = Array((set?.labels ?? []).prefix(k))
    return labels + [String](repeating: "", count: k - labels.count)
}
