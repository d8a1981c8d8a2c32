import GAN
import NN

/// The DCGAN models the benchmark compares with PyTorch and ONNX Runtime
/// (scripts/bench_peers.py builds the same ones). `width` is what
/// `Models.dcganGenerator` takes; `widths` is the reference written out, so the
/// benchmark notices if Models ever builds something else.
struct ReferenceModel {
    let name: String
    let latent: Int
    let imageSize: Int
    let width: Int
    /// Generator channels from the 4×4 stage outward; the critic uses them reversed.
    let widths: [Int]
    var channels: Int { 3 }

    static let dcgan32 = ReferenceModel(name: "dcgan32", latent: 64, imageSize: 32, width: 256, widths: [256, 128, 64])
    static let dcgan64 = ReferenceModel(name: "dcgan64", latent: 128, imageSize: 64, width: 256, widths: [256, 128, 64, 32])
    /// The architecture `latent-tui train` uses by default (TrainingConfig: width 128, latent 64, 32 px).
    static let shipped32 = ReferenceModel(name: "shipped32", latent: 64, imageSize: 32, width: 128, widths: [128, 64, 32])

    /// Linear(z → 16·C0, no bias) → unflatten → BN → ReLU, per pair ConvT(4, 2, 1, no bias) → BN → ReLU,
    /// ConvT(C_last → 3, 4, 2, 1, bias) → Tanh.
    var referenceGenerator: [LayerSpec] {
        var layers: [LayerSpec] = [.linear(inFeatures: latent, outFeatures: 16 * widths[0], bias: false),
                                   .unflatten(shape: [widths[0], 4, 4]),
                                   .batchNorm(features: widths[0], eps: 1e-5, spatial: true), .relu]
        for (a, b) in zip(widths, widths.dropFirst()) {
            layers += [.convTranspose2d(inChannels: a, outChannels: b, kernel: 4, stride: 2, padding: 1, outputPadding: 0, bias: false),
                       .batchNorm(features: b, eps: 1e-5, spatial: true), .relu]
        }
        layers += [.convTranspose2d(inChannels: widths.last!, outChannels: channels, kernel: 4, stride: 2, padding: 1,
                                    outputPadding: 0, bias: true), .tanh]
        return layers
    }

    /// Conv2d(4, 2, 1, bias) → LeakyReLU(0.2) per stage (3 → … → C0), flatten, Linear(16·C0 → 1).
    var referenceCritic: [LayerSpec] {
        var layers: [LayerSpec] = []
        var cin = channels
        for cout in widths.reversed() {
            layers += [.conv2d(inChannels: cin, outChannels: cout, kernel: 4, stride: 2, padding: 1, bias: true),
                       .leakyRelu(slope: 0.2)]
            cin = cout
        }
        return layers + [.flatten, .linear(inFeatures: 16 * cin, outFeatures: 1, bias: true)]
    }

    func generatorSpec() throws -> NetworkSpec {
        try Models.dcganGenerator(latentDimension: latent, imageSize: imageSize, width: width, prior: .gaussian)
    }

    func criticSpec() throws -> NetworkSpec {
        try Models.dcganCritic(imageSize: imageSize, width: width)
    }

    /// Fails unless Models (and so the Trainer) builds exactly the reference layers.
    func check(generator: NetworkSpec, critic: NetworkSpec) throws {
        guard generator.layers == referenceGenerator else {
            throw BenchError("\(name): Models.dcganGenerator(width: \(width)) builds \(describe(generator.layers)), "
                + "the reference is \(describe(referenceGenerator))")
        }
        guard critic.layers == referenceCritic else {
            throw BenchError("\(name): Models.dcganCritic(width: \(width)) builds \(describe(critic.layers)), "
                + "the reference is \(describe(referenceCritic))")
        }
    }

    /// "3→64→128→256→1" style channel chain of a spec, for messages and the notes.
    func describe(_ layers: [LayerSpec]) -> String {
        var chain: [Int] = []
        for layer in layers {
            switch layer {
            case let .linear(i, o, _), let .conv2d(i, o, _, _, _, _), let .convTranspose2d(i, o, _, _, _, _, _):
                if chain.isEmpty { chain.append(i) }
                chain.append(o)
            case let .unflatten(shape) where !chain.isEmpty:
                chain[chain.count - 1] = shape[0]  // Linear(z → 16·C0) feeds C0 channels at 4×4
            default: break
            }
        }
        return chain.map(String.init).joined(separator: "→")
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Trainable parameters of a spec.
func parameterCount(_ spec: NetworkSpec) -> Int {
    spec.layers.reduce(0) { $0 + $1.parameterCount }
}
