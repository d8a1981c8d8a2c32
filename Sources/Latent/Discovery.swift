import Foundation
import NN
import Tensors

/// The ways to find latent directions; raw values are `--method` names and
/// the `directions.<method>` keys of a checkpoint.
public enum DirectionMethod: String, CaseIterable, Sendable {
    case dplase, sefa, pca, random

    public var title: String {
        switch self {
        case .dplase: "DP-LaSE"
        case .sefa: "SeFa"
        case .pca: "PCA (GANSpace)"
        case .random: "random"
        }
    }
}

/// What to discover and how hard to try.
public struct DiscoveryOptions: Sendable, Equatable {
    /// Number of directions.
    public var k = 8
    /// Split layer j (G1 = layers 0..<j); nil = the spec's `defaultSplitLayer`.
    public var layer: Int?
    public var seed: UInt64 = 0
    /// PCA: latent samples whose features are decomposed.
    public var samples = 1024
    /// Latent samples for the feature-change scores (DP-LaSE, random).
    public var scoreSamples = 64
    public var dplase = DPLaSEOptions()

    public init() {}
}

/// Progress of a discovery run: DP-LaSE reports every step with its losses;
/// the closed-form methods report their phases (losses nil).
public struct DiscoveryProgress: Sendable {
    public var step: Int
    public var totalSteps: Int
    public var losses: DPLaSELosses?
}

/// Finds `options.k` directions with `method` and stores them in
/// `checkpoint.directionSets[method]`; DP-LaSE also replaces
/// `checkpoint.densityCDF` (F) and `checkpoint.correction` (C). The checkpoint
/// is changed in memory only: save it to keep the result.
///
/// Directions are unit rows [k, d]; SeFa, PCA and random ones are exactly
/// orthonormal, DP-LaSE's as orthonormal as l_reg made them (recorded as
/// `orthonormality_error` in the params). Labels come from
/// `defaultLabels(...)` for checkpoints trained on `shapes`, else "".
///
/// - Parameter file: the checkpoint's path, for messages.
@discardableResult
public func discoverDirections(_ method: DirectionMethod, in checkpoint: Checkpoint, options: DiscoveryOptions = .init(),
                               file: String? = nil,
                               progress: ((DiscoveryProgress) -> Void)? = nil) throws -> DirectionSet {
    let generator = checkpoint.generator
    let d = checkpoint.latentDimension
    let layer = options.layer ?? generator.spec.defaultSplitLayer
    try checkSplitLayer(layer, generator: generator)
    guard (1...d).contains(options.k) else {
        throw InputError(.badArgument, key: "--k", "is \(options.k); choose 1…latent_dim = \(d) directions")
    }
    var params: [String: Any] = [:]
    var directions: Tensor

    switch method {
    case .sefa:
        progress?(DiscoveryProgress(step: 0, totalSteps: 1, losses: nil))
        let (found, eigenvalues) = try SeFa.directions(generator, k: options.k, file: file)
        let total = eigenvalues.reduce(0, +)
        directions = found
        params["eigenvalues"] = eigenvalues.prefix(options.k).map(Double.init)
        params["eigenvalue_share"] = eigenvalues.prefix(options.k).map { Double(total > 0 ? $0 / total : 0) }
        progress?(DiscoveryProgress(step: 1, totalSteps: 1, losses: nil))

    case .pca:
        progress?(DiscoveryProgress(step: 0, totalSteps: 1, losses: nil))
        let result = try GANSpace.directions(generator, prior: checkpoint.prior, k: options.k, layer: layer,
                                             samples: options.samples, seed: options.seed)
        directions = result.directions
        params["explained_variance_share"] = result.explainedVariance.map(Double.init)
        params["samples"] = options.samples
        progress?(DiscoveryProgress(step: 1, totalSteps: 1, losses: nil))

    case .random:
        directions = randomOrthonormalDirections(k: options.k, dimension: d, seed: options.seed)

    case .dplase:
        let o = options.dplase
        let trainer = try DPLaSETrainer(generator: generator, prior: checkpoint.prior, k: options.k, layer: layer,
                                        options: o, seed: options.seed)
        var last: DPLaSELosses?
        for step in 0..<o.steps {
            let losses = trainer.step()
            guard losses.total.isFinite else {
                throw DiscoveryError(message: "DP-LaSE diverged at step \(step + 1) (\(losses.summary)); try a smaller learning rate")
            }
            last = losses
            progress?(DiscoveryProgress(step: step + 1, totalSteps: o.steps, losses: losses))
        }
        directions = trainer.directions
        checkpoint.densityCDF = trainer.density
        checkpoint.correction = trainer.correction
        params.merge([
            "steps": o.steps, "batch": o.batch, "learning_rate": Double(o.learningRate), "lambda": Double(o.lambda),
            "zeta": Double(o.zeta), "minimum_slope": Double(o.minimumSlope), "density_weight": Double(o.densityWeight),
            "correction_penalty": Double(o.correctionPenalty), "progress_penalty": Double(o.progressPenalty),
            "epsilon_max": Double(trainer.epsilonMax),
            "orthonormality_error": Double(orthonormalityError(directions)),
        ]) { $1 }
        if let last, let data = try? JSONEncoder().encode(last),
           let object = try? JSONSerialization.jsonObject(with: data) {
            params["final_losses"] = object
        }
    }
    // Every method is scored the same way, so scores compare across methods;
    // the method's own measure (eigenvalues, explained variance) stays in params.
    var scores = featureChangeScores(generator, prior: checkpoint.prior, directions: directions, layer: layer,
                                     samples: options.scoreSamples, seed: options.seed &+ 7)
    (directions, scores) = sortedByScore(directions, scores)
    params["score"] = "mean relative feature change at unit stride"

    var labels = [String](repeating: "", count: options.k)
    if ShapeLabeling.applies(to: checkpoint) {
        let named = ShapeLabeling.labels(checkpoint: checkpoint, directions: directions, seed: options.seed &+ 11)
        labels = named.map(\.name)
        params["label_purity"] = named.map { Double($0.purity) }
    }
    let paramsData = (try? JSONSerialization.data(withJSONObject: params, options: [.sortedKeys])) ?? Data("{}".utf8)
    let set = DirectionSet(method: method.rawValue, directions: directions, layer: layer, scores: scores,
                           labels: labels, paramsJSON: String(decoding: paramsData, as: UTF8.self),
                           seed: options.seed)
    checkpoint.directionSets[method.rawValue] = set
    return set
}

/// Discovery failed for a reason the user cannot fix by changing the input
/// (e.g. the optimisation diverged); reported as a general error.
public struct DiscoveryError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public var description: String { message }
}

/// k random orthonormal rows [k, d] (Gaussian draws, Gram–Schmidt), seeded.
public func randomOrthonormalDirections(k: Int, dimension d: Int, seed: UInt64) -> Tensor {
    var rng = RandomGenerator(seed: seed)
    return orthonormalizedRows(Tensor.normal([k, d], using: &rng))
}

/// Per direction: the mean over prior samples z0 of ‖G1(z0 + γ) − G1(z0)‖ / ‖G1(z0)‖
/// (unit stride). Directions that change the features more score higher.
///
/// Batched: one G1 call for the samples and one per group of directions,
/// each at most ~512 rows, so memory stays bounded for large k.
public func featureChangeScores(_ generator: Network, prior: Prior, directions: Tensor, layer: Int,
                                samples: Int, seed: UInt64) -> [Float] {
    var rng = RandomGenerator(seed: seed)
    let z0 = prior.sample(Swift.max(samples, 1), dimension: directions.shape[1], using: &rng)
    return featureChangeScores(generator, directions: directions, layer: layer, z0: z0)
}

/// As above, from given starting points z0 [B, d].
public func featureChangeScores(_ generator: Network, directions: Tensor, layer: Int, z0: Tensor) -> [Float] {
    let (k, d) = (directions.shape[0], directions.shape[1])
    let b = z0.shape[0]
    return withoutGrad {
        let base = generator.features(z0, layer: layer).reshaped([b, -1])                      // [B, P]
        let baseNorms = (base.square().sum(axes: [1]) + 1e-24).sqrt()                          // [B]
        let group = Swift.max(1, 512 / b)
        var scores: [Float] = []
        for start in stride(from: 0, to: k, by: group) {
            let count = Swift.min(group, k - start)
            let chosen = directions.slice(axis: 0, start..<(start + count))                    // [g, d]
            let moved = (z0.reshaped([1, b, d]) + chosen.reshaped([count, 1, d])).reshaped([count * b, d])
            let features = generator.features(moved, layer: layer).reshaped([count, b, -1])
            let change = (features - base.reshaped([1, b, -1])).square().sum(axes: [2]).sqrt()  // [g, B]
            scores += (change / baseNorms.reshaped([1, b])).mean(axes: [1]).storage
        }
        return scores
    }
}

/// Reorders rows by descending score.
func sortedByScore(_ directions: Tensor, _ scores: [Float]) -> (Tensor, [Float]) {
    let order = scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
    let rows = withoutGrad { Tensor.concat(order.map { directions.slice(axis: 0, $0..<($0 + 1)) }, axis: 0) }
    return (rows, order.map { scores[$0] })
}
