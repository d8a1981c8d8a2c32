import Foundation
import NN
import Tensors

/// Figures from one generator step (and the critic steps before it).
public struct StepMetrics: Codable, Sendable {
    public var step: Int
    public var lossCritic: Float
    public var lossGenerator: Float
    /// E[D(x)] − E[D(G(z))] for Wasserstein critics.
    public var wasserstein: Float?
    public var gradientPenalty: Float?
    public var r1: Float?
    public var kT: Float?
    /// BEGAN's convergence measure M = L(x) + |γL(x) − L(G(z))|.
    public var convergence: Float?
    /// Mean path length ‖Jᵀy‖ on the steps that regularize it, and its EMA.
    public var pathLength: Float?
    public var pathLengthMean: Float?
    public var seconds: Double

    /// A short text for the progress line.
    public var summary: String {
        var parts = [String(format: "D %.4f  G %.4f", lossCritic, lossGenerator)]
        if let wasserstein { parts.append(String(format: "W %.4f", wasserstein)) }
        if let gradientPenalty { parts.append(String(format: "GP %.4f", gradientPenalty)) }
        if let r1 { parts.append(String(format: "R1 %.4f", r1)) }
        if let kT { parts.append(String(format: "k %.4f", kT)) }
        if let convergence { parts.append(String(format: "M %.4f", convergence)) }
        if let pathLengthMean { parts.append(String(format: "PL %.3f", pathLengthMean)) }
        return parts.joined(separator: "  ")
    }
}

/// The loss became NaN, infinite or larger than the divergence limit.
public struct TrainingDiverged: Error, CustomStringConvertible {
    public let step: Int
    public let what: String
    public var description: String { "training diverged at step \(step): \(what)" }
}

/// A source of real images in the generator's value range, [n, C, H, W].
public typealias RealBatches = (_ count: Int, _ rng: inout RandomGenerator) -> Tensor

/// Trains a generator and its critic with one of the objectives of DESIGN.md.
public final class Trainer {
    public let config: TrainingConfig
    /// The generator the optimizer trains.
    public let generator: Network
    /// With `--ema`: the moving average of `generator` that checkpoints and sample grids use.
    public let averagedGenerator: Network?
    public let critic: Network
    public let criticOptimizer: Optimizer
    public let generatorOptimizer: Optimizer
    public private(set) var rng: RandomGenerator
    public private(set) var step = 0
    public private(set) var kT: Float = 0
    public private(set) var pathLengthMean: Float = 0
    public private(set) var trainingSeconds: Double = 0
    /// Latents for the periodic sample grids, fixed for the whole run.
    public let fixedLatents: Tensor
    /// SAN: the critic's last linear layer w = s·ω as a scale s [1] and a raw direction v [1, F], ω = v/‖v‖.
    public let sanScale: Tensor?
    public let sanDirection: Tensor?
    /// Whether the critic may split a batch over two threads (see `splitsCriticBatch`);
    /// fixed by its architecture, so decided once.
    let criticAllowsSplit: Bool
    let realBatches: RealBatches

    public var objective: Objective { config.objectiveValue }

    /// A new run from freshly initialised networks.
    public convenience init(config: TrainingConfig, realBatches: @escaping RealBatches) throws {
        var config = config
        try config.validate()
        var rng = RandomGenerator(seed: config.seed)
        let gSpec = try Models.dcganGenerator(latentDimension: config.latentDimension, imageSize: config.imageSize,
                                              width: config.width, prior: config.priorValue, mappingDepth: config.mappingDepth,
                                              batchNorm: config.generatorNorm != "none")
        let cSpec = config.objectiveValue == .began
            ? try Models.beganAutoencoder(imageSize: config.imageSize, width: config.criticWidthValue, hidden: config.beganHidden)
            : try Models.dcganCritic(imageSize: config.imageSize, width: config.criticWidthValue, dropout: config.dropout,
                                     lastBias: config.objectiveValue != .san)
        let generator = Network(spec: gSpec, initializeWith: &rng)
        let critic = Network(spec: cSpec, initializeWith: &rng)
        var startingPathLengthMean: Float?
        if let path = config.initGenerator {
            let checkpoint = try Checkpoint.load(path: path)
            // Tensors are copied layer by layer, so a file with another tensor-name prefix (e.g. from PyTorch) is fine.
            var saved = checkpoint.generator.spec
            saved.prefix = gSpec.prefix
            guard saved == gSpec else {
                throw InputError(.badArgument, file: path, key: "--init-generator",
                                 "its generator differs from the one these flags build: match --width, --latent-dim, --image-size, --prior, --mapping and --generator-norm")
            }
            generator.load(from: checkpoint.generator)
            let record = checkpoint.trainingRecordFields
            config.initGeneratorSteps = record?["steps"] as? Int
            config.initGeneratorSeconds = record?["training_seconds"] as? Double
            // Path lengths of a trained generator are far from 0: go on from its run's EMA when its state is there.
            startingPathLengthMean = (try? SafetensorsFile.read(path: path + ".state"))?.metadata["path_length_mean"].flatMap(Float.init)
        }
        try self.init(config: config, generator: generator, critic: critic, rng: rng, realBatches: realBatches)
        if let startingPathLengthMean { pathLengthMean = startingPathLengthMean }
    }

    /// `averaged` continues an average saved by an earlier run; without it the average starts at `generator`.
    init(config: TrainingConfig, generator: Network, averaged: Network? = nil, critic: Network, rng: RandomGenerator,
         realBatches: @escaping RealBatches) throws {
        self.config = config
        self.generator = generator
        if config.averagesGenerator {
            let start = Dictionary(uniqueKeysWithValues: generator.namedTensors)
            averagedGenerator = try averaged ?? Network(spec: generator.spec) { name in
                start[name].map { Tensor(shape: $0.shape, storage: $0.storage) }
            }
        } else {
            averagedGenerator = nil
        }
        self.critic = critic
        self.realBatches = realBatches
        var rng = rng
        var fixedRNG = RandomGenerator(seed: config.seed ^ 0xF1ED)
        fixedLatents = config.priorValue.sample(64, dimension: config.latentDimension, using: &fixedRNG)
        var criticParameters = critic.parameters
        if config.objectiveValue == .san {
            let last = critic.spec.layers.count - 1
            guard let weight = critic.tensor(layer: last, "weight") else {
                throw InputError(.badSpec, key: "critic", "SAN needs a final linear layer")
            }
            let norm = max(weight.storage.map { $0 * $0 }.reduce(0, +).squareRoot(), 1e-12)
            sanScale = Tensor([1]).requiringGrad()
            sanDirection = Tensor(shape: weight.shape, storage: weight.storage.map { $0 / norm }).requiringGrad()
            criticParameters = criticParameters.filter { $0 !== weight } + [sanScale!, sanDirection!]
        } else {
            sanScale = nil
            sanDirection = nil
        }
        criticAllowsSplit = config.dropout == 0
            && (try? critic.spec.forwardFLOPs()).map { $0 <= Self.splitCriticFLOPs } == true
        func optimizer(_ parameters: [Tensor], _ lr: Float) -> Optimizer {
            config.optimizer == "rmsprop"
                ? RMSProp(parameters, learningRate: lr, alpha: config.rmspropAlpha)
                : Adam(parameters, learningRate: lr, beta1: config.beta1, beta2: config.beta2)
        }
        criticOptimizer = optimizer(criticParameters, config.learningRateCritic)
        generatorOptimizer = optimizer(generator.parameters, config.learningRateGenerator)
        _ = rng.next()  // the init above consumed nothing; keep the stream distinct from init
        self.rng = rng
    }

    // MARK: losses

    /// SAN's unit direction ω = v/‖v‖ as [1, F].
    func sanOmega() -> Tensor {
        let v = sanDirection!
        return v / (v.square().sum() + 1e-12).sqrt()
    }

    /// Critic output for a batch, [N, 1]. SAN uses ⟨s·h(x), ω⟩ (no stop-gradients).
    func criticOutput(_ x: Tensor) -> Tensor {
        if objective == .san {
            let h = critic(x, training: true, layers: 0..<critic.spec.layers.count - 1)
            return matmul(h * sanScale!, sanOmega(), transposeB: true)
        }
        return critic(x, training: true)
    }

    /// BEGAN's per-sample-mean autoencoder loss L(v) = mean|v − AE(v)| over the batch.
    func reconstructionLoss(_ x: Tensor) -> Tensor {
        (x - critic(x, training: true)).abs().mean()
    }

    /// L_D on one batch (or one part of a batch) and the figures for the log.
    struct CriticPass {
        var loss: Tensor
        var wasserstein: Float?
        var gradientPenalty: Float?
        var r1: Float?
        /// BEGAN: L(x) and L(G(z)), for the k_t update.
        var reconstruction: (real: Float, fake: Float)?
    }

    /// L_D for one critic step. `interpolation` is WGAN-GP's t ~ U[0, 1], [N, 1, 1, 1].
    /// Every objective's L_D is a mean over samples, so the passes of a batch's parts,
    /// weighted by their sizes, give the whole batch's loss and gradient.
    func criticLoss(real: Tensor, fake: Tensor, interpolation: Tensor? = nil) -> CriticPass {
        let n = real.shape[0]
        switch objective {
        case .wgan:
            let d = criticOutput(Tensor.concat([real, fake], axis: 0))
            let (dReal, dFake) = (d.slice([0..<n]).mean(), d.slice([n..<2 * n]).mean())
            return CriticPass(loss: dFake - dReal, wasserstein: dReal.scalar - dFake.scalar)
        case .wganGP:
            let d = criticOutput(Tensor.concat([real, fake], axis: 0))
            let (dReal, dFake) = (d.slice([0..<n]).mean(), d.slice([n..<2 * n]).mean())
            let t = interpolation!
            let interpolates = withoutGrad { real * t + fake * (1 - t) }.requiringGrad()
            let gx = gradients(of: criticOutput(interpolates).sum(), wrt: [interpolates], createGraph: true)[0]
            let norms = (gx.square().sum(axes: [1, 2, 3]) + 1e-12).sqrt()
            let penalty = (norms - 1).square().mean()
            return CriticPass(loss: dFake - dReal + penalty * config.gradientPenalty,
                              wasserstein: dReal.scalar - dFake.scalar, gradientPenalty: penalty.scalar)
        case .began:
            let lossReal = reconstructionLoss(real), lossFake = reconstructionLoss(fake)
            return CriticPass(loss: lossReal - lossFake * kT, reconstruction: (lossReal.scalar, lossFake.scalar))
        case .san:
            let realLeaf = real.detached().requiringGrad()
            let h = critic(Tensor.concat([realLeaf, fake], axis: 0), training: true,
                           layers: 0..<critic.spec.layers.count - 1)
            let scaled = h * sanScale!
            let omega = sanOmega()
            // Function part: trains h and s through the hinge loss, ω held fixed.
            let outFun = matmul(scaled, omega.detached(), transposeB: true)
            let hinge = (1 - outFun.slice([0..<n])).relu().mean() + (1 + outFun.slice([n..<2 * n])).relu().mean()
            // Direction part: trains ω through the Wasserstein loss, h held fixed.
            let outDir = matmul(scaled.detached(), omega, transposeB: true)
            let direction = outDir.slice([n..<2 * n]).mean() - outDir.slice([0..<n]).mean()
            var pass = CriticPass(loss: hinge + direction, wasserstein: -direction.scalar)
            if config.r1 > 0 {
                let dReal = matmul(scaled.slice([0..<n]), omega, transposeB: true)
                let gx = gradients(of: dReal.sum(), wrt: [realLeaf], createGraph: true)[0]
                let r1 = gx.square().sum(axes: [1, 2, 3]).mean()
                pass.r1 = r1.scalar
                pass.loss = pass.loss + r1 * (config.r1 / 2)
            }
            return pass
        case .ns:
            let d = criticOutput(Tensor.concat([real, fake], axis: 0))
            return CriticPass(loss: (-d.slice([0..<n])).softplus().mean() + d.slice([n..<2 * n]).softplus().mean())
        }
    }

    /// Critics up to this many FLOPs per sample split their batch over two threads. Measured
    /// (2 threads, batch 64, WGAN-GP): the shipped width-64 critic (2.5 MFLOP) trains 1.2× faster
    /// split, width 128 (9.2 MFLOP) about 1.1×; dcgan32's (35 MFLOP) is level and dcgan64's
    /// (53 MFLOP) 1.15× slower, its GEMMs being large enough to split well themselves.
    static let splitCriticFLOPs = 20e6

    /// Whether critic steps split their batch over two threads. Exact (up to rounding) because
    /// the critic has no batch norm and L_D is a mean over samples; dropout draws from the
    /// critic's one random stream, so a critic with dropout stays on one thread.
    var splitsCriticBatch: Bool {
        workerThreadCount >= 2 && config.batch >= 8 && criticAllowsSplit
    }

    /// L_D's value, its gradients with respect to the critic's parameters, and the figures
    /// for the log. With `splitsCriticBatch` the two halves of the batch run concurrently
    /// (each one's kernels on one thread, which for layers this small beats splitting every
    /// kernel), and their gradients are combined weighted by size.
    func criticGradients(real: Tensor, fake: Tensor, interpolation: Tensor?,
                         metrics: inout StepMetrics) -> (loss: Float, gradients: [Tensor]) {
        let n = real.shape[0]
        let parameters = criticOptimizer.parameters
        let bounds = splitsCriticBatch ? [0, n / 2, n] : [0, n]
        let parts = bounds.count - 1
        var passes = [CriticPass?](repeating: nil, count: parts)
        var partGradients = [[Tensor]](repeating: [], count: parts)
        passes.withUnsafeMutableBufferPointer { passes in
            partGradients.withUnsafeMutableBufferPointer { partGradients in
                runConcurrently(parts: parts) { part in
                    let range = bounds[part]..<bounds[part + 1]
                    let whole = parts == 1
                    let pass = criticLoss(real: whole ? real : real.slice([range]),
                                          fake: whole ? fake : fake.slice([range]),
                                          interpolation: whole ? interpolation : interpolation?.slice([range]))
                    partGradients[part] = gradients(of: pass.loss, wrt: parameters)
                    passes[part] = pass
                }
            }
        }
        // Size-weighted means of the parts' figures and gradients.
        let weights = (0..<parts).map { Float(bounds[$0 + 1] - bounds[$0]) / Float(n) }
        func mean(_ value: (CriticPass) -> Float?) -> Float? {
            var total: Float = 0
            for (pass, weight) in zip(passes, weights) {
                guard let v = value(pass!) else { return nil }
                total += weight * v
            }
            return total
        }
        var combined = partGradients[0]
        if parts > 1 {
            combined = withoutGrad {
                (0..<parameters.count).map { i in
                    (1..<parts).reduce(partGradients[0][i] * weights[0]) { $0 + partGradients[$1][i] * weights[$1] }
                }
            }
        }
        if let value = mean(\.wasserstein) { metrics.wasserstein = value }
        if let value = mean(\.gradientPenalty) { metrics.gradientPenalty = value }
        if let value = mean(\.r1) { metrics.r1 = value }
        if let lossReal = mean({ $0.reconstruction?.real }), let lossFake = mean({ $0.reconstruction?.fake }) {
            // BEGAN's k_t moves once per critic step, after L_D used its current value.
            let balance = config.beganGamma * lossReal - lossFake
            kT = min(max(kT + config.beganLambdaK * balance, 0), 1)
            metrics.kT = kT
            metrics.convergence = lossReal + abs(balance)
        }
        return (mean { $0.loss.scalar }!, combined)
    }

    /// L_G on a batch of generated images.
    func generatorLoss(_ fake: Tensor) -> Tensor {
        switch objective {
        case .wgan, .wganGP, .san: -criticOutput(fake).mean()
        case .began: reconstructionLoss(fake)
        case .ns: (-criticOutput(fake)).softplus().mean()
        }
    }

    /// Path length penalty on a half batch: ℓ = ‖∇_w(G(w)·y)‖, EMA a, weight·interval·(ℓ − a)².
    func pathLengthPenalty(metrics: inout StepMetrics) -> Tensor {
        let n = max(config.batch / 2, 2)
        let z = config.priorValue.sample(n, dimension: config.latentDimension, using: &rng)
        let mapping = generator.spec.mappingLayers
        let total = generator.spec.layers.count
        let w: Tensor
        if mapping > 0 {
            let zLeaf = z.requiringGrad()
            w = generator(zLeaf, training: true, layers: 0..<mapping)
        } else {
            w = z.requiringGrad()
        }
        let images = generator(w, training: true, layers: mapping..<total)
        let pixels = Float(images.shape[2] * images.shape[3])
        let y = Tensor.normal(images.shape, std: 1 / pixels.squareRoot(), using: &rng)
        let jty = gradients(of: (images * y).sum(), wrt: [w], createGraph: true)[0]
        let lengths = (jty.square().sum(axes: [1]) + 1e-8).sqrt()
        let mean = lengths.mean().scalar
        pathLengthMean += config.pathLengthDecay * (mean - pathLengthMean)
        metrics.pathLength = mean
        metrics.pathLengthMean = pathLengthMean
        return (lengths - pathLengthMean).square().mean() * (config.pathLengthWeight * Float(config.pathLengthInterval))
    }

    // MARK: the step

    func checkFinite(_ value: Float, _ what: String) throws {
        guard value.isFinite, abs(value) <= config.divergenceLimit else {
            throw TrainingDiverged(step: step + 1, what: "\(what) = \(value)")
        }
    }

    /// One generator update preceded by `criticSteps` critic updates.
    @discardableResult
    public func trainStep() throws -> StepMetrics {
        let start = DispatchTime.now().uptimeNanoseconds
        var metrics = StepMetrics(step: step + 1, lossCritic: 0, lossGenerator: 0, seconds: 0)
        let b = config.batch
        let criticUpdates = config.criticSteps + (step == 0 ? config.criticWarmup ?? 0 : 0)
        for _ in 0..<criticUpdates {
            let real = realBatches(b, &rng)
            let z = config.priorValue.sample(b, dimension: config.latentDimension, using: &rng)
            let fake = withoutGrad { generator(z, training: true) }
            let t = objective == .wganGP ? Tensor.uniform([b, 1, 1, 1], using: &rng) : nil
            let (loss, grads) = criticGradients(real: real, fake: fake, interpolation: t, metrics: &metrics)
            try checkFinite(loss, "critic loss")
            metrics.lossCritic = loss
            criticOptimizer.step(grads)
            if objective == .wgan { criticOptimizer.clipParameters(config.clip) }
            syncSANWeight()
        }
        let z = config.priorValue.sample(b, dimension: config.latentDimension, using: &rng)
        var loss = generatorLoss(generator(z, training: true))
        metrics.lossGenerator = loss.scalar
        if config.pathLengthWeight > 0 && (step + 1) % config.pathLengthInterval == 0 {
            loss = loss + pathLengthPenalty(metrics: &metrics)
        }
        try checkFinite(loss.scalar, "generator loss")
        generatorOptimizer.step(gradients(of: loss, wrt: generatorOptimizer.parameters))
        updateAverage()
        step += 1
        metrics.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        trainingSeconds += metrics.seconds
        return metrics
    }

    /// average ← β·average + (1 − β)·live, over every tensor (batch-norm statistics too, as BigGAN does).
    func updateAverage() {
        guard let averagedGenerator, let beta = config.generatorAverage else { return }
        for ((_, average), (_, live)) in zip(averagedGenerator.namedTensors, generator.namedTensors) {
            live.storage.withUnsafeBufferPointer { source in
                average.update { target in
                    for i in 0..<target.count { target[i] = beta * target[i] + (1 - beta) * source[i] }
                }
            }
        }
    }

    /// The generator that checkpoints and sample grids show: the average when there is one.
    public var savedGenerator: Network { averagedGenerator ?? generator }

    // MARK: saving and resuming

    /// Writes SAN's s·ω into the critic's last linear weight so the file holds a plain linear layer.
    func syncSANWeight() {
        guard objective == .san, let weight = critic.tensor(layer: critic.spec.layers.count - 1, "weight") else { return }
        weight.assign(withoutGrad { sanOmega() * sanScale! }.storage)
    }

    /// The checkpoint as it stands: generator, critic and the training record.
    public func checkpoint() -> Checkpoint {
        syncSANWeight()
        let record: [String: Any] = [
            "objective": config.objective, "steps": step, "seed": config.seed,
            "training_seconds": (trainingSeconds * 10).rounded() / 10,
            "updated": ISO8601DateFormatter().string(from: Date()),
            "config": (try? JSONSerialization.jsonObject(with: Data(config.jsonString.utf8))) ?? [:],
        ]
        let text = (try? JSONSerialization.data(withJSONObject: record, options: [.sortedKeys]))
            .map { String(decoding: $0, as: UTF8.self) }
        return Checkpoint(generator: savedGenerator, critic: critic, trainingRecord: text)
    }

    /// Optimizer moments, EMAs, k_t and RNG state: what `--resume` needs beyond the checkpoint.
    public func stateTensors() -> (tensors: [(String, Tensor)], metadata: [String: String]) {
        var tensors: [(String, Tensor)] = []
        tensors += criticOptimizer.state.map { ("critic_optimizer.\($0.key)", $0.value) }
        tensors += generatorOptimizer.state.map { ("generator_optimizer.\($0.key)", $0.value) }
        if let sanScale, let sanDirection { tensors += [("san.scale", sanScale), ("san.direction", sanDirection)] }
        // The checkpoint holds the average; the weights being trained live here.
        if averagedGenerator != nil { tensors += generator.namedTensors.map { ("live_generator.\($0.0)", $0.1) } }
        let words = { (r: RandomGenerator) in r.words.map(String.init).joined(separator: ",") }
        let metadata: [String: String] = [
            "format": "latent-tui-state/1", "step": "\(step)", "k_t": "\(kT)", "path_length_mean": "\(pathLengthMean)",
            "training_seconds": "\(trainingSeconds)", "rng": words(rng),
            "critic_dropout_rng": words(critic.dropoutRandom), "config": config.jsonString,
        ]
        return (tensors, metadata)
    }

    /// Saves `path` (checkpoint) and `path.state` atomically.
    public func save(to path: String) throws {
        try checkpoint().save(to: path)
        let (tensors, metadata) = stateTensors()
        try SafetensorsFile.write(tensors: tensors, metadata: metadata, to: path + ".state")
    }

    /// The configuration a run saved in `path.state` (to open its dataset before resuming).
    public static func savedConfig(at path: String) throws -> TrainingConfig {
        let statePath = path + ".state"
        guard FileManager.default.fileExists(atPath: statePath) else {
            throw InputError(.unreadable, file: statePath, "missing: --resume needs the .state file written beside the checkpoint")
        }
        let state = try SafetensorsFile.read(path: statePath)
        guard let text = state.metadata["config"],
              let config = try? JSONDecoder().decode(TrainingConfig.self, from: Data(text.utf8)) else {
            throw InputError(.badMetadata, file: statePath, key: "config", "is not a training configuration")
        }
        return config
    }

    /// Continues a run from `path` and `path.state`. `steps` may raise the total.
    /// `generatorAverage` switches the moving average on (or changes its decay) from here on.
    /// `learningRate` sets both networks' rate from here on (a step decay across resumes).
    public static func resume(from path: String, steps: Int? = nil, generatorAverage: Float? = nil,
                              learningRate: Float? = nil, sampleEvery: Int? = nil, checkpointEvery: Int? = nil,
                              realBatches: @escaping RealBatches) throws -> Trainer {
        let ckpt = try Checkpoint.load(path: path)
        var config = try savedConfig(at: path)
        if let steps { config.steps = steps }
        if let generatorAverage { config.generatorAverage = generatorAverage }
        if let learningRate { (config.learningRateCritic, config.learningRateGenerator) = (learningRate, learningRate) }
        if let sampleEvery { config.sampleEvery = sampleEvery }
        if let checkpointEvery { config.checkpointEvery = checkpointEvery }
        try config.validate()
        let statePath = path + ".state"
        let state = try SafetensorsFile.read(path: statePath)
        func field(_ key: String) throws -> String {
            guard let value = state.metadata[key] else { throw InputError(.badMetadata, file: statePath, key: key, "missing") }
            return value
        }
        func words(_ key: String) throws -> RandomGenerator {
            let parts = try field(key).split(separator: ",").compactMap { UInt64($0) }
            guard parts.count == 4 else { throw InputError(.badMetadata, file: statePath, key: key, "needs 4 words") }
            return RandomGenerator(words: parts)
        }
        guard let critic = ckpt.critic else { throw InputError(.missingTensor, file: path, key: "critic", "missing: cannot resume without the critic") }
        // A run that averaged saved the average as the checkpoint's generator and the live weights in the state.
        var live = ckpt.generator, averaged: Network?
        if state.names.contains(where: { $0.hasPrefix("live_generator.") }) {
            live = try Network(spec: ckpt.generator.spec, file: statePath) { name in
                state.contains("live_generator.\(name)") ? try state.tensor("live_generator.\(name)") : nil
            }
            averaged = config.averagesGenerator ? ckpt.generator : nil
        }
        let trainer = try Trainer(config: config, generator: live, averaged: averaged, critic: critic, rng: try words("rng"),
                                  realBatches: realBatches)
        trainer.rng = try words("rng")
        trainer.critic.dropoutRandom = try words("critic_dropout_rng")
        trainer.step = Int(try field("step")) ?? 0
        trainer.kT = Float(try field("k_t")) ?? 0
        trainer.pathLengthMean = Float(try field("path_length_mean")) ?? 0
        trainer.trainingSeconds = Double(try field("training_seconds")) ?? 0
        func group(_ prefix: String) throws -> [String: Tensor] {
            var out: [String: Tensor] = [:]
            for name in state.names where name.hasPrefix(prefix) { out[String(name.dropFirst(prefix.count))] = try state.tensor(name) }
            return out
        }
        do {
            try trainer.criticOptimizer.loadState(try group("critic_optimizer."))
            try trainer.generatorOptimizer.loadState(try group("generator_optimizer."))
        } catch let error as OptimizerStateError {
            throw InputError(.badMetadata, file: statePath, key: error.key, "optimizer state missing or of the wrong shape")
        }
        if let s = trainer.sanScale, let v = trainer.sanDirection {
            guard state.contains("san.scale"), state.contains("san.direction") else {
                throw InputError(.missingTensor, file: statePath, key: "san.scale", "missing for a SAN run")
            }
            s.assign(try state.tensor("san.scale"))
            v.assign(try state.tensor("san.direction"))
        }
        return trainer
    }

    /// Samples from the fixed latents (eval-mode generator) for the periodic grids.
    public func fixedSamples() -> Tensor {
        withoutGrad { savedGenerator(fixedLatents) }
    }
}
