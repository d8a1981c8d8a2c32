import Foundation
import NN
import Tensors
import XCTest

/// Tiny generators built in code (test bundles cannot share fixtures across
/// targets). Weights are N(0, 1/fan_in) so images respond visibly to z; the
/// first layer's columns can be scaled so some latent axes matter more.
enum TinyGenerator {
    /// z [d] → Linear(d, hidden) → ReLU → Linear(hidden, 3·s·s) → Tanh → Unflatten [3, s, s].
    /// The default split (layer 2) gives flat features [hidden].
    static func linear(d: Int = 8, prior: Prior = .gaussian, hidden: Int = 32, size: Int = 8,
                       gains: [Float]? = nil, seed: UInt64 = 1) -> Checkpoint {
        let spec = NetworkSpec(prefix: "g",
                               layers: [.linear(inFeatures: d, outFeatures: hidden, bias: true), .relu,
                                        .linear(inFeatures: hidden, outFeatures: 3 * size * size, bias: true), .tanh,
                                        .unflatten(shape: [3, size, size])],
                               inputSize: d, prior: prior, imageSize: size, channels: 3, valueRange: (-1, 1))
        return make(spec, gains: gains, seed: seed)
    }

    /// z [d, 1, 1] → ConvT(d, 8, 4) → ReLU → ConvT(8, 3, 4, stride 2, pad 1) → Tanh: 8×8 images.
    /// The default split (layer 2) gives features [8, 4, 4] (C ≤ HW: the Gram form of l_var).
    static func convolutional(d: Int = 8, prior: Prior = .gaussian, gains: [Float]? = nil, seed: UInt64 = 1) -> Checkpoint {
        let spec = NetworkSpec(prefix: "main",
                               layers: [.convTranspose2d(inChannels: d, outChannels: 8, kernel: 4, stride: 1, padding: 0,
                                                         outputPadding: 0, bias: false), .relu,
                                        .convTranspose2d(inChannels: 8, outChannels: 3, kernel: 4, stride: 2, padding: 1,
                                                         outputPadding: 0, bias: false), .tanh],
                               inputSize: d, inputShape: [d, 1, 1], prior: prior, imageSize: 8, channels: 3,
                               valueRange: (-1, 1))
        return make(spec, gains: gains, seed: seed)
    }

    static func make(_ spec: NetworkSpec, gains: [Float]?, seed: UInt64) -> Checkpoint {
        var rng = RandomGenerator(seed: seed)
        var values: [String: Tensor] = [:]
        for (index, layer) in spec.layers.enumerated() {
            for (name, shape) in layer.tensorShapes {
                let full = spec.tensorName(layer: index, name)
                if name == "weight" {
                    let fanIn: Int
                    switch layer {
                    case let .linear(i, _, _): fanIn = i
                    case let .convTranspose2d(i, _, _, _, _, _, _): fanIn = i
                    default: fanIn = shape.dropFirst().reduce(1, *)
                    }
                    var w = Tensor.normal(shape, std: 1 / Float(fanIn).squareRoot(), using: &rng)
                    if index == 0, let gains { w = scaleLatentAxes(w, layer: layer, gains: gains) }
                    values[full] = w
                } else {
                    values[full] = .normal(shape, std: 0.1, using: &rng)
                }
            }
        }
        let generator = try! Network(spec: spec) { values[$0] }
        return Checkpoint(generator: generator)
    }

    /// Multiplies the first layer's weights for latent axis i by gains[i].
    static func scaleLatentAxes(_ w: Tensor, layer: LayerSpec, gains: [Float]) -> Tensor {
        switch layer {
        case .linear:  // [out, d]: scale columns
            return w * Tensor(gains, shape: [1, gains.count])
        default:       // conv-transpose [d, out, k, k]: scale the leading axis
            return w * Tensor(gains, shape: [gains.count, 1, 1, 1])
        }
    }
}

/// A fresh temporary folder per test, removed afterwards.
final class TemporaryFolder {
    let path: String
    init() {
        path = (NSTemporaryDirectory() as NSString).appendingPathComponent("latent-tests-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// Rows of a [n, d] tensor as arrays.
func rows(_ t: Tensor) -> [[Float]] {
    let d = t.shape[1]
    return (0..<t.shape[0]).map { Array(t.storage[($0 * d)..<(($0 + 1) * d)]) }
}

func dot(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
func norm(_ a: [Float]) -> Float { dot(a, a).squareRoot() }
