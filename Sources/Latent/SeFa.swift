import NN
import Tensors

/// SeFa (Shen & Zhou, closed-form factorisation): the first layer maps z
/// linearly, y = A·z (+ b); the unit directions that change y most are the top
/// eigenvectors of AᵀA. No sampling, no training.
public enum SeFa {
    /// The first layer's linear map as A [outputs, latent_dim].
    ///
    /// Linear: its weight. Conv-transpose on a 1×1 `input_shape`: output pixel
    /// (o, y, x) = Σᵢ zᵢ·W[i, o, y + p, x + p] (p = padding, which crops the
    /// kernel), so A is the weight window permuted to [out·kh'·kw', in]. Leading
    /// identity, dropout and flatten layers are skipped (they do not mix z).
    public static func firstLayerMatrix(_ generator: Network, file: String? = nil) throws -> Tensor {
        let spec = generator.spec
        let d = spec.inputSize
        var index = 0
        while index < spec.layers.count, spec.layers[index].passesLatentThrough { index += 1 }
        func unsupported(_ why: String) -> InputError {
            InputError(.badSpec, file: file, key: "generator.layers[\(index)]",
                       "SeFa needs a first layer that is linear, or conv-transpose on a 1×1 input; \(why). Use --method pca or dplase")
        }
        guard index < spec.layers.count else { throw unsupported("the generator has none") }
        switch spec.layers[index] {
        case let .linear(inFeatures, _, _):
            guard inFeatures == d, let weight = generator.tensor(layer: index, "weight") else {
                throw unsupported("its input is not z")
            }
            return weight.detached()                                              // [out, d]
        case let .convTranspose2d(inChannels, out, kernel, _, padding, _, _):
            guard inChannels == d, spec.inputShape == [d, 1, 1], let weight = generator.tensor(layer: index, "weight") else {
                throw unsupported("input_shape is \(spec.inputShape.map { "\($0)" } ?? "[\(d)]"), not [\(d), 1, 1]")
            }
            guard kernel > 2 * padding else { throw unsupported("padding \(padding) crops the whole kernel") }
            return withoutGrad {
                let window = weight.slice([0..<d, 0..<out, padding..<(kernel - padding), padding..<(kernel - padding)])
                return window.reshaped([d, -1]).transposed.detached()            // [out·kh'·kw', d]
            }
        default:
            throw unsupported("it is \(spec.layers[index].op)")
        }
    }

    /// Top-k eigenvectors of AᵀA as rows [k, d] (orthonormal by construction)
    /// and all eigenvalues in descending order.
    public static func directions(_ generator: Network, k: Int, file: String? = nil) throws -> (directions: Tensor, eigenvalues: [Float]) {
        let d = generator.spec.inputSize
        guard (1...d).contains(k) else {
            throw InputError(.badArgument, key: "--k", "is \(k); SeFa finds at most latent_dim = \(d) directions")
        }
        let a = try firstLayerMatrix(generator, file: file)
        let gram = withoutGrad { matmul(a, a, transposeA: true) }                // AᵀA [d, d]
        let (values, vectors) = try symmetricEigen(gram)
        return (vectors.slice(axis: 0, 0..<k), values)
    }
}

extension LayerSpec {
    /// Layers that hand z on unchanged at inference (for SeFa's first-layer search).
    var passesLatentThrough: Bool {
        switch self {
        case .identity, .flatten, .dropout: true
        default: false
        }
    }
}
