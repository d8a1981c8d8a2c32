import Foundation
import NN
import Tensors

/// Every setting of a training run. Defaults are the papers' (DESIGN.md,
/// "Objectives"); the whole value is saved as the checkpoint's `training` record.
public struct TrainingConfig: Codable, Equatable, Sendable {
    public var objective: String
    public var data: String = "shapes"
    public var imageSize: Int = 32
    public var width: Int = 128
    /// Width of the critic's (or BEGAN autoencoder's) 4×4 stage; nil = `width`.
    /// Optional so that records written before it existed still decode.
    public var criticWidth: Int?
    public var latentDimension: Int = 64
    public var prior: String
    public var batch: Int = 64
    public var steps: Int = 10_000
    public var seed: UInt64 = 1
    /// Critic updates per generator update.
    public var criticSteps: Int
    public var optimizer: String
    public var learningRateCritic: Float
    public var learningRateGenerator: Float
    public var beta1: Float = 0.5
    public var beta2: Float = 0.999
    public var rmspropAlpha: Float = 0.99
    /// WGAN weight clipping c.
    public var clip: Float = 0.01
    /// WGAN-GP penalty λ.
    public var gradientPenalty: Float = 10
    /// BEGAN γ, λ_k and autoencoder code size.
    public var beganGamma: Float = 0.5
    public var beganLambdaK: Float = 0.001
    public var beganHidden: Int = 64
    /// SAN's R1 weight λ (penalty λ/2·E‖∇D(x)‖² on real data).
    public var r1: Float = 1
    /// Path length regularization weight (0 = off), its lazy interval and EMA decay.
    public var pathLengthWeight: Float = 0
    public var pathLengthInterval: Int = 4
    public var pathLengthDecay: Float = 0.01
    /// Mapping network depth (linear + leaky ReLU pairs) in front of the generator.
    public var mappingDepth: Int = 0
    /// Generator normalisation: "batch" (DCGAN, the default when nil) or
    /// "none" (BEGAN's decoder style: ELU, no batch norm). Optional so that
    /// records written before it existed still decode.
    public var generatorNorm: String?
    public var dropout: Float = 0
    /// Decay β of the exponential moving average of the generator's tensors that
    /// the checkpoint saves (Yazıcı et al. 2019); nil or 0 saves the live weights.
    /// Optional so that records written before it existed still decode.
    public var generatorAverage: Float?
    /// Checkpoint whose generator starts this run instead of a random init (e.g. to
    /// go on against a new, wider critic). Optional so that older records still decode.
    public var initGenerator: String?
    /// Steps and seconds of training behind that generator (from its record), so the
    /// total training time of the result can be read from its own file.
    public var initGeneratorSteps: Int?
    public var initGeneratorSeconds: Double?
    /// Critic updates before the first generator update, so a fresh critic is not a
    /// random signal to a trained generator. Optional so that older records still decode.
    public var criticWarmup: Int?
    public var sampleEvery: Int = 500
    public var checkpointEvery: Int = 500
    /// Losses whose magnitude exceeds this count as diverged.
    public var divergenceLimit: Float = 1e5

    public init(objective: Objective) {
        self.objective = objective.rawValue
        prior = objective.defaultPrior
        switch objective {
        case .wgan:
            (criticSteps, optimizer, learningRateCritic, learningRateGenerator) = (5, "rmsprop", 5e-5, 5e-5)
        case .wganGP:
            (criticSteps, optimizer, learningRateCritic, learningRateGenerator) = (5, "adam", 1e-4, 1e-4)
            (beta1, beta2) = (0, 0.9)
        case .began:
            (criticSteps, optimizer, learningRateCritic, learningRateGenerator) = (1, "adam", 1e-4, 1e-4)
            (beta1, beta2) = (0.5, 0.999)
        case .san, .ns:
            (criticSteps, optimizer, learningRateCritic, learningRateGenerator) = (1, "adam", 2e-4, 2e-4)
            (beta1, beta2) = (0.5, 0.999)
        }
    }

    public var objectiveValue: Objective { Objective(rawValue: objective) ?? .wganGP }
    public var priorValue: Prior { Prior(rawValue: prior) ?? .gaussian }
    public var averagesGenerator: Bool { (generatorAverage ?? 0) > 0 }
    public var criticWidthValue: Int { criticWidth ?? width }

    /// Checks values a user could have mistyped; each error names the flag.
    public func validate() throws {
        func bad(_ flag: String, _ why: String) -> InputError { InputError(.badArgument, key: flag, why) }
        guard Objective(rawValue: objective) != nil else { throw bad("--objective", "unknown objective \"\(objective)\"") }
        guard Prior(rawValue: prior) != nil else { throw bad("--prior", "must be gaussian or uniform") }
        guard batch >= 2 else { throw bad("--batch", "must be at least 2 (batch norm needs a batch)") }
        guard steps >= 1 else { throw bad("--steps", "must be positive") }
        guard latentDimension >= 1 else { throw bad("--latent-dim", "must be positive") }
        guard criticSteps >= 1 else { throw bad("--n-critic", "must be positive") }
        guard learningRateCritic > 0, learningRateGenerator > 0 else { throw bad("--lr", "must be positive") }
        guard pathLengthWeight >= 0, pathLengthInterval >= 1 else { throw bad("--plr", "must be ≥ 0") }
        guard generatorNorm == nil || generatorNorm == "batch" || generatorNorm == "none" else {
            throw bad("--generator-norm", "must be batch or none")
        }
        guard dropout >= 0, dropout < 1 else { throw bad("--dropout", "must be in [0, 1)") }
        guard (generatorAverage ?? 0) >= 0, (generatorAverage ?? 0) < 1 else { throw bad("--ema", "must be in [0, 1), e.g. 0.999") }
        guard beganHidden >= 1 else { throw bad("--began-hidden", "must be positive") }
        guard (criticWarmup ?? 0) >= 0 else { throw bad("--critic-warmup", "must be ≥ 0") }
        guard sampleEvery >= 1, checkpointEvery >= 1 else { throw bad("--checkpoint-every", "must be positive") }
        _ = try Models.widths(base: width, imageSize: imageSize)
        if let criticWidth { _ = try Models.widths(base: criticWidth, imageSize: imageSize, flag: "--critic-width") }
    }

    public var jsonString: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}
