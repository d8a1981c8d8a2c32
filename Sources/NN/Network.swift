import Foundation
import Tensors

/// An nn.Sequential built from a `NetworkSpec`, holding its parameters and
/// buffers under PyTorch's names (`<prefix>.<index>.<name>`).
public final class Network: @unchecked Sendable {
    public let spec: NetworkSpec
    /// Per layer: its tensors by short name (weight, bias, running_mean, running_var).
    private let layerTensors: [[String: Tensor]]
    /// Per batch-norm layer: running statistics (shared with `layerTensors`).
    private let statistics: [Int: BatchNormStatistics]
    /// Random state for dropout in training mode.
    public var dropoutRandom = RandomGenerator(seed: 0x5EED)
    /// Compiled evaluation-mode passes, by layer range and input shape; each
    /// caller takes one out while it runs (plans own their workspaces).
    private var idlePlans: [PlanKey: [InferencePlan]] = [:]
    private let planLock = NSLock()

    private struct PlanKey: Hashable {
        let lower: Int, upper: Int, inputShape: [Int]
    }

    /// Builds a network from tensors found by full name; every tensor the spec needs
    /// must be present with the right shape and finite values.
    public init(spec: NetworkSpec, file: String? = nil, tensor: (String) throws -> Tensor?) throws {
        self.spec = spec
        var perLayer: [[String: Tensor]] = []
        for (index, layer) in spec.layers.enumerated() {
            var own: [String: Tensor] = [:]
            for (name, shape) in layer.tensorShapes {
                let full = spec.tensorName(layer: index, name)
                guard let t = try tensor(full) else {
                    throw InputError(.missingTensor, file: file, key: full,
                                     "missing (layer \(index) is \(layer.op) and needs \(name) of shape \(shape))")
                }
                guard t.shape == shape else {
                    throw InputError(.shapeMismatch, file: file, key: full,
                                     "has shape \(t.shape), but layer \(index) (\(layer.op)) needs \(shape)")
                }
                try checkFinite(t, file: file, key: full)
                if name == "running_var", t.storage.contains(where: { $0 < 0 }) {
                    throw InputError(.badMetadata, file: file, key: full, "has negative variances")
                }
                own[name] = LayerSpec.isTrainable(name) ? t.detached().requiringGrad() : t.detached()
            }
            perLayer.append(own)
        }
        layerTensors = perLayer
        var stats: [Int: BatchNormStatistics] = [:]
        for (index, layer) in spec.layers.enumerated() {
            if case .batchNorm = layer, let mean = perLayer[index]["running_mean"], let variance = perLayer[index]["running_var"] {
                stats[index] = BatchNormStatistics(mean: mean, variance: variance)
            }
        }
        statistics = stats
    }

    /// A freshly initialised network (DCGAN initialisation: conv and linear weights
    /// N(0, 0.02), batch-norm scales N(1, 0.02), biases 0).
    public convenience init(spec: NetworkSpec, initializeWith rng: inout RandomGenerator) {
        var values: [String: Tensor] = [:]
        for (index, layer) in spec.layers.enumerated() {
            for (name, shape) in layer.tensorShapes {
                let full = spec.tensorName(layer: index, name)
                switch (layer, name) {
                case (.batchNorm, "weight"): values[full] = .normal(shape, mean: 1, std: 0.02, using: &rng)
                case (.batchNorm, "running_var"): values[full] = .ones(shape)
                case (_, "weight"): values[full] = .normal(shape, std: 0.02, using: &rng)
                default: values[full] = .zeros(shape)
                }
            }
        }
        // Shapes come from the spec itself, so this cannot fail.
        try! self.init(spec: spec) { values[$0] }
    }

    /// Trainable tensors in layer order (weight before bias).
    public var parameters: [Tensor] {
        layerTensors.flatMap { layer in ["weight", "bias"].compactMap { layer[$0] } }
    }

    /// Every tensor (parameters and running statistics) by full name, for saving.
    public var namedTensors: [(String, Tensor)] {
        var out: [(String, Tensor)] = []
        for (index, layer) in spec.layers.enumerated() {
            for (name, _) in layer.tensorShapes {
                if let t = layerTensors[index][name] { out.append((spec.tensorName(layer: index, name), t)) }
            }
        }
        return out
    }

    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }

    /// The tensor `name` of layer `index`, if it has one.
    public func tensor(layer index: Int, _ name: String) -> Tensor? { layerTensors[index][name] }

    /// Runs layers `range` (all by default). From layer 0 a flat [N, inputSize]
    /// input is reshaped to [N] + `inputShape`.
    public func callAsFunction(_ input: Tensor, training: Bool = false, layers range: Range<Int>? = nil) -> Tensor {
        let range = range ?? 0..<spec.layers.count
        var x = input
        if range.lowerBound == 0, let shape = spec.inputShape, x.shape.dropFirst().elementsEqual(shape) == false {
            x = x.reshaped([x.shape[0]] + shape)
        }
        if !training, !GradMode.isEnabled, x.rank >= 1, x.shape[0] > 0, let y = infer(x, range) { return y }
        for index in range { x = apply(index, x, training: training) }
        return x
    }

    /// The evaluation-mode pass through a compiled plan (no graph is recorded).
    private func infer(_ x: Tensor, _ range: Range<Int>) -> Tensor? {
        let key = PlanKey(lower: range.lowerBound, upper: range.upperBound, inputShape: Array(x.shape.dropFirst()))
        var plan: InferencePlan? = planLock.withLock {
            while let candidate = idlePlans[key]?.popLast() {
                if candidate.isCurrent { return candidate }
            }
            return nil
        }
        if plan == nil {
            plan = InferencePlan(spec: spec, range: range, inputShape: key.inputShape) { self.layerTensors[$0][$1] }
        }
        guard let plan else { return nil }
        let y = plan.run(x, samples: x.shape[0])
        planLock.withLock {
            if idlePlans[key, default: []].count < 4 { idlePlans[key, default: []].append(plan) }
        }
        return y
    }

    private func apply(_ index: Int, _ x: Tensor, training: Bool) -> Tensor {
        let t = layerTensors[index]
        switch spec.layers[index] {
        case .linear:
            return x.linear(weight: t["weight"]!, bias: t["bias"])
        case let .conv2d(_, _, _, stride, padding, _):
            return x.conv2d(weight: t["weight"]!, bias: t["bias"], stride: stride, padding: padding)
        case let .convTranspose2d(_, _, _, stride, padding, outputPadding, _):
            return x.convTranspose2d(weight: t["weight"]!, bias: t["bias"], stride: stride, padding: padding,
                                     outputPadding: outputPadding)
        case let .batchNorm(_, eps, _):
            return x.batchNorm(weight: t["weight"], bias: t["bias"], statistics: statistics[index]!,
                               training: training, eps: eps)
        case .relu: return x.relu()
        case let .leakyRelu(slope): return x.leakyRelu(slope)
        case let .elu(alpha): return x.elu(alpha)
        case .tanh: return x.tanh()
        case .sigmoid: return x.sigmoid()
        case .identity: return x
        case let .dropout(p):
            guard training, p > 0 else { return x }
            var keep = [Float](repeating: 0, count: x.count)
            let scale = 1 / (1 - p)
            for i in keep.indices { keep[i] = dropoutRandom.nextUnitFloat() >= p ? scale : 0 }
            return x * Tensor(shape: x.shape, storage: keep)
        case .flatten: return x.flattened()
        case let .unflatten(shape): return x.reshaped([x.shape[0]] + shape)
        case let .upsample(scale): return x.upsampleNearest(scale)
        case let .avgPool(kernel): return x.avgPool(kernel)
        }
    }

    /// Copies every tensor's values from `other` (same spec), e.g. for an EMA or a reload.
    public func load(from other: Network) {
        for (a, b) in zip(namedTensors, other.namedTensors) { a.1.assign(b.1) }
    }
}
