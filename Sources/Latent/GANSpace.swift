import NN
import Tensors

/// PCA directions in the manner of GANSpace (Härkönen et al.): principal
/// components of G1's features over prior samples, carried back to the latent
/// space by least-squares regression of z on the PC coordinates.
public enum GANSpace {
    /// - Returns: k orthonormal latent directions [k, d] in order of the
    ///   feature variance their components explain, and that share of the
    ///   total variance for each.
    public static func directions(_ generator: Network, prior: Prior, k: Int, layer: Int, samples n: Int,
                                  seed: UInt64) throws -> (directions: Tensor, explainedVariance: [Float]) {
        let d = generator.spec.inputSize
        try checkSplitLayer(layer, generator: generator)
        guard (1...d).contains(k) else {
            throw InputError(.badArgument, key: "--k", "is \(k); PCA finds 1…latent_dim = \(d) directions")
        }
        guard n > k else {
            throw InputError(.badArgument, key: "--samples", "is \(n); PCA of \(k) components needs more samples than that")
        }
        var rng = RandomGenerator(seed: seed)
        let z = prior.sample(n, dimension: d, using: &rng)                                   // [N, d]
        return try withoutGrad {
            // Features in chunks: the activations of a whole batch of G1 can be far
            // larger than the flat features we keep.
            let chunk = 256
            let parts = stride(from: 0, to: n, by: chunk).map { start in
                generator.features(z.slice(axis: 0, start..<Swift.min(start + chunk, n)), layer: layer)
                    .reshaped([Swift.min(chunk, n - start), -1])
            }
            let x = Tensor.concat(parts, axis: 0)                                           // [N, P]
            let p = x.shape[1]
            let centred = x - x.mean(axes: [0], keepDims: true)
            let totalVariance = centred.square().sum().scalar / Float(n)
            guard totalVariance > 0 else {
                throw InputError(.badArgument, key: "--layer", "the features at layer \(layer) do not vary with z")
            }

            // Top-k components and the samples' coordinates on them, in the
            // smaller of the primal (P×P covariance) and dual (N×N Gram) spaces.
            let variances: [Float]
            let coordinates: Tensor                                                          // [N, k]
            if p <= n {
                let covariance = matmul(centred, centred, transposeA: true) / Float(n)      // [P, P]
                let (values, vectors) = try symmetricEigen(covariance)
                let top = vectors.slice(axis: 0, 0..<Swift.min(k, p))                       // [k, P]
                variances = Array(values.prefix(k))
                coordinates = matmul(centred, top, transposeB: true)
            } else {
                let gram = matmul(centred, centred, transposeB: true) / Float(n)           // [N, N]
                let (values, vectors) = try symmetricEigen(gram)
                // Xv = √(N·λ)·u for the dual eigenvector u of X Xᵀ/N.
                let top = vectors.slice(axis: 0, 0..<k)                                     // [k, N]
                variances = Array(values.prefix(k))
                let scale = Tensor(variances.map { (Float(n) * Swift.max($0, 0)).squareRoot() }, shape: [1, k])
                coordinates = top.transposed * scale
            }
            let components = coordinates.shape[1]
            guard components == k, variances.allSatisfy({ $0 > 1e-12 * totalVariance }) else {
                throw InputError(.badArgument, key: "--k",
                                 "the features at layer \(layer) vary in fewer than \(k) independent ways; choose a smaller --k or another --layer")
            }
            // z − z̄ ≈ coordinates · B: row i of B is how z moves per unit of PC i.
            let zCentred = z - z.mean(axes: [0], keepDims: true)
            let regression = try leastSquares(coordinates, zCentred)                        // [k, d]
            let directions = orthonormalizedRows(unitRows(regression))
            return (directions, variances.map { $0 / totalVariance })
        }
    }
}
