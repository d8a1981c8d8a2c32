import Foundation
import NN
import Tensors

// Discriminator rejection sampling (Azadi et al. 2019): the critic, once
// calibrated into a logit D̃(x) = a·D(x) + b, estimates how much likelier a
// sample is under the data than under the generator; accepting samples with
// probability σ(F(x)) moves the generated distribution towards the data.

/// The acceptance rule of DESIGN.md ("Rejection sampling").
public enum RejectionRule {
    /// F(x) = D̃ − D̃_M − log(1 − exp(D̃ − D̃_M − ε)) − γ. A logit above D̃_M
    /// counts as D̃_M in the log term (the sampler raises D̃_M first anyway).
    public static func score(logit: Double, maxLogit: Double, epsilon: Double, gamma: Double) -> Double {
        let d = logit - maxLogit
        // log(1 − e^u) for u < 0 without cancellation.
        return d - log(-expm1(min(d, 0) - epsilon)) - gamma
    }

    /// σ(F(x)), the probability of keeping the sample.
    public static func acceptance(logit: Double, maxLogit: Double, epsilon: Double, gamma: Double) -> Double {
        logistic(score(logit: logit, maxLogit: maxLogit, epsilon: epsilon, gamma: gamma))
    }

    static func logistic(_ x: Double) -> Double {
        x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x))
    }
}

/// The checkpoint's critic when it has the one-number output DRS needs.
///
/// - Throws: `InputError(.missingData)` without a critic, `.badSpec` when the
///   critic outputs more than a number (BEGAN's autoencoder critic).
public func logitCritic(of checkpoint: Checkpoint, file: String? = nil) throws -> Network {
    guard let critic = checkpoint.critic else {
        throw InputError(.missingData, file: file, key: "critic",
                         "the file has no critic; rejection sampling needs one saved by `latent-tui train`")
    }
    let output = try critic.spec.shapes().last ?? []
    guard output.reduce(1, *) == 1 else {
        throw InputError(.badSpec, file: file, key: "critic",
                         "outputs \(output), not one logit (BEGAN's autoencoder critic has none): rejection sampling is not available")
    }
    return critic
}

/// Raw critic outputs D(x) for a batch of images, one per row.
public func criticOutputs(_ critic: Network, _ images: Tensor) -> [Float] {
    withoutGrad { critic(images) }.storage
}

/// Critic outputs of `count` fresh generator samples, drawn `batchSize` at a time.
func generatedCriticOutputs(_ checkpoint: Checkpoint, _ critic: Network, count: Int, batchSize: Int = 64,
                            truncation: Float = 1, using rng: inout RandomGenerator) -> [Float] {
    var outputs: [Float] = []
    outputs.reserveCapacity(count)
    while outputs.count < count {
        let b = min(batchSize, count - outputs.count)
        outputs += criticOutputs(critic, checkpoint.generate(checkpoint.sampleLatents(b, truncation: truncation, using: &rng)))
    }
    return outputs
}

extension CriticCalibration {
    /// The calibrated logit D̃ = a·D + b of a raw critic output.
    func logit(_ output: Float) -> Double { Double(a) * Double(output) + Double(b) }
}

/// How well the calibrated critic separates held-out real from generated images.
public struct CalibrationReport: Codable, Sendable {
    public var a: Float
    public var b: Float
    public var maxLogit: Float
    public var realCount: Int
    public var generatedCount: Int
    public var burnIn: Int
    /// Share of images the calibrated logit classifies correctly (threshold 0).
    public var accuracy: Float
    /// Mean logistic loss of the fit (log 2 ≈ 0.693 is chance).
    public var logLoss: Float
    public var seed: UInt64

    public var calibration: CriticCalibration { CriticCalibration(a: a, b: b, maxLogit: maxLogit) }

    public var text: String {
        String(format: "logistic head a=%.4g b=%.4g on %d real and %d generated images: accuracy %.3f, log loss %.4f; "
                   + "burn-in max logit %.4g over %d samples (seed %llu)",
               a, b, realCount, generatedCount, accuracy, logLoss, maxLogit, burnIn, seed)
    }
}

/// Fits the logistic head a·D(x) + b (real = 1, generated = 0) on `count`
/// images of each kind with the generator frozen, then takes the maximum
/// calibrated logit over `burnIn` further generated samples.
public func calibrateCritic(_ checkpoint: Checkpoint, dataset: Dataset, count: Int, burnIn: Int, seed: UInt64,
                            file: String? = nil, batchSize: Int = 64) throws -> CalibrationReport {
    guard count >= 2, burnIn >= 1 else {
        throw InputError(.badArgument, key: "--n", "calibration needs at least 2 images of each kind and a burn-in")
    }
    let critic = try logitCritic(of: checkpoint, file: file)
    var rng = RandomGenerator(seed: seed)
    var real: [Float] = []
    var batchIndex: UInt64 = 0
    while real.count < count {
        let b = min(batchSize, count - real.count)
        real += criticOutputs(critic, dataset.sampleImages(b, seed: seed ^ 0xCA11_B7A7 &+ batchIndex))
        batchIndex += 1
    }
    let fake = generatedCriticOutputs(checkpoint, critic, count: count, batchSize: batchSize, using: &rng)
    let fit = fitLogistic(positives: real.map(Double.init), negatives: fake.map(Double.init))
    guard fit.a.isFinite, fit.b.isFinite else {
        throw InputError(.nonFinite, file: file, key: "critic", "gives non-finite outputs; the critic cannot be calibrated")
    }
    func logit(_ output: Float) -> Double { fit.a * Double(output) + fit.b }
    let burnInOutputs = generatedCriticOutputs(checkpoint, critic, count: burnIn, batchSize: batchSize, using: &rng)
    let maxLogit = burnInOutputs.map(logit).max() ?? 0
    let correct = real.filter { logit($0) > 0 }.count + fake.filter { logit($0) <= 0 }.count
    return CalibrationReport(a: Float(fit.a), b: Float(fit.b), maxLogit: Float(maxLogit), realCount: real.count,
                             generatedCount: fake.count, burnIn: burnIn,
                             accuracy: Float(correct) / Float(real.count + fake.count), logLoss: Float(fit.loss), seed: seed)
}

/// Two-parameter logistic regression by Newton's method on standardised
/// inputs (a small ridge keeps separable data finite).
func fitLogistic(positives: [Double], negatives: [Double]) -> (a: Double, b: Double, loss: Double) {
    let all = positives + negatives
    let mean = all.reduce(0, +) / Double(all.count)
    let std = max((all.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(all.count)).squareRoot(), 1e-12)
    let samples = positives.map { (($0 - mean) / std, 1.0) } + negatives.map { (($0 - mean) / std, 0.0) }
    let ridge = 1e-6 * Double(samples.count)
    var (w, c) = (0.0, 0.0)
    for _ in 0..<100 {
        var (gw, gc, hww, hwc, hcc) = (ridge * w, 0.0, ridge, 0.0, 0.0)
        for (x, y) in samples {
            let p = RejectionRule.logistic(w * x + c)
            let r = p - y, v = max(p * (1 - p), 1e-12)
            gw += r * x; gc += r
            hww += v * x * x; hwc += v * x; hcc += v
        }
        let det = hww * hcc - hwc * hwc
        guard det > 0 else { break }
        let dw = (hcc * gw - hwc * gc) / det, dc = (hww * gc - hwc * gw) / det
        w -= dw; c -= dc
        if abs(dw) + abs(dc) < 1e-10 { break }
    }
    // log(1 + e^−t) for the label's margin t, stable both ways.
    func softplusNegative(_ t: Double) -> Double { t > 0 ? log1p(exp(-t)) : -t + log1p(exp(t)) }
    let loss = samples.map { x, y in softplusNegative((y == 1 ? 1 : -1) * (w * x + c)) }.reduce(0, +) / Double(samples.count)
    // a·D + b = w·(D − mean)/std + c
    return (w / std, c - w * mean / std, loss)
}

/// Draws generator samples and keeps each with probability σ(F(x)).
///
/// γ is set as the `percentile`-th percentile of F (with γ = 0) over a
/// burn-in of fresh samples, as Azadi et al. do, so the acceptance rate is
/// governed by one number; D̃_M rises when a sample's logit exceeds it. The
/// burn-in runs at the first use of γ, not in `init`, so the browser pays
/// for it only when `r` is pressed.
/// `@unchecked Sendable`: its counters change in `draw`; the browser and the
/// commands call it from one thread at a time.
public final class RejectionSampler: @unchecked Sendable {
    public let checkpoint: Checkpoint
    public let critic: Network
    public let calibration: CriticCalibration
    public let percentile: Double
    public let epsilon: Double
    /// ψ of the proposals (1: the prior itself); the burn-in draws them the same way.
    public let truncation: Float
    /// γ: set by the burn-in (which also raises `maxLogit`) on first use.
    public private(set) lazy var gamma: Double = burnIn()
    public private(set) var maxLogit: Double
    public private(set) var proposed = 0
    public private(set) var accepted = 0
    /// Proposals allowed per requested sample before giving up.
    public var proposalLimit = 10_000
    private let fixedGamma: Double?
    private let burnInCount: Int
    private let burnInSeed: UInt64

    /// - Parameter gamma: γ itself, instead of the percentile's.
    /// - Throws: `InputError` when the file has no calibration or no logit critic.
    public init(checkpoint: Checkpoint, percentile: Double = 80, gamma fixedGamma: Double? = nil, epsilon: Double = 1e-6,
                truncation: Float = 1, burnIn: Int = 512, seed: UInt64, file: String? = nil) throws {
        guard let calibration = checkpoint.calibration else {
            throw InputError(.missingData, file: file, key: "critic_calibration",
                             "the critic is not calibrated; run `latent-tui calibrate \(file ?? "CKPT") --data shapes` first")
        }
        guard (0...100).contains(percentile) else {
            throw InputError(.badArgument, key: "--drs-percentile", "must be in [0, 100], is \(percentile)")
        }
        guard epsilon > 0, epsilon.isFinite else { throw InputError(.badArgument, key: "--drs-epsilon", "must be positive") }
        guard fixedGamma?.isFinite ?? true else { throw InputError(.badArgument, key: "--drs-gamma", "must be a number") }
        try checkTruncation(truncation)
        self.checkpoint = checkpoint
        self.critic = try logitCritic(of: checkpoint, file: file)
        self.calibration = calibration
        self.percentile = percentile
        self.epsilon = epsilon
        self.truncation = truncation
        self.maxLogit = Double(calibration.maxLogit)
        (self.fixedGamma, self.burnInCount, self.burnInSeed) = (fixedGamma, burnIn, seed)
    }

    /// Raises D̃_M over the burn-in and returns γ: the fixed one, or the
    /// percentile of F (γ = 0) over the burn-in.
    private func burnIn() -> Double {
        // Its own stream, so drawing stays reproducible.
        var rng = RandomGenerator(seed: burnInSeed ^ 0xB0_8711)
        let logits = generatedCriticOutputs(checkpoint, critic, count: burnInCount, truncation: truncation, using: &rng)
            .map(calibration.logit)
        maxLogit = max(maxLogit, logits.max() ?? maxLogit)
        let scores = logits.map { [maxLogit, epsilon] in
            RejectionRule.score(logit: $0, maxLogit: maxLogit, epsilon: epsilon, gamma: 0)
        }
        return fixedGamma ?? percentileValue(scores, percentile)
    }

    /// A sampler with these settings whose proposals are truncated by ψ (its own burn-in and counts).
    public func truncated(_ psi: Float) throws -> RejectionSampler {
        try RejectionSampler(checkpoint: checkpoint, percentile: percentile, gamma: fixedGamma, epsilon: epsilon,
                             truncation: psi, burnIn: burnInCount, seed: burnInSeed)
    }

    /// Share of proposals kept so far.
    public var acceptanceRate: Double { proposed == 0 ? 0 : Double(accepted) / Double(proposed) }

    /// The calibrated logit D̃(x) for a batch.
    public func logits(_ images: Tensor) -> [Double] {
        criticOutputs(critic, images).map(calibration.logit)
    }

    /// `count` accepted samples: their latents [count, d] and images [count, C, H, W].
    ///
    /// - Throws: `InputError(.badArgument)` when fewer than one in `proposalLimit`
    ///   proposals is accepted (γ too high for this critic).
    public func draw(_ count: Int, using rng: inout RandomGenerator, batchSize: Int = 64) throws -> (latents: Tensor, images: Tensor) {
        let gamma = self.gamma  // burns in on first use
        let d = checkpoint.latentDimension
        var latents: [Float] = [], pixels: [Float] = []
        var imageShape: [Int] = []
        var kept = 0, tried = 0
        while kept < count {
            guard tried < max(count, 1) * proposalLimit else {
                throw InputError(.badArgument, key: "--drs-percentile",
                                 "accepted \(kept) of \(tried) proposals; lower the percentile (now \(percentile))")
            }
            let z = checkpoint.sampleLatents(batchSize, truncation: truncation, using: &rng)
            let images = checkpoint.generate(z)
            let perImage = images.count / batchSize
            imageShape = Array(images.shape.dropFirst())
            for (i, logit) in logits(images).enumerated() where kept < count {
                tried += 1
                maxLogit = max(maxLogit, logit)
                let p = RejectionRule.acceptance(logit: logit, maxLogit: maxLogit, epsilon: epsilon, gamma: gamma)
                guard Double(rng.nextUnitFloat()) < p else { continue }
                kept += 1
                latents += z.storage[i * d..<(i + 1) * d]
                pixels += images.storage[i * perImage..<(i + 1) * perImage]
            }
        }
        proposed += tried
        accepted += kept
        return (Tensor(shape: [count, d], storage: latents), Tensor(shape: [count] + imageShape, storage: pixels))
    }

    /// One line for progress output and the browser's status.
    public var summary: String {
        String(format: "DRS: accepted %d of %d (%.1f%%), γ = %.3g (percentile %g)",
               accepted, proposed, 100 * acceptanceRate, gamma, percentile)
    }
}

/// Linear-interpolated percentile (0–100) of values; 0 for none.
func percentileValue(_ values: [Double], _ p: Double) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    let position = p / 100 * Double(sorted.count - 1)
    let low = Int(position.rounded(.down)), high = min(low + 1, sorted.count - 1)
    return sorted[low] + (sorted[high] - sorted[low]) * (position - Double(low))
}
