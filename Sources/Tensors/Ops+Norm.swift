// Batch normalization, composed from differentiable ops so that gradients of
// any order flow through it (a gradient penalty through a BN generator).

/// Running statistics of a batch-norm layer, updated in place during training.
public struct BatchNormStatistics {
    public let mean: Tensor
    public let variance: Tensor
    public var momentum: Float

    public init(mean: Tensor, variance: Tensor, momentum: Float = 0.1) {
        (self.mean, self.variance, self.momentum) = (mean, variance, momentum)
    }
}

extension Tensor {
    /// Batch norm over the channel axis 1 of [N, C] or [N, C, H, W].
    ///
    /// Training uses the batch's mean and biased variance and moves the running
    /// statistics toward the batch's mean and unbiased variance (PyTorch's rule);
    /// evaluation uses the running statistics.
    public func batchNorm(weight: Tensor?, bias: Tensor?, statistics: BatchNormStatistics,
                          training: Bool, eps: Float = 1e-5) -> Tensor {
        precondition(rank == 2 || rank == 4, "batch norm needs [N, C] or [N, C, H, W], got \(shape)")
        let c = shape[1]
        let paramShape = rank == 2 ? [1, c] : [1, c, 1, 1]
        let axes = rank == 2 ? [0] : [0, 2, 3]
        let normalized: Tensor
        if training {
            let reduced = count / c
            precondition(reduced > 1, "batch norm in training needs more than one value per channel")
            let mean = self.mean(axes: axes, keepDims: true)
            let centered = self - mean
            let variance = centered.square().mean(axes: axes, keepDims: true)
            normalized = centered / (variance + eps).sqrt()
            let m = statistics.momentum
            let unbias = Float(reduced) / Float(reduced - 1)
            withoutGrad {
                let newMean = statistics.mean * (1 - m) + mean.reshaped([c]) * m
                let newVar = statistics.variance * (1 - m) + variance.reshaped([c]) * (m * unbias)
                statistics.mean.assign(newMean)
                statistics.variance.assign(newVar)
            }
        } else {
            let mean = statistics.mean.reshaped(paramShape)
            let scale = 1 / (statistics.variance.reshaped(paramShape) + eps).sqrt()
            normalized = (self - mean) * scale
        }
        var y = normalized
        if let weight { y = y * weight.reshaped(paramShape) }
        if let bias { y = y + bias.reshaped(paramShape) }
        return y
    }
}
