import Foundation
import GAN
import NN
import Tensors

/// What a row needs once it is set up: the timed body and figures about it.
struct Prepared {
    var body: () throws -> Void
    /// FLOPs of one call of `body`, where a count is meaningful (GFLOP/s = flops / median).
    var flops: Double? = nil
    /// Extra JSON fields (parameter counts, FLOPs per sample, batch, optimiser settings).
    var info: [String: Any] = [:]
    /// One line printed under the row in text mode.
    var note: String? = nil
}

/// A benchmark row. `id` is stable: scripts/bench_peers.py uses the same ids for
/// the same work, and scripts/compare_peers.sh joins on it.
struct Row {
    let id: String
    let title: String
    /// Timed calls unless `--repeats` overrides it (bench_peers.py uses the same defaults).
    let repeats: Int
    /// Runs only when the row is selected, so `--only` skips the set-up cost and memory too.
    let prepare: () throws -> Prepared
}

func allRows() -> [Row] {
    var rows: [Row] = []
    for n in [256, 1024] {
        rows.append(Row(id: "sgemm-\(n)", title: "sgemm \(n)×\(n)×\(n)", repeats: n == 256 ? 50 : 10) {
            var rng = RandomGenerator(seed: 1)
            let a = Tensor.normal([n, n], using: &rng), b = Tensor.normal([n, n], using: &rng)
            return Prepared(body: { _ = matmul(a, b) }, flops: 2 * pow(Double(n), 3))
        })
    }
    rows += convRows()
    rows += windowRows()
    rows.append(gradientPenaltyRow())
    for model in [ReferenceModel.dcgan32, .dcgan64] {
        rows.append(generatorRow(model, batch: 1, repeats: 50))
        rows.append(generatorRow(model, batch: 64, repeats: 10))
        rows.append(trainingRow(model, id: "\(model.name)-train-b64", criticSteps: 1, repeats: 5))
    }
    let shipped = ReferenceModel.shipped32
    rows.append(trainingRow(shipped, id: "shipped32-train-b64-ncritic1", criticSteps: 1, repeats: 5))
    rows.append(trainingRow(shipped, id: "shipped32-train-b64-ncritic5", criticSteps: 5, repeats: 3))
    return rows
}

// DCGAN-sized critic layer: batch 64, 128 → 256 channels, 8×8 input, kernel 4, stride 2, padding 1.
private func convLayer() -> (x: Tensor, w: Tensor, b: Tensor, flops: Double) {
    var rng = RandomGenerator(seed: 1)
    let x = Tensor.normal([64, 128, 8, 8], using: &rng).requiringGrad()
    let w = Tensor.normal([256, 128, 4, 4], std: 0.02, using: &rng).requiringGrad()
    let b = Tensor.zeros([256]).requiringGrad()
    return (x, w, b, 2.0 * 64 * 256 * 4 * 4 * 128 * 16)
}

private func convRows() -> [Row] {
    [
        Row(id: "conv2d-fwd", title: "conv2d forward  64×128×8×8 → 256, k4 s2", repeats: 10) {
            let (x, w, b, flops) = convLayer()
            return Prepared(body: { _ = withoutGrad { x.conv2d(weight: w, bias: b, stride: 2, padding: 1) } }, flops: flops)
        },
        Row(id: "conv2d-bwd", title: "conv2d backward (dx, dw, db)", repeats: 10) {
            let (x, w, b, flops) = convLayer()
            let y = x.conv2d(weight: w, bias: b, stride: 2, padding: 1)
            var rng = RandomGenerator(seed: 2)
            let upstream = Tensor.normal(y.shape, using: &rng)
            // dx and dw are each one GEMM the size of the forward one.
            return Prepared(body: { _ = gradients(of: y, wrt: [x, w, b], seed: upstream) }, flops: 2 * flops)
        },
    ]
}

/// im2col and col2im alone on the shipped model's planes (width 64: the critic's three layers,
/// output rows of 16, 8 and 4; the generator's last layer folds into 3×32×32), batch 64,
/// kernel 4, stride 2, padding 1.
private func windowRows() -> [Row] {
    let geometry = ConvGeometry(kernel: 4, stride: 2, padding: 1)
    return [(3, 32), (16, 16), (32, 8)].flatMap { channels, size -> [Row] in
        let shape = [64, channels, size, size]
        let (oh, ow) = geometry.outputSize(h: size, w: size)
        let shapeText = shape.map(String.init).joined(separator: "×")
        return [
            Row(id: "im2col-\(size)x\(size)", title: "im2col \(shapeText), k4 s2 p1", repeats: 50) {
                var rng = RandomGenerator(seed: 1)
                let x = Tensor.normal(shape, using: &rng)
                return Prepared(body: { _ = withoutGrad { x.im2col(geometry) } })
            },
            Row(id: "col2im-\(size)x\(size)", title: "col2im back to \(shapeText), k4 s2 p1", repeats: 50) {
                var rng = RandomGenerator(seed: 1)
                let columns = Tensor.normal([channels * 16, 64 * oh * ow], using: &rng)
                return Prepared(body: { _ = withoutGrad { columns.col2im(imageShape: shape, geometry) } })
            },
        ]
    }
}

// One second-order step: WGAN-GP penalty of a small critic and its parameter gradients.
private func gradientPenaltyRow() -> Row {
    Row(id: "gp-step", title: "gradient-penalty step, critic 3→64→128, batch 64", repeats: 5) {
        var rng = RandomGenerator(seed: 1)
        let batch = 64
        let parameters = [
            Tensor.normal([64, 3, 4, 4], std: 0.05, using: &rng), Tensor.zeros([64]),
            Tensor.normal([128, 64, 4, 4], std: 0.05, using: &rng), Tensor.zeros([128]),
            Tensor.normal([1, 128 * 8 * 8], std: 0.01, using: &rng), Tensor.zeros([1]),
        ].map { $0.requiringGrad() }
        let xhat = Tensor.normal([batch, 3, 32, 32], using: &rng)
        func critic(_ x: Tensor) -> Tensor {
            let h1 = x.conv2d(weight: parameters[0], bias: parameters[1], stride: 2, padding: 1).leakyRelu(0.2)
            let h2 = h1.conv2d(weight: parameters[2], bias: parameters[3], stride: 2, padding: 1).leakyRelu(0.2)
            return h2.flattened().linear(weight: parameters[4], bias: parameters[5])
        }
        return Prepared(body: {
            let x = xhat.detached().requiringGrad()
            let gx = gradients(of: critic(x).sum(), wrt: [x], createGraph: true)[0]
            let norm = (gx.square().sum(axes: [1, 2, 3]) + 1e-12).sqrt()
            let penalty = (norm - 1).square().mean() * 10
            _ = gradients(of: penalty, wrt: parameters)
        })
    }
}

/// Generator forward in eval mode (running batch-norm statistics), no autodiff graph.
private func generatorRow(_ model: ReferenceModel, batch: Int, repeats: Int) -> Row {
    Row(id: "\(model.name)-g-fwd-b\(batch)", title: "\(model.name) G forward, batch \(batch)", repeats: repeats) {
        let spec = try model.generatorSpec()
        try model.check(generator: spec, critic: try model.criticSpec())
        var rng = RandomGenerator(seed: 1)
        let generator = Network(spec: spec, initializeWith: &rng)
        let z = Prior.gaussian.sample(batch, dimension: model.latent, using: &rng)
        let perSample = try spec.forwardFLOPs()
        let params = parameterCount(spec)
        return Prepared(
            body: { _ = withoutGrad { generator(z) } },
            flops: perSample * Double(batch),
            info: ["batch": batch, "params_g": params, "flops_per_sample_g": perSample, "latent": model.latent,
                   "image_size": model.imageSize, "widths": model.widths],
            note: "G \(model.describe(spec.layers)) · " + String(format: "%.2f M params (%d) · %.2f MFLOP/sample",
                                                                    Double(params) / 1e6, params, perSample / 1e6))
    }
}

/// Real images for the trainer: a few fixed random batches in [−1, 1], cycled,
/// so the row times the training arithmetic and not a data pipeline.
private final class RealPool {
    let batches: [Tensor]
    var next = 0
    init(batch: Int, channels: Int, size: Int, count: Int = 4) {
        var rng = RandomGenerator(seed: 3)
        batches = (0..<count).map { _ in Tensor.uniform([batch, channels, size, size], low: -1, high: 1, using: &rng) }
    }
    func take(_ n: Int) -> Tensor {
        precondition(n == batches[0].shape[0], "the trainer asked for \(n) images, the pool holds batches of \(batches[0].shape[0])")
        defer { next = (next + 1) % batches.count }
        return batches[next]
    }
}

/// One `Trainer.trainStep()`: `criticSteps` WGAN-GP critic updates (real and fake batch,
/// penalty through double backward, Adam) and one generator update.
private func trainingRow(_ model: ReferenceModel, id: String, criticSteps: Int, repeats: Int) -> Row {
    let title = "\(model.name) WGAN-GP step, batch 64, n_critic \(criticSteps)"
    return Row(id: id, title: title, repeats: repeats) {
        var config = TrainingConfig(objective: .wganGP)
        config.imageSize = model.imageSize
        config.width = model.width
        config.latentDimension = model.latent
        config.prior = Prior.gaussian.rawValue
        config.batch = 64
        config.criticSteps = criticSteps
        config.seed = 1
        let pool = RealPool(batch: config.batch, channels: model.channels, size: model.imageSize)
        let trainer = try Trainer(config: config) { n, _ in pool.take(n) }
        // The Trainer builds its networks through Models: check they are the reference.
        try model.check(generator: trainer.generator.spec, critic: trainer.critic.spec)
        let (g, d) = (trainer.generator.spec, trainer.critic.spec)
        let info: [String: Any] = [
            "batch": config.batch, "critic_steps": criticSteps, "params_g": parameterCount(g), "params_d": parameterCount(d),
            "flops_per_sample_g": try g.forwardFLOPs(), "flops_per_sample_d": try d.forwardFLOPs(),
            "latent": model.latent, "image_size": model.imageSize, "widths": model.widths,
            "optimizer": config.optimizer, "lr": [config.learningRateCritic, config.learningRateGenerator],
            "betas": [config.beta1, config.beta2], "gp_lambda": config.gradientPenalty,
        ]
        let note = "D \(model.describe(d.layers)) · " + String(format: "%.2f M params · ", Double(parameterCount(d)) / 1e6)
            + "\(config.optimizer) lr \(config.learningRateCritic) β (\(config.beta1), \(config.beta2)) · λ \(config.gradientPenalty)"
        return Prepared(body: { try trainer.trainStep() }, info: info, note: note)
    }
}
