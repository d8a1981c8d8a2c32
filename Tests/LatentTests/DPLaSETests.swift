import Foundation
@testable import Latent
import NN
import Tensors
import TestSupport
import XCTest

final class DPLaSETests: XCTestCase {
    override func setUp() { setBLASThreads(1) }

    func options(k: Int, steps: Int, seed: UInt64 = 1, layer: Int? = nil) -> DiscoveryOptions {
        var o = DiscoveryOptions()
        (o.k, o.seed, o.layer, o.scoreSamples) = (k, seed, layer, 32)
        o.dplase.steps = steps
        o.dplase.batch = 8
        o.dplase.learningRate = 1e-2
        return o
    }

    /// F' by autodiff agrees with a central difference of F (in Double-safe steps).
    func testDensitySlopeIsTheDerivativeOfF() {
        let f = DPLaSETrainer.makeDensityNetwork(hidden: 8, prior: .gaussian)
        let x = Tensor([-3, -1, -0.2, 0, 0.4, 2.5], shape: [6])
        let slope = densitySlope(f, x, createGraph: false).storage
        let h: Float = 1e-2
        let plus = withoutGrad { f((x + h).reshaped([6, 1])) }.storage
        let minus = withoutGrad { f((x - h).reshaped([6, 1])) }.storage
        for i in 0..<6 {
            XCTAssertEqual(slope[i], (plus[i] - minus[i]) / (2 * h), accuracy: 2e-3, "at \(x.storage[i])")
            XCTAssertGreaterThan(slope[i], 0, "F starts monotone")
        }
    }

    /// The Gram-matrix form of ‖ΔⱼᵀΔₕ‖² (C ≤ HW) and the block form (C > HW)
    /// both equal the direct sum over explicit HW×HW products.
    func testVariationLossMatchesTheDirectFormula() {
        var rng = RandomGenerator(seed: 8)
        for (channels, spatial) in [(2, 6), (5, 2), (7, 1)] {
            let (b, k, lambda): (Int, Int, Float) = (2, 3, 0.3)
            let base = Tensor.normal([b, channels, spatial], using: &rng)
            let moved = Tensor.normal([b * k, channels, spatial], using: &rng)
            let loss = variationLoss(base: base, moved: moved, batch: b, k: k, lambda: lambda).scalar

            var expected: Double = 0
            for bi in 0..<b {
                let x0 = Array(base.storage[(bi * channels * spatial)..<((bi + 1) * channels * spatial)])
                let scale = Double(norm(x0))
                func delta(_ j: Int) -> [Double] {
                    let row = (bi * k + j) * channels * spatial
                    return (0..<(channels * spatial)).map { Double(x0[$0] - moved.storage[row + $0]) / scale }
                }
                for j in 0..<k {
                    let dj = delta(j)
                    expected -= dj.reduce(0) { $0 + $1 * $1 }
                    for h in 0..<k where h != j {
                        let dh = delta(h)
                        for p in 0..<spatial {        // (ΔⱼᵀΔₕ)[p, q] = Σ_c Δⱼ[c, p]·Δₕ[c, q]
                            for q in 0..<spatial {
                                var entry = 0.0
                                for c in 0..<channels { entry += dj[c * spatial + p] * dh[c * spatial + q] }
                                expected += Double(lambda) * entry * entry
                            }
                        }
                    }
                }
            }
            expected /= Double(b * k)
            XCTAssertEqual(Double(loss), expected, accuracy: 1e-4 * max(1, abs(expected)), "C \(channels), HW \(spatial)")
        }
    }

    /// Training improves what each module is for — F's likelihood of prior
    /// samples, Γ's feature change — measured on a fixed evaluation set, and
    /// leaves the generator untouched.
    func testTrainingImprovesFAndGammaAndLeavesTheGeneratorAlone() throws {
        let checkpoint = TinyGenerator.convolutional(d: 8)
        let before = checkpoint.generator.namedTensors.map { $0.1.storage }
        var o = DPLaSEOptions()
        (o.batch, o.learningRate) = (8, 1e-2)
        let trainer = try DPLaSETrainer(generator: checkpoint.generator, prior: .gaussian, k: 3, layer: 2,
                                        options: o, seed: 3)
        var rng = RandomGenerator(seed: 50)
        let evaluation = Prior.gaussian.sample(64, dimension: 8, using: &rng)
        func negativeLogLikelihood() -> Float { -learnedLogDensity(trainer.density, evaluation).reduce(0, +) / 64 }
        func featureChange() -> Float {
            featureChangeScores(checkpoint.generator, directions: trainer.directions, layer: 2, z0: evaluation).reduce(0, +)
        }
        let (likelihoodBefore, changeBefore) = (negativeLogLikelihood(), featureChange())
        for _ in 0..<60 { trainer.step() }
        XCTAssertLessThan(negativeLogLikelihood(), likelihoodBefore, "F fits the prior")
        XCTAssertGreaterThan(featureChange(), changeBefore, "Γ finds more feature change")
        XCTAssertEqual(trainer.stepCount, 60)
        XCTAssertEqual(checkpoint.generator.namedTensors.map { $0.1.storage }, before, "generator frozen")
        XCTAssertTrue(checkpoint.generator.parameters.allSatisfy(\.requiresGrad), "requiresGrad restored")
    }

    /// Discovery stores unit, nearly orthonormal directions ordered by score,
    /// F and C, and the set survives a save and reload.
    func testDiscoveryStoresOrthonormalDirectionsFAndC() throws {
        let checkpoint = TinyGenerator.linear(d: 8)
        var reported: [DiscoveryProgress] = []
        let set = try discoverDirections(.dplase, in: checkpoint, options: options(k: 4, steps: 30)) {
            reported.append($0)
        }
        XCTAssertEqual(set.directions.shape, [4, 8])
        XCTAssertLessThan(orthonormalityError(set.directions), 0.05)
        for row in rows(set.directions) { XCTAssertEqual(norm(row), 1, accuracy: 1e-5) }
        XCTAssertEqual(set.scores, set.scores.sorted(by: >))
        XCTAssertEqual(set.layer, checkpoint.generator.spec.defaultSplitLayer)
        XCTAssertEqual(reported.count, 30)
        XCTAssertEqual(reported.last?.step, 30)
        XCTAssertTrue(reported.allSatisfy { $0.losses?.total.isFinite == true })
        XCTAssertEqual(checkpoint.densityCDF?.spec.prefix, "dplase.F")
        XCTAssertEqual(checkpoint.correction?.spec.prefix, "dplase.C")

        let folder = TemporaryFolder()
        let path = folder.file("model.bin")
        try checkpoint.save(to: path)
        let reloaded = try Checkpoint.load(path: path)
        XCTAssertEqual(reloaded.directionSets["dplase"]?.directions.storage, set.directions.storage)
        XCTAssertEqual(reloaded.defaultMethod, "dplase")
        let params = try JSONSerialization.jsonObject(with: Data(set.paramsJSON.utf8)) as? [String: Any]
        XCTAssertNotNil(params?["orthonormality_error"])
        XCTAssertNotNil(params?["final_losses"])
        // The reloaded F and C give the same learned density and the same corrected walk.
        var rng = RandomGenerator(seed: 1)
        let z = checkpoint.sampleLatents(3, using: &rng)
        XCTAssertEqual(learnedLogDensity(try XCTUnwrap(reloaded.densityCDF), z),
                       learnedLogDensity(try XCTUnwrap(checkpoint.densityCDF), z), accuracy: 1e-5)
        let walkA = try Walk(checkpoint: checkpoint, z0: z.slice(axis: 0, 0..<1), direction: set.direction(0), stride: 0.5, mode: .density)
        let walkB = try Walk(checkpoint: reloaded, z0: z.slice(axis: 0, 0..<1), direction: set.direction(0), stride: 0.5, mode: .density)
        XCTAssertEqual(walkA.latents(steps: -2...2).storage, walkB.latents(steps: -2...2).storage, accuracy: 1e-6)
    }

    /// On a generator whose first layer amplifies three latent axes, DP-LaSE's
    /// directions change G1 clearly more than random orthonormal ones.
    func testDPLaSEDirectionsChangeFeaturesMoreThanRandomOnes() throws {
        let gains: [Float] = [3, 2.5, 2, 0.2, 0.2, 0.2, 0.2, 0.2]
        let checkpoint = TinyGenerator.convolutional(d: 8, gains: gains, seed: 4)
        let learned = try discoverDirections(.dplase, in: checkpoint, options: options(k: 3, steps: 150, seed: 2))
        let random = try discoverDirections(.random, in: checkpoint, options: options(k: 3, steps: 0, seed: 2))
        var rng = RandomGenerator(seed: 77)
        let z0 = checkpoint.sampleLatents(64, using: &rng)
        let layer = learned.layer
        let learnedChange = featureChangeScores(checkpoint.generator, directions: learned.directions, layer: layer, z0: z0)
        let randomChange = featureChangeScores(checkpoint.generator, directions: random.directions, layer: layer, z0: z0)
        let meanLearned = learnedChange.reduce(0, +) / 3, meanRandom = randomChange.reduce(0, +) / 3
        XCTAssertGreaterThan(meanLearned, 1.4 * meanRandom, "learned \(learnedChange) vs random \(randomChange)")
        // They moved into the amplified axes: most of their energy lies in
        // span(e0, e1, e2) (3/8 for directions that ignore the gains).
        let energy = rows(learned.directions).map { dot(Array($0[0..<3]), Array($0[0..<3])) }.reduce(0, +) / 3
        XCTAssertGreaterThan(energy, 0.6, "\(rows(learned.directions))")
    }

    /// Uniform prior: the linear walk leaves the cube [−1, 1]^d at large
    /// strides and its learned log-density falls; the density-corrected walk
    /// pulls coordinates back and drifts several times less, while still
    /// advancing along γ (it does not simply undo the step).
    func testDensityCorrectedWalkDriftsMuchLessThanTheLinearWalk() throws {
        let checkpoint = TinyGenerator.linear(d: 8, prior: .uniform, seed: 6)
        var o = options(k: 2, steps: 250, seed: 5)
        o.dplase.batch = 16
        let set = try discoverDirections(.dplase, in: checkpoint, options: o)
        let density = try XCTUnwrap(checkpoint.densityCDF)
        let epsilonMax = Prior.uniform.expectedNorm(dimension: 8) / 2
        var rng = RandomGenerator(seed: 99)
        var linearDrift: Float = 0, correctedDrift: Float = 0, progress: Float = 0
        for trial in 0..<16 {
            let z0 = checkpoint.sampleLatents(1, using: &rng)
            let direction = trial % 2 == 0 ? set.direction(trial / 2 % 2) : unitRows(Tensor.normal([1, 8], using: &rng))
            let start = learnedLogDensity(density, z0)[0]
            for mode in [WalkMode.linear, .density] {
                let walk = try Walk(checkpoint: checkpoint, z0: z0, direction: direction, stride: epsilonMax / 4, mode: mode)
                let points = walk.latents(steps: 3...4)                               // ε = ¾ and 1 × ε_max
                let drift = learnedLogDensity(density, points).map { abs($0 - start) }.reduce(0, +)
                if mode == .linear {
                    linearDrift += drift
                } else {
                    correctedDrift += drift
                    for (row, step) in zip(rows(points), 3...4) {
                        let moved = zip(row, z0.storage).map { $0 - $1 }
                        progress += dot(moved, walk.direction.storage) / (Float(step) * walk.stride) / 32
                    }
                }
            }
        }
        XCTAssertGreaterThan(linearDrift, 3 * correctedDrift, "linear \(linearDrift) vs corrected \(correctedDrift)")
        XCTAssertGreaterThan(progress, 0.4, "mean progress along γ as a share of ε")
    }

    /// The same on the shipped uniform-prior checkpoint: its stored DP-LaSE
    /// directions, F and C, walked at ¾ and 1 × ε_max from 8 seeded z0.
    func testShippedUniformCheckpointDensityWalkDriftsMuchLess() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("checkpoints/shapes-ns-uniform.bin").path
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("\(path) is not there") }
        let checkpoint = try Checkpoint.load(path: path)
        XCTAssertEqual(checkpoint.prior, .uniform)
        let set = try XCTUnwrap(checkpoint.directionSets["dplase"])
        let density = try XCTUnwrap(checkpoint.densityCDF)
        let epsilonMax = Prior.uniform.expectedNorm(dimension: checkpoint.latentDimension) / 2
        var rng = RandomGenerator(seed: 3)
        var linearDrift: Float = 0, correctedDrift: Float = 0
        for trial in 0..<8 {
            let z0 = checkpoint.sampleLatents(1, using: &rng)
            let start = learnedLogDensity(density, z0)[0]
            for mode in [WalkMode.linear, .density] {
                let walk = try Walk(checkpoint: checkpoint, z0: z0, direction: set.direction(trial % set.k),
                                    stride: epsilonMax / 4, mode: mode)
                let drift = learnedLogDensity(density, walk.latents(steps: 3...4)).map { abs($0 - start) }.reduce(0, +)
                if mode == .linear { linearDrift += drift } else { correctedDrift += drift }
            }
        }
        XCTAssertGreaterThan(linearDrift, 3 * correctedDrift, "linear \(linearDrift) vs corrected \(correctedDrift)")
    }
}
