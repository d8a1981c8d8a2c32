import Foundation
import NN
import Tensors

// Log-densities of latent vectors: the prior's closed form, and DP-LaSE's
// learned one Σᵢ log F'(zᵢ) with F one scalar CDF shared by all coordinates.

/// F' values below this are treated as this (log ≈ −13.8): a non-monotone
/// stretch of F would otherwise make log F' NaN. l_mon keeps F' above v ≫ floor.
let densitySlopeFloor: Float = 1e-6

/// F'(x) = dF/dx for every value of `x` (any shape; F runs on a column of
/// all values), by reverse-mode autodiff — exact, unlike the seed's finite
/// difference (3), which loses most digits in float32 where F ≈ 0.5.
///
/// - Parameter createGraph: keep the result differentiable (training).
///   Works under `withoutGrad` too: recording is switched on inside.
func densitySlope(_ f: Network, _ x: Tensor, createGraph: Bool) -> Tensor {
    GradMode.$isEnabled.withValue(true) {
        let input = x.requiresGrad ? x : x.detached().requiringGrad()
        let y = f(input.reshaped([input.count, 1]), training: false)
        return gradients(of: y.sum(), wrt: [input], createGraph: createGraph)[0]
    }
}

/// log F'(x) elementwise with the floor applied.
func logDensitySlope(_ f: Network, _ x: Tensor, createGraph: Bool) -> Tensor {
    densitySlope(f, x, createGraph: createGraph).maximum(densitySlopeFloor).log()
}

/// Learned log-density Σᵢ log F'(zᵢ) of each row of z [n, d].
public func learnedLogDensity(_ f: Network, _ z: Tensor) -> [Float] {
    precondition(z.rank == 2, "learnedLogDensity needs [n, d], got \(z.shape)")
    return withoutGrad { logDensitySlope(f, z, createGraph: false).sum(axes: [1]).storage }
}

extension Prior {
    /// Log-density of each row of z [n, d] and, for the uniform prior, how many
    /// coordinates lie outside [−1, 1].
    ///
    /// Gaussian: −½‖z‖² − (d/2)·log 2π. Uniform: 0 inside [−1, 1]^d (the
    /// constant −d·log 2 is dropped, so values compare across dimensions) and
    /// nil (−∞) outside.
    public func logDensity(_ z: Tensor) -> [(value: Float?, outside: Int)] {
        precondition(z.rank == 2, "logDensity needs [n, d], got \(z.shape)")
        let (n, d) = (z.shape[0], z.shape[1])
        switch self {
        case .gaussian:
            let constant = Float(d) / 2 * Float(Foundation.log(2 * Double.pi))
            let values = withoutGrad { (z.square().sum(axes: [1]) * -0.5 - constant).storage }
            return values.map { ($0, 0) }
        case .uniform:
            let counts = withoutGrad { z.abs().mask { $0 > 1 }.sum(axes: [1]).storage }
            return (0..<n).map { i in
                let outside = Int(counts[i].rounded())
                return (outside == 0 ? 0 : nil, outside)
            }
        }
    }
}
