import Foundation
import NN
import Tensors

/// Settings of a DP-LaSE run. Defaults suit small generators (d ≤ 512); the
/// paper's are Adam 1e-4, batch 16, k 20, λ (w_neg) 0.001–0.1, ζ (w_orth) 1–100.
public struct DPLaSEOptions: Sendable, Equatable {
    public var steps = 1000
    /// z0 samples per step; each is walked along all k directions and along k
    /// random unit directions.
    public var batch = 16
    public var learningRate: Float = 2e-3
    /// λ of (8): weight of the penalty on similar feature changes.
    public var lambda: Float = 0.1
    /// ζ of (11): weight of l_reg.
    public var zeta: Float = 10
    /// v of (4): the smallest slope F must keep.
    public var minimumSlope: Float = 1e-3
    /// Weight of l_den.
    public var densityWeight: Float = 1
    /// Weight of the mean squared size of C's correction, which prefers the
    /// smallest of the many corrections that preserve the density.
    public var correctionPenalty: Float = 0.01
    /// Weight of the squared part of the correction along γ (progress the
    /// walk gives up). Without it C learns to undo the step, which keeps the
    /// density trivially; a hard constraint instead would forbid what a
    /// uniform prior needs at the cube's faces (stop there) and even the
    /// Gaussian closed form (2), which also shortens the step.
    public var progressPenalty: Float = 3
    /// ε_max of the strides ε ~ U[−ε_max, ε_max]; nil = ½·E‖z‖ under the prior.
    public var epsilonMax: Float?
    /// Hidden units of F (one tanh layer) and C (two ELU layers; nil = max(64, 2d)).
    public var densityHidden = 16
    public var correctionHidden: Int?

    public init() {}
}

/// The loss terms of one DP-LaSE step, named after the seed's equations and
/// averaged over the batch (so their scale does not depend on the batch size).
public struct DPLaSELosses: Sendable, Equatable, Codable {
    /// l_mon (4): Σᵢ max(0, v − F'(zᵢ)) per latent vector.
    public var monotonicity: Float
    /// l_lik (5): Σᵢ −log F'(zᵢ) per latent vector (prior samples).
    public var likelihood: Float
    /// l_den (7): squared learned log-density change per walk.
    public var density: Float
    /// l_var (8), per direction and relative to ‖G1(z0)‖²: −Σ‖Δⱼ‖² + λΣ_{j≠h}‖ΔⱼᵀΔₕ‖².
    public var variation: Float
    /// l_reg (10): ‖ΓΓᵀ − I‖²_F.
    public var orthogonality: Float
    /// Mean ‖C̃‖², the size of the density correction.
    public var correctionSize: Float
    /// Mean (C̃·γ)², the squared progress along γ the correction gives up.
    public var lostProgress: Float
    /// The weighted sum (11) that is minimised.
    public var total: Float

    /// One line for progress output: `l_mon 0.0012 l_lik 21.3 …`.
    public var summary: String {
        String(format: "l_mon %.4g l_lik %.4g l_den %.4g l_var %.4g l_reg %.4g",
               monotonicity, likelihood, density, variation, orthogonality)
    }
}

/// DP-LaSE (seed 001): learns k latent directions Γ, the scalar CDF F of the
/// prior and the correction C in one joint optimisation (11) with Adam, the
/// generator frozen.
///
/// Each module takes the gradient of the terms that are about it: F of l_mon
/// and l_lik; C of l_den (with its size and progress penalties); Γ of l_var
/// and l_reg. The cross paths are cut (stop-gradient copies of F and C, γ
/// detached in l_den) because they defeat the modules' purpose: l_den through
/// F flattens the learned density (a constant density satisfies l_den for
/// every walk); l_var through C teaches C to add feature change of its own,
/// which is not a correction; l_den through Γ only adds noise to Γ's
/// gradient (any direction can be corrected). G1 is still differentiated
/// through the corrected walk z_dp with respect to Γ.
public final class DPLaSETrainer {
    public let generator: Network
    public let prior: Prior
    /// Split layer j: Δ is measured on G1 = layers 0..<j.
    public let layer: Int
    public let options: DPLaSEOptions
    /// Γ as stored: [k, d], one direction per row; trained unconstrained, used normalised.
    public let gamma: Tensor
    /// F: R → (0, 1), "dplase.F".
    public let density: Network
    /// C: [z0, ε, γ] ∈ R^(2d+1) → R^d, "dplase.C".
    public let correction: Network
    public let epsilonMax: Float
    public private(set) var stepCount = 0

    private let frozenDensity: Network
    private let frozenCorrection: Network
    private let optimizer: Adam
    private var random: RandomGenerator
    private let supportRadius: Float

    public var k: Int { gamma.shape[0] }
    public var latentDimension: Int { gamma.shape[1] }

    /// The current directions, unit rows [k, d].
    public var directions: Tensor { withoutGrad { unitRows(gamma) } }

    public init(generator: Network, prior: Prior, k: Int, layer: Int, options: DPLaSEOptions = .init(),
                seed: UInt64) throws {
        let d = generator.spec.inputSize
        guard (1...d).contains(k) else {
            throw InputError(.badArgument, key: "--k", "is \(k); DP-LaSE finds 1…latent_dim = \(d) directions")
        }
        try checkSplitLayer(layer, generator: generator)
        guard options.steps >= 0, options.batch >= 1 else {
            throw InputError(.badArgument, key: "--steps", "steps must be ≥ 0 and the batch ≥ 1")
        }
        let epsilonMax = options.epsilonMax ?? prior.expectedNorm(dimension: d) / 2
        guard epsilonMax > 0, epsilonMax.isFinite else {
            throw InputError(.badArgument, key: "epsilon_max", "must be a positive number, is \(epsilonMax)")
        }
        self.generator = generator
        self.prior = prior
        self.layer = layer
        self.options = options
        self.epsilonMax = epsilonMax
        // Walks reach ε_max beyond the bulk of the prior; F must be monotone there too.
        supportRadius = (prior == .gaussian ? 4 : 1) + epsilonMax
        random = RandomGenerator(seed: seed)
        gamma = randomOrthonormalDirections(k: k, dimension: d, seed: seed &+ 1).requiringGrad()
        density = Self.makeDensityNetwork(hidden: options.densityHidden, prior: prior)
        correction = Self.makeCorrectionNetwork(dimension: d, hidden: options.correctionHidden ?? Swift.max(64, 2 * d),
                                                prior: prior, using: &random)
        frozenDensity = Self.frozenCopy(density)
        frozenCorrection = Self.frozenCopy(correction)
        optimizer = Adam([gamma] + density.parameters + correction.parameters, learningRate: options.learningRate)
    }

    /// F = sigmoid(Σₐ wₐ·tanh(uₐz + bₐ) + c), started monotone (all u, w > 0)
    /// with its units' centres spread over the prior's support, so F' > 0 from
    /// the first step and log F' is finite.
    static func makeDensityNetwork(hidden h: Int, prior: Prior) -> Network {
        let spec = NetworkSpec(prefix: "dplase.F", layers: [.linear(inFeatures: 1, outFeatures: h, bias: true), .tanh,
                                                           .linear(inFeatures: h, outFeatures: 1, bias: true), .sigmoid],
                               inputSize: 1)
        let spread: Float = prior == .gaussian ? 2.5 : 1
        let slope: Float = 2 / spread
        let centres = (0..<h).map { h == 1 ? 0 : spread * (2 * Float($0) / Float(h - 1) - 1) }
        let values: [String: Tensor] = [
            "dplase.F.0.weight": Tensor(shape: [h, 1], storage: [Float](repeating: slope, count: h)),
            "dplase.F.0.bias": Tensor(shape: [h], storage: centres.map { -slope * $0 }),
            "dplase.F.2.weight": Tensor(shape: [1, h], storage: [Float](repeating: 4 / Float(h), count: h)),
            "dplase.F.2.bias": Tensor.zeros([1]),
        ]
        // The spec and the shapes above agree by construction.
        return try! Network(spec: spec) { values[$0] }
    }

    /// C: linear → ELU → linear → ELU → linear, last layer near zero so
    /// training starts from "no correction". The first layer starts with
    /// kinks: unit u looks mostly at coordinate u mod d of z0 + εγ, with its
    /// bend near the edge of the prior's bulk (±(0.6…1.1)·edge). Density
    /// corrections are largely per-coordinate pulls back from the edge, which
    /// an MLP from a plain random start takes hundreds of steps to discover.
    static func makeCorrectionNetwork(dimension d: Int, hidden h: Int, prior: Prior = .gaussian,
                                      using rng: inout RandomGenerator) -> Network {
        var spec = NetworkSpec(prefix: "dplase.C",
                               layers: [.linear(inFeatures: 2 * d + 1, outFeatures: h, bias: true), .elu(alpha: 1),
                                        .linear(inFeatures: h, outFeatures: h, bias: true), .elu(alpha: 1),
                                        .linear(inFeatures: h, outFeatures: d, bias: true)],
                               inputSize: 2 * d + 1)
        spec.extra["input"] = "\"[z0 + eps*gamma, eps, gamma]; correction = C(input) - C(input at eps = 0)\""
        let fanIn = 2 * d + 1
        let first = Tensor.normal([h, fanIn], std: 0.3 / Float(fanIn).squareRoot(), using: &rng)
        var bias = [Float](repeating: 0, count: h)
        let edge: Float = prior == .gaussian ? 2 : 1
        let replicas = Swift.max(1, h / (2 * d))
        first.update { w in
            for u in 0..<h {
                let sign: Float = (u / d) % 2 == 0 ? 1 : -1
                let replica = u / (2 * d)
                let bend = edge * (0.6 + 0.5 * Float(replica) / Float(Swift.max(replicas - 1, 1)))
                w[u * fanIn + u % d] += 2 * sign
                bias[u] = -2 * bend
            }
        }
        let values: [String: Tensor] = [
            "dplase.C.0.weight": first,
            "dplase.C.0.bias": Tensor(bias),
            "dplase.C.2.weight": .normal([h, h], std: 1 / Float(h).squareRoot(), using: &rng),
            "dplase.C.2.bias": .zeros([h]),
            "dplase.C.4.weight": .normal([d, h], std: 0.01 / Float(h).squareRoot(), using: &rng),
            "dplase.C.4.bias": .zeros([d]),
        ]
        return try! Network(spec: spec) { values[$0] }
    }

    /// Points of the jittered grid on which l_mon keeps F monotone beyond the
    /// prior samples.
    static let gridPoints = 64

    /// A copy whose parameters do not require gradients: the stop-gradient
    /// twin of a module (values refreshed every step).
    static func frozenCopy(_ network: Network) -> Network {
        let byName = Dictionary(uniqueKeysWithValues: network.namedTensors.map { ($0.0, $0.1.detached()) })
        let copy = try! Network(spec: network.spec) { byName[$0] }
        for p in copy.parameters { p.requiringGrad(false) }
        return copy
    }

    /// One optimisation step on a fresh batch; returns its loss terms.
    @discardableResult
    public func step() -> DPLaSELosses {
        frozenDensity.load(from: density)
        frozenCorrection.load(from: correction)
        let (b, k, d) = (options.batch, self.k, latentDimension)
        let rows = b * k
        let losses = generator.frozen { () -> (DPLaSELosses, [Tensor]) in
            let z0 = prior.sample(b, dimension: d, using: &random)                          // [B, d]
            let starts = z0.reshaped([b, 1, d]).expand(to: [b, k, d]).reshaped([rows, d])  // row b·k + j
            let unit = unitRows(gamma)                                                      // [k, d]
            let learned = unit.reshaped([1, k, d]).expand(to: [b, k, d]).reshaped([rows, d])
            let randomDirections = unitRows(Tensor.normal([rows, d], using: &random))
            let epsLearned = Tensor.uniform([rows, 1], low: -epsilonMax, high: epsilonMax, using: &random)
            let epsRandom = Tensor.uniform([rows, 1], low: -epsilonMax, high: epsilonMax, using: &random)

            // l_mon (4) and l_lik (5) on the live F: prior samples, plus a grid
            // over the whole range walks reach (jittered every step).
            let grid = Tensor((0..<Self.gridPoints).map { i in
                supportRadius * (2 * (Float(i) + random.nextUnitFloat()) / Float(Self.gridPoints) - 1)
            }, shape: [Self.gridPoints])
            let points = Tensor.concat([z0.reshaped([b * d]), grid], axis: 0).requiringGrad()
            let slope = densitySlope(density, points, createGraph: true)                  // [B·d + grid]
            let lMon = (options.minimumSlope - slope).relu().mean() * Float(d)
            let logSlopeZ0 = slope.slice(axis: 0, 0..<(b * d)).maximum(densitySlopeFloor).log()
            let lLik = -logSlopeZ0.mean() * Float(d)

            // l_den (7): learned (as constants) + random directions, live C, frozen F.
            let allStarts = Tensor.concat([starts, starts], axis: 0)                       // [2·rows, d]
            let allDirections = Tensor.concat([learned.detached(), randomDirections], axis: 0)
            let allEps = Tensor.concat([epsLearned, epsRandom], axis: 0)
            let correctionLive = densityCorrection(correction, z0: allStarts, offsets: allEps, directions: allDirections)
            let walked = allStarts + allEps * allDirections + correctionLive               // (6)
            let walkedLogDensity = logDensitySlope(frozenDensity, walked, createGraph: true).sum(axes: [1])
            let startLogDensity = logSlopeZ0.detached().reshaped([b, 1, d]).sum(axes: [2])  // [B, 1]
                .expand(to: [b, k]).reshaped([rows])
            let lDen = (walkedLogDensity - Tensor.concat([startLogDensity, startLogDensity], axis: 0)).square().mean()
            let size = correctionLive.square().sum(axes: [1]).mean()
            let lost = (correctionLive * allDirections).sum(axes: [1]).square().mean()

            // l_var (8) with Δ (9) through the frozen C, relative to ‖G1(z0)‖.
            let zdp = starts + epsLearned * learned
                + densityCorrection(frozenCorrection, z0: starts, offsets: epsLearned, directions: learned)
            let base = generator.features(z0, layer: layer)                               // constant
            let moved = generator.features(zdp, layer: layer)
            let lVar = variationLoss(base: base, moved: moved, batch: b, k: k, lambda: options.lambda)

            let lReg = (matmul(gamma, gamma, transposeB: true) - identity(k)).square().sum()   // (10)
            let total = lMon + lLik + options.densityWeight * lDen + options.correctionPenalty * size
                + options.progressPenalty * lost + lVar + options.zeta * lReg               // (11)
            let grads = gradients(of: total, wrt: optimizer.parameters)
            let record = DPLaSELosses(monotonicity: lMon.scalar, likelihood: lLik.scalar, density: lDen.scalar,
                                      variation: lVar.scalar, orthogonality: lReg.scalar,
                                      correctionSize: size.scalar, lostProgress: lost.scalar, total: total.scalar)
            return (record, grads)
        }
        optimizer.step(losses.1)
        stepCount += 1
        return losses.0
    }
}

/// l_var (8) for a batch: base = G1(z0) [B, …], moved = G1(z_dp) [B·k, …]
/// (row b·k + j). Δ is scaled by 1/‖G1(z0)‖ so the loss is scale-free, then
/// shaped [C, HW] per walk. ‖ΔⱼᵀΔₕ‖²_F is computed without the HW×HW product:
/// as trace((ΔⱼΔⱼᵀ)(ΔₕΔₕᵀ)) = ⟨Gⱼ, Gₕ⟩ on C×C Gram matrices when C ≤ HW,
/// else from the [k·HW, k·HW] product whose (j, h) blocks are ΔⱼᵀΔₕ (for flat
/// features, HW = 1, that is k×k dot products).
func variationLoss(base: Tensor, moved: Tensor, batch b: Int, k: Int, lambda: Float) -> Tensor {
    let channels = base.rank >= 2 ? base.shape[1] : 1
    let spatial = base.count / (b * channels)
    let baseNorms = (base.reshaped([b, -1]).square().sum(axes: [1]) + 1e-12).sqrt().detached()   // [B]
    let delta = (base.reshaped([b, 1, channels, spatial]) - moved.reshaped([b, k, channels, spatial]))
        / baseNorms.reshaped([b, 1, 1, 1])                                                     // [B, k, C, HW]
    let ownChange = delta.square().sum()                                                     // Σ_b Σ_j ‖Δⱼ‖²
    let pairs: Tensor                                                                        // [B, k, k]
    if channels <= spatial {
        let flat = delta.reshaped([b * k, channels, spatial])
        let grams = matmul(flat, flat, transposeB: true).reshaped([b, k, channels * channels])
        pairs = matmul(grams, grams, transposeB: true)
    } else {
        let stacked = delta.permuted([0, 1, 3, 2]).reshaped([b, k * spatial, channels])
        let products = matmul(stacked, stacked, transposeB: true)                             // [B, k·HW, k·HW]
        pairs = products.reshaped([b, k, spatial, k, spatial]).square().sum(axes: [2, 4])
    }
    let offDiagonal = (pairs * (1 - identity(k))).sum()
    return (lambda * offDiagonal - ownChange) / Float(b * k)
}
