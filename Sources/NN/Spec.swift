import Foundation
import Tensors

/// One layer of an architecture spec (DESIGN.md, "Checkpoint format").
/// Field names and defaults follow PyTorch's modules.
public enum LayerSpec: Equatable, Sendable {
    case linear(inFeatures: Int, outFeatures: Int, bias: Bool)
    case conv2d(inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int, bias: Bool)
    case convTranspose2d(inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int,
                         outputPadding: Int, bias: Bool)
    case batchNorm(features: Int, eps: Float, spatial: Bool)
    case relu
    case leakyRelu(slope: Float)
    case elu(alpha: Float)
    case tanh
    case sigmoid
    case identity
    case dropout(p: Float)
    case flatten
    case unflatten(shape: [Int])
    case upsample(scale: Int)
    case avgPool(kernel: Int)

    /// The op name used in specs.
    public var op: String {
        switch self {
        case .linear: "linear"
        case .conv2d: "conv2d"
        case .convTranspose2d: "convtranspose2d"
        case let .batchNorm(_, _, spatial): spatial ? "batchnorm2d" : "batchnorm1d"
        case .relu: "relu"
        case .leakyRelu: "leakyrelu"
        case .elu: "elu"
        case .tanh: "tanh"
        case .sigmoid: "sigmoid"
        case .identity: "identity"
        case .dropout: "dropout"
        case .flatten: "flatten"
        case .unflatten: "unflatten"
        case .upsample: "upsample"
        case .avgPool: "avgpool"
        }
    }

    public static let knownOps = ["linear", "conv2d", "convtranspose2d", "batchnorm1d", "batchnorm2d", "relu",
                                  "leakyrelu", "elu", "tanh", "sigmoid", "identity", "dropout", "flatten",
                                  "unflatten", "upsample", "avgpool"]

    /// Parameter and buffer tensors the layer owns, by their PyTorch names and shapes.
    public var tensorShapes: [(name: String, shape: [Int])] {
        switch self {
        case let .linear(i, o, bias):
            [("weight", [o, i])] + (bias ? [("bias", [o])] : [])
        case let .conv2d(i, o, k, _, _, bias):
            [("weight", [o, i, k, k])] + (bias ? [("bias", [o])] : [])
        case let .convTranspose2d(i, o, k, _, _, _, bias):
            [("weight", [i, o, k, k])] + (bias ? [("bias", [o])] : [])
        case let .batchNorm(f, _, _):
            [("weight", [f]), ("bias", [f]), ("running_mean", [f]), ("running_var", [f])]
        default: []
        }
    }

    /// Names among `tensorShapes` that are trained (the rest are running statistics).
    public static func isTrainable(_ name: String) -> Bool { name == "weight" || name == "bias" }

    /// Output shape for one sample of `input` shape (no batch axis), or an error message.
    public func outputShape(_ input: [Int]) -> Result<[Int], SpecShapeError> {
        func fail(_ why: String) -> Result<[Int], SpecShapeError> { .failure(SpecShapeError(message: why)) }
        switch self {
        case let .linear(i, o, _):
            return input.last == i ? .success(Array(input.dropLast()) + [o])
                : fail("linear expects \(i) input features, gets shape \(input)")
        case let .conv2d(i, o, k, s, p, _):
            guard input.count == 3, input[0] == i else { return fail("conv2d expects [\(i), H, W], gets \(input)") }
            let oh = (input[1] + 2 * p - k) / s + 1, ow = (input[2] + 2 * p - k) / s + 1
            guard input[1] + 2 * p >= k, input[2] + 2 * p >= k else { return fail("conv2d kernel \(k) larger than padded input \(input)") }
            return .success([o, oh, ow])
        case let .convTranspose2d(i, o, k, s, p, op, _):
            guard input.count == 3, input[0] == i else { return fail("convtranspose2d expects [\(i), H, W], gets \(input)") }
            let oh = (input[1] - 1) * s - 2 * p + k + op, ow = (input[2] - 1) * s - 2 * p + k + op
            guard oh > 0, ow > 0 else { return fail("convtranspose2d gives an empty output for \(input)") }
            return .success([o, oh, ow])
        case let .batchNorm(f, _, spatial):
            let ok = spatial ? (input.count == 3 && input[0] == f) : (input.count == 1 && input[0] == f)
            return ok ? .success(input) : fail("\(op) expects \(spatial ? "[\(f), H, W]" : "[\(f)]"), gets \(input)")
        case .flatten:
            return .success([input.product])
        case let .unflatten(shape):
            return shape.product == input.product && input.count == 1 ? .success(shape)
                : fail("unflatten to \(shape) needs [\(shape.product)], gets \(input)")
        case let .upsample(scale):
            guard input.count == 3 else { return fail("upsample expects [C, H, W], gets \(input)") }
            return .success([input[0], input[1] * scale, input[2] * scale])
        case let .avgPool(k):
            guard input.count == 3, input[1] >= k, input[2] >= k else { return fail("avgpool \(k) expects [C, H, W] of at least \(k)×\(k), gets \(input)") }
            return .success([input[0], input[1] / k, input[2] / k])
        case .relu, .leakyRelu, .elu, .tanh, .sigmoid, .identity, .dropout:
            return .success(input)
        }
    }

    public var parameterCount: Int { tensorShapes.filter { Self.isTrainable($0.name) }.reduce(0) { $0 + $1.shape.product } }
}

public struct SpecShapeError: Error { public let message: String }

/// The prior latent vectors are drawn from.
public enum Prior: String, Sendable, CaseIterable {
    case gaussian, uniform

    /// E‖z‖ for a d-dimensional latent (used for the default stride range).
    public func expectedNorm(dimension d: Int) -> Float {
        switch self {
        case .gaussian: Float(d).squareRoot()
        case .uniform: (Float(d) / 3).squareRoot()
        }
    }

    /// n draws; with `truncation` ψ ≠ 1 each draw is scaled by ψ towards the prior's
    /// centre (0 for both priors), trading variety for typical samples.
    public func sample(_ n: Int, dimension d: Int, truncation: Float = 1, using rng: inout RandomGenerator) -> Tensor {
        let z: Tensor = switch self {
        case .gaussian: .normal([n, d], using: &rng)
        case .uniform: .uniform([n, d], low: -1, high: 1, using: &rng)
        }
        return truncation == 1 ? z : Tensor(shape: z.shape, storage: z.storage.map { $0 * truncation })
    }

    /// The truncation ψ the browser and the command line accept.
    public static let truncationRange: ClosedRange<Float> = 0.05...2
}

/// - Throws: `InputError(.badArgument)` naming `--truncation` when ψ is outside `Prior.truncationRange`.
public func checkTruncation(_ psi: Float) throws {
    let range = Prior.truncationRange
    guard psi.isFinite, range.contains(psi) else {
        throw InputError(.badArgument, key: "--truncation",
                         "is \(psi); give ψ from \(range.lowerBound) to \(range.upperBound) (1 draws from the prior itself)")
    }
}

/// An architecture: an nn.Sequential's layers plus how its input and output are read.
public struct NetworkSpec: Equatable, Sendable {
    /// Tensor names are `<prefix>.<index>.<name>` (or `<index>.<name>` when empty).
    public var prefix: String
    public var layers: [LayerSpec]
    /// Shape one sample is reshaped to before layer 0 (e.g. [d, 1, 1]); nil = as given.
    public var inputShape: [Int]?
    /// Size of the flat input vector (`latent_dim` for a generator).
    public var inputSize: Int
    public var prior: Prior?
    public var imageSize: Int?
    public var channels: Int?
    public var valueRange: (Float, Float)?
    /// Layers 0..<mappingLayers form a mapping network z → w.
    public var mappingLayers: Int
    /// Keys the spec carried that we do not interpret, kept so a rewrite loses nothing.
    public var extra: [String: String]

    public init(prefix: String, layers: [LayerSpec], inputSize: Int, inputShape: [Int]? = nil, prior: Prior? = nil,
                imageSize: Int? = nil, channels: Int? = nil, valueRange: (Float, Float)? = nil, mappingLayers: Int = 0) {
        self.prefix = prefix
        self.layers = layers
        self.inputSize = inputSize
        self.inputShape = inputShape
        self.prior = prior
        self.imageSize = imageSize
        self.channels = channels
        self.valueRange = valueRange
        self.mappingLayers = mappingLayers
        self.extra = [:]
    }

    public static func == (a: NetworkSpec, b: NetworkSpec) -> Bool {
        a.prefix == b.prefix && a.layers == b.layers && a.inputShape == b.inputShape && a.inputSize == b.inputSize
            && a.prior == b.prior && a.imageSize == b.imageSize && a.channels == b.channels
            && a.valueRange?.0 == b.valueRange?.0 && a.valueRange?.1 == b.valueRange?.1 && a.mappingLayers == b.mappingLayers
    }

    /// Full tensor name of layer `index`'s tensor `name`.
    public func tensorName(layer index: Int, _ name: String) -> String {
        prefix.isEmpty ? "\(index).\(name)" : "\(prefix).\(index).\(name)"
    }

    /// Multiply-add FLOPs (2 per MAC) of one sample through the linear and
    /// convolution layers; batch norm, activations and reshapes are not counted
    /// (they are < 1 % for the models here), the usual convention for GFLOP/s figures.
    public func forwardFLOPs() throws -> Double {
        let shapes = try shapes()
        var total = 0.0
        for (index, layer) in layers.enumerated() {
            let input = shapes[index], output = shapes[index + 1]
            switch layer {
            case let .linear(i, o, _):
                // Leading axes (if any) each apply the matrix once.
                total += 2 * Double(i * o) * Double(input.dropLast().reduce(1, *))
            case let .conv2d(i, o, k, _, _, _):
                total += 2 * Double(i * o * k * k) * Double(output[1] * output[2])
            case let .convTranspose2d(i, o, k, _, _, _, _):
                // Every input pixel scatters a k×k patch to every output channel.
                total += 2 * Double(i * o * k * k) * Double(input[1] * input[2])
            default: break
            }
        }
        return total
    }

    /// Per-sample shapes after each layer, starting from the input shape.
    public func shapes() throws -> [[Int]] {
        var current = inputShape ?? [inputSize]
        var result = [current]
        for (i, layer) in layers.enumerated() {
            switch layer.outputShape(current) {
            case let .success(next): current = next
            case let .failure(error):
                throw InputError(.badSpec, key: "layers[\(i)] (\(layer.op))", error.message)
            }
            result.append(current)
        }
        return result
    }
}
