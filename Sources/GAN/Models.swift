import NN
import Tensors

/// Architectures the trainer builds, all expressed as DESIGN.md specs so that
/// `info`, the browser and PyTorch read them like any other checkpoint.
public enum Models {
    /// Number of ×2 upsampling stages from 4×4 to `imageSize`.
    static func stages(_ imageSize: Int) -> Int? {
        var size = 4, count = 0
        while size < imageSize { size *= 2; count += 1 }
        return size == imageSize && count >= 1 ? count : nil
    }

    /// Widths from the 4×4 stage outward, halving each stage (e.g. 128-64-32 for 32 px at width 128).
    /// `flag` names the option that set `base` in the error.
    public static func widths(base: Int, imageSize: Int, flag: String = "--width") throws -> [Int] {
        guard let n = stages(imageSize) else {
            throw InputError(.badArgument, key: "--image-size", "must be 4·2^k (e.g. 32 or 64), is \(imageSize)")
        }
        guard base >= 1 << (n - 1) else {
            throw InputError(.badArgument, key: flag, "\(base) is too small for \(n) stages")
        }
        return (0..<n).map { base >> $0 }
    }

    /// DCGAN generator: Linear(z → 16·C0, no bias) → unflatten [C0, 4, 4] → BN → ReLU, then per
    /// stage ConvTranspose2d(4, 2, 1, no bias) → BN → ReLU, last ConvTranspose2d(→ channels, bias) → Tanh.
    /// `mappingLayers` linear+leaky-relu pairs in front form a mapping network z → w.
    /// `batchNorm: false` gives BEGAN's decoder-style generator: no normalisation, ELU activations.
    public static func dcganGenerator(latentDimension d: Int, imageSize: Int, width: Int, channels: Int = 3,
                                      prior: Prior, mappingDepth: Int = 0, batchNorm: Bool = true) throws -> NetworkSpec {
        let w = try widths(base: width, imageSize: imageSize)
        var layers: [LayerSpec] = []
        for _ in 0..<mappingDepth {
            layers += [.linear(inFeatures: d, outFeatures: d, bias: true), .leakyRelu(slope: 0.2)]
        }
        // Without batch norm the layers need their biases back.
        func normalised(_ features: Int) -> [LayerSpec] {
            batchNorm ? [.batchNorm(features: features, eps: 1e-5, spatial: true), .relu] : [.elu(alpha: 1)]
        }
        layers += [.linear(inFeatures: d, outFeatures: 16 * w[0], bias: !batchNorm), .unflatten(shape: [w[0], 4, 4])]
            + normalised(w[0])
        for (cin, cout) in zip(w, w.dropFirst()) {
            layers += [.convTranspose2d(inChannels: cin, outChannels: cout, kernel: 4, stride: 2, padding: 1, outputPadding: 0,
                                        bias: !batchNorm)] + normalised(cout)
        }
        layers += [.convTranspose2d(inChannels: w.last!, outChannels: channels, kernel: 4, stride: 2, padding: 1, outputPadding: 0, bias: true),
                   .tanh]
        return NetworkSpec(prefix: "generator", layers: layers, inputSize: d, prior: prior, imageSize: imageSize,
                           channels: channels, valueRange: (-1, 1), mappingLayers: 2 * mappingDepth)
    }

    /// DCGAN critic: Conv2d(4, 2, 1) → LeakyReLU(0.2) [→ Dropout] per stage, flatten, Linear(16·C0 → 1).
    /// No batch norm: the gradient penalty is per sample.
    public static func dcganCritic(imageSize: Int, width: Int, channels: Int = 3, dropout: Float = 0,
                                   lastBias: Bool = true) throws -> NetworkSpec {
        let w = try widths(base: width, imageSize: imageSize).reversed().map { $0 }
        var layers: [LayerSpec] = []
        var cin = channels
        for cout in w {
            layers += [.conv2d(inChannels: cin, outChannels: cout, kernel: 4, stride: 2, padding: 1, bias: true), .leakyRelu(slope: 0.2)]
            if dropout > 0 { layers.append(.dropout(p: dropout)) }
            cin = cout
        }
        layers += [.flatten, .linear(inFeatures: 16 * cin, outFeatures: 1, bias: lastBias)]
        return NetworkSpec(prefix: "critic", layers: layers, inputSize: channels * imageSize * imageSize,
                           inputShape: [channels, imageSize, imageSize], imageSize: imageSize, channels: channels)
    }

    /// BEGAN's autoencoder critic: strided-conv encoder to a `hidden`-dim code, a decoder
    /// mirroring the generator (ELU activations), output in [−1, 1].
    public static func beganAutoencoder(imageSize: Int, width: Int, hidden: Int = 64, channels: Int = 3) throws -> NetworkSpec {
        let w = try widths(base: width, imageSize: imageSize)
        var layers: [LayerSpec] = []
        var cin = channels
        for cout in w.reversed() {
            layers += [.conv2d(inChannels: cin, outChannels: cout, kernel: 4, stride: 2, padding: 1, bias: true), .elu(alpha: 1)]
            cin = cout
        }
        layers += [.flatten, .linear(inFeatures: 16 * w[0], outFeatures: hidden, bias: true),
                   .linear(inFeatures: hidden, outFeatures: 16 * w[0], bias: true), .unflatten(shape: [w[0], 4, 4]), .elu(alpha: 1)]
        for (a, b) in zip(w, w.dropFirst()) {
            layers += [.convTranspose2d(inChannels: a, outChannels: b, kernel: 4, stride: 2, padding: 1, outputPadding: 0, bias: true),
                       .elu(alpha: 1)]
        }
        layers += [.convTranspose2d(inChannels: w.last!, outChannels: channels, kernel: 4, stride: 2, padding: 1, outputPadding: 0, bias: true),
                   .tanh]
        return NetworkSpec(prefix: "critic", layers: layers, inputSize: channels * imageSize * imageSize,
                           inputShape: [channels, imageSize, imageSize], imageSize: imageSize, channels: channels)
    }
}
