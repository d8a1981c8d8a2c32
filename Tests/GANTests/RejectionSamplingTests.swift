import Foundation
import NN
import Tensors
import XCTest
@testable import GAN

final class RejectionSamplingTests: XCTestCase {
    // MARK: the acceptance rule

    func testRuleMatchesHandComputedLogits() {
        // Values from Python's math module for F = d − log(1 − e^(d−ε)) − γ, σ(F).
        XCTAssertEqual(RejectionRule.score(logit: 1, maxLogit: 2, epsilon: 0.1, gamma: 0.5), -1.0952280260717102, accuracy: 1e-12)
        XCTAssertEqual(RejectionRule.acceptance(logit: 1, maxLogit: 2, epsilon: 0.1, gamma: 0.5), 0.2506350859550869, accuracy: 1e-12)
        XCTAssertEqual(RejectionRule.acceptance(logit: 0.75, maxLogit: 1, epsilon: 1e-3, gamma: -0.4), 0.8395897353782124, accuracy: 1e-12)
    }

    func testWithoutGammaAndEpsilonTheRuleIsTheDensityRatio() {
        // σ(d − log(1 − e^d)) = e^d: Azadi et al.'s exp(D̃ − D̃_M).
        for d in [-6.0, -2, -0.5, -0.01] {
            XCTAssertEqual(RejectionRule.acceptance(logit: d, maxLogit: 0, epsilon: 1e-12, gamma: 0), exp(d), accuracy: 1e-9)
        }
    }

    func testAConstantCriticAcceptsEverythingAtGammaZero() {
        for c in [-3.0, 0, 7.5] {
            XCTAssertGreaterThan(RejectionRule.acceptance(logit: c, maxLogit: c, epsilon: 1e-9, gamma: 0), 1 - 1e-8)
        }
    }

    func testRaisingGammaRejectsMore() {
        var last = 1.0
        for gamma in stride(from: -4.0, through: 4, by: 0.5) {
            let p = RejectionRule.acceptance(logit: -1, maxLogit: 0, epsilon: 1e-6, gamma: gamma)
            XCTAssertLessThan(p, last)
            last = p
        }
    }

    func testLogitAboveTheMaximumStaysFinite() {
        let p = RejectionRule.acceptance(logit: 5, maxLogit: 1, epsilon: 1e-6, gamma: 0)
        XCTAssertTrue(p.isFinite)
        XCTAssertGreaterThan(p, 0.999)
    }

    // MARK: calibration

    func testLogisticFitRecoversTheBayesLogit() {
        // Scores from N(+1, 1) (real) and N(−1, 1) (generated) at equal counts:
        // the log-odds are exactly 2x, so a = 2 and b = 0.
        let quantiles = (0..<4000).map { normalQuantile((Double($0) + 0.5) / 4000) }
        let fit = fitLogistic(positives: quantiles.map { $0 + 1 }, negatives: quantiles.map { $0 - 1 })
        XCTAssertEqual(fit.a, 2, accuracy: 0.05)
        XCTAssertEqual(fit.b, 0, accuracy: 0.02)
        XCTAssertLessThan(fit.loss, log(2))
    }

    func testSeparableScoresStayFinite() {
        let fit = fitLogistic(positives: [3, 4, 5], negatives: [-5, -4, -3])
        XCTAssertTrue(fit.a.isFinite && fit.a > 0 && fit.b.isFinite)
    }

    func testCalibrationEndToEndOnATinyModel() throws {
        let ckpt = try tinyCheckpoint()
        let dataset = try openDataset("shapes", imageSize: 16, seed: 1)
        let report = try calibrateCritic(ckpt, dataset: dataset, count: 64, burnIn: 96, seed: 3)
        XCTAssertEqual(report.realCount, 64)
        XCTAssertEqual(report.generatedCount, 64)
        XCTAssertTrue(report.a.isFinite && report.b.isFinite && report.maxLogit.isFinite)
        // A fit never does worse than the best constant on its own data.
        XCTAssertLessThanOrEqual(report.logLoss, Float(log(2.0)) + 1e-4)
        XCTAssertGreaterThanOrEqual(report.accuracy, 0.5)
        let again = try calibrateCritic(ckpt, dataset: dataset, count: 64, burnIn: 96, seed: 3)
        XCTAssertEqual(again.calibration, report.calibration)

        // The calibration and its record survive a save and load.
        var calibration = report.calibration
        calibration.record = ["seed": 3, "n": 64]
        ckpt.calibration = calibration
        let path = NSTemporaryDirectory() + "drs-\(UUID().uuidString).bin"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try ckpt.save(to: path)
        let loaded = try Checkpoint.load(path: path)
        XCTAssertEqual(loaded.calibration?.a, calibration.a)
        XCTAssertEqual(loaded.calibration?.maxLogit, calibration.maxLogit)
        XCTAssertEqual(loaded.calibration?.record, ["seed": 3, "n": 64])
    }

    func testCriticsWithoutALogitAreRefused() throws {
        let withoutCritic = try tinyCheckpoint()
        withoutCritic.critic = nil
        XCTAssertThrowsError(try logitCritic(of: withoutCritic)) { error in
            XCTAssertEqual((error as? InputError)?.kind, .missingData)
        }
        let began = try tinyCheckpoint()
        var rng = RandomGenerator(seed: 2)
        began.critic = Network(spec: try Models.beganAutoencoder(imageSize: 16, width: 8, hidden: 4), initializeWith: &rng)
        XCTAssertThrowsError(try logitCritic(of: began)) { error in
            XCTAssertEqual((error as? InputError)?.kind, .badSpec)
            XCTAssertTrue("\(error)".contains("BEGAN"))
        }
        let uncalibrated = try tinyCheckpoint()
        XCTAssertThrowsError(try RejectionSampler(checkpoint: uncalibrated, seed: 1, file: "x.bin")) { error in
            XCTAssertTrue("\(error)".contains("latent-tui calibrate x.bin"))
        }
    }

    // MARK: the sampler

    func testConstantCriticSamplerAcceptsEveryProposal() throws {
        let ckpt = try tinyCheckpoint(constantCritic: 0.7)
        ckpt.calibration = CriticCalibration(a: 1, b: 0, maxLogit: 0.7)
        let sampler = try RejectionSampler(checkpoint: ckpt, gamma: 0, epsilon: 1e-12, burnIn: 16, seed: 1)
        var rng = RandomGenerator(seed: 5)
        let drawn = try sampler.draw(40, using: &rng, batchSize: 16)
        XCTAssertEqual(drawn.latents.shape, [40, 4])
        XCTAssertEqual(drawn.images.shape, [40, 3, 16, 16])
        XCTAssertEqual(sampler.accepted, 40)
        XCTAssertEqual(sampler.proposed, 40)
        // The accepted images are the generator's images of the accepted latents.
        let regenerated = ckpt.generate(drawn.latents)
        let gap = zip(regenerated.storage, drawn.images.storage).map { abs($0 - $1) }.max() ?? .infinity
        XCTAssertLessThan(gap, 1e-5)
    }

    func testHigherPercentileKeepsFewerSamples() throws {
        let ckpt = try tinyCheckpoint()
        ckpt.calibration = CriticCalibration(a: 40, b: 0, maxLogit: 0)
        var rates: [Double] = []
        for percentile in [10.0, 50, 90] {
            let sampler = try RejectionSampler(checkpoint: ckpt, percentile: percentile, burnIn: 256, seed: 1)
            var rng = RandomGenerator(seed: 9)
            _ = try sampler.draw(60, using: &rng, batchSize: 32)
            rates.append(sampler.acceptanceRate)
        }
        XCTAssertGreaterThan(rates[0], rates[1])
        XCTAssertGreaterThan(rates[1], rates[2])
        // Same seed, same draw.
        let a = try RejectionSampler(checkpoint: ckpt, seed: 4), b = try RejectionSampler(checkpoint: ckpt, seed: 4)
        var ra = RandomGenerator(seed: 2), rb = RandomGenerator(seed: 2)
        XCTAssertEqual(try a.draw(5, using: &ra).latents.storage, try b.draw(5, using: &rb).latents.storage)
    }

    /// With ψ the proposals, and so every accepted latent, are the prior's draws scaled by ψ;
    /// the burn-in draws them the same way, so γ moves with ψ.
    func testTruncatedProposals() throws {
        let ckpt = try tinyCheckpoint(constantCritic: 0.7)
        ckpt.calibration = CriticCalibration(a: 1, b: 0, maxLogit: 0.7)
        let plain = try RejectionSampler(checkpoint: ckpt, gamma: 0, epsilon: 1e-12, burnIn: 16, seed: 1)
        let truncated = try RejectionSampler(checkpoint: ckpt, gamma: 0, epsilon: 1e-12, truncation: 0.5, burnIn: 16, seed: 1)
        var ra = RandomGenerator(seed: 5), rb = RandomGenerator(seed: 5)
        let a = try plain.draw(16, using: &ra, batchSize: 16).latents, b = try truncated.draw(16, using: &rb, batchSize: 16).latents
        XCTAssertEqual(b.storage, a.storage.map { $0 * 0.5 })

        let learned = try tinyCheckpoint()
        learned.calibration = CriticCalibration(a: 40, b: 0, maxLogit: 0)
        let gammas = try [1, 0.3].map { try RejectionSampler(checkpoint: learned, truncation: $0, burnIn: 64, seed: 1).gamma }
        XCTAssertNotEqual(gammas[0], gammas[1])
        // `truncated(ψ)` keeps every other setting: the same γ as a sampler made with ψ.
        let base = try RejectionSampler(checkpoint: learned, percentile: 60, burnIn: 64, seed: 1)
        XCTAssertEqual(try base.truncated(0.3).gamma,
                       try RejectionSampler(checkpoint: learned, percentile: 60, truncation: 0.3, burnIn: 64, seed: 1).gamma)
        XCTAssertEqual(try base.truncated(0.3).truncation, 0.3)
        for psi: Float in [0, 0.01, 2.5, .nan] {
            XCTAssertThrowsError(try RejectionSampler(checkpoint: ckpt, truncation: psi, seed: 1)) { error in
                XCTAssertEqual((error as? InputError)?.key, "--truncation")
            }
        }
    }

    func testImpossibleAcceptanceFailsWithAMessage() throws {
        let ckpt = try tinyCheckpoint(constantCritic: 0)
        ckpt.calibration = CriticCalibration(a: 1, b: 0, maxLogit: 0)
        let sampler = try RejectionSampler(checkpoint: ckpt, gamma: 1e6, burnIn: 8, seed: 1)
        sampler.proposalLimit = 3
        var rng = RandomGenerator(seed: 1)
        XCTAssertThrowsError(try sampler.draw(2, using: &rng, batchSize: 8)) { error in
            XCTAssertTrue("\(error)".contains("lower the percentile"))
        }
    }

    // MARK: helpers

    /// z[4] → [3, 16, 16] DCGAN generator with a DCGAN critic (or a critic
    /// whose output is `constantCritic` for every image).
    private func tinyCheckpoint(constantCritic: Float? = nil) throws -> Checkpoint {
        var rng = RandomGenerator(seed: 1)
        let generator = Network(spec: try Models.dcganGenerator(latentDimension: 4, imageSize: 16, width: 8, prior: .gaussian),
                                initializeWith: &rng)
        guard let constantCritic else {
            return Checkpoint(generator: generator,
                              critic: Network(spec: try Models.dcganCritic(imageSize: 16, width: 8), initializeWith: &rng))
        }
        let spec = NetworkSpec(prefix: "critic", layers: [.flatten, .linear(inFeatures: 768, outFeatures: 1, bias: true)],
                               inputSize: 768, inputShape: [3, 16, 16], imageSize: 16, channels: 3)
        let critic = try Network(spec: spec) { name in
            name.hasSuffix("weight") ? Tensor(shape: [1, 768], storage: [Float](repeating: 0, count: 768))
                                     : Tensor(shape: [1], storage: [constantCritic])
        }
        return Checkpoint(generator: generator, critic: critic)
    }
}

/// Φ⁻¹(p) by bisection on erfc (test data only).
private func normalQuantile(_ p: Double) -> Double {
    var (low, high) = (-10.0, 10.0)
    for _ in 0..<80 {
        let mid = (low + high) / 2
        if 0.5 * erfc(-mid / 2.squareRoot()) < p { low = mid } else { high = mid }
    }
    return (low + high) / 2
}
