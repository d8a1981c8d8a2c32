import Foundation
@testable import GAN
import NN
import Tensors
import TestSupport
import XCTest

/// Tiny models (16×16 images, width 8) so every objective runs in milliseconds.
final class TrainerTests: XCTestCase {
    func tinyConfig(_ objective: Objective) -> TrainingConfig {
        var config = TrainingConfig(objective: objective)
        config.imageSize = 16
        config.width = 8
        config.latentDimension = 4
        config.batch = 4
        config.steps = 3
        config.seed = 5
        config.beganHidden = 4
        return config
    }

    func shapes(_ config: TrainingConfig) throws -> ShapesDataset {
        try ShapesDataset(imageSize: config.imageSize, seed: 1, valueRange: (-1, 1))
    }

    func temporaryCheckpointPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("resume-\(UUID()).bin").path
    }

    func removeCheckpoint(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
        try? FileManager.default.removeItem(atPath: path + ".state")
    }

    /// A new run trained for two steps and saved to `path` (with its .state).
    func trainedTwoSteps(_ config: TrainingConfig, savedTo path: String) throws -> Trainer {
        let trainer = try Trainer(config: config, realBatches: try shapes(config).batch)
        for _ in 0..<2 { try trainer.trainStep() }
        try trainer.save(to: path)
        return trainer
    }

    /// Four steps in one run, and the same four as two steps, a save, a resume and two more steps.
    func straightAndResumed(_ base: TrainingConfig) throws -> (straight: Trainer, resumed: Trainer) {
        var config = base
        config.steps = 4
        let dataset = try shapes(config)
        let straight = try Trainer(config: config, realBatches: dataset.batch)
        for _ in 0..<4 { try straight.trainStep() }
        let first = try Trainer(config: config, realBatches: dataset.batch)
        for _ in 0..<2 { try first.trainStep() }
        let path = temporaryCheckpointPath()
        defer { removeCheckpoint(path) }
        try first.save(to: path)
        let resumed = try Trainer.resume(from: path, realBatches: dataset.batch)
        XCTAssertEqual(resumed.step, 2)
        for _ in 0..<2 { try resumed.trainStep() }
        return (straight, resumed)
    }

    func testEveryObjectiveTrainsAndSavesALoadableCheckpoint() throws {
        for objective in Objective.allCases {
            var config = tinyConfig(objective)
            if objective == .wganGP { config.pathLengthWeight = 2; config.pathLengthInterval = 1 }
            let dataset = try shapes(config)
            let trainer = try Trainer(config: config, realBatches: dataset.batch)
            let before = trainer.generator.parameters.map(\.storage)
            var last: StepMetrics?
            for _ in 0..<config.steps { last = try trainer.trainStep() }
            let metrics = try XCTUnwrap(last)
            XCTAssertTrue(metrics.lossCritic.isFinite && metrics.lossGenerator.isFinite, "\(objective)")
            XCTAssertTrue(trainer.generator.parameters.map(\.storage) != before, "\(objective): the generator must move")
            switch objective {
            case .wganGP:
                XCTAssertNotNil(metrics.gradientPenalty)
                XCTAssertNotNil(metrics.pathLength, "path length regularization ran")
            case .began:
                XCTAssertNotNil(metrics.kT)
                XCTAssertNotNil(metrics.convergence)
            case .san: XCTAssertNotNil(metrics.r1)
            case .wgan:
                let biggest = trainer.critic.parameters.flatMap(\.storage).map(abs).max() ?? 0
                XCTAssertLessThanOrEqual(biggest, config.clip, "weights clipped")
            case .ns: break
            }
            let path = temporaryCheckpointPath()
            defer { removeCheckpoint(path) }
            try trainer.save(to: path)
            let loaded = try Checkpoint.load(path: path)
            XCTAssertEqual(loaded.prior.rawValue, objective == .began ? "uniform" : "gaussian")
            XCTAssertNotNil(loaded.critic)
            XCTAssertTrue(loaded.generate(trainer.fixedLatents).storage == trainer.fixedSamples().storage, "\(objective) reload")
            XCTAssertTrue(loaded.trainingRecord?.contains("\"objective\":\"\(objective.rawValue)\"") ?? false)
        }
    }

    /// Resuming from the saved checkpoint and state continues exactly as an uninterrupted run.
    func testResumeContinuesExactly() throws {
        for objective in [Objective.wganGP, .began, .san] {
            let (straight, resumed) = try straightAndResumed(tinyConfig(objective))
            XCTAssertTrue(resumed.generator.parameters.map(\.storage) == straight.generator.parameters.map(\.storage), "\(objective) generator")
            XCTAssertTrue(resumed.critic.namedTensors.map(\.1.storage) == straight.critic.namedTensors.map(\.1.storage), "\(objective) critic")
            XCTAssertEqual(resumed.kT, straight.kT)
        }
    }

    /// `--ema β`: the checkpoint's generator is β·average + (1 − β)·live after every step,
    /// starting from the initial weights; the live weights stay with the optimizer.
    func testMovingAverageOfTheGeneratorFollowsItsRecursion() throws {
        var config = tinyConfig(.wganGP)
        config.generatorAverage = 0.75
        let dataset = try shapes(config)
        let trainer = try Trainer(config: config, realBatches: dataset.batch)
        let averaged = try XCTUnwrap(trainer.averagedGenerator)
        var expected = trainer.generator.namedTensors.map { $0.1.storage.map(Double.init) }
        for _ in 0..<3 {
            try trainer.trainStep()
            for (index, (_, live)) in trainer.generator.namedTensors.enumerated() {
                expected[index] = zip(expected[index], live.storage).map { 0.75 * $0 + 0.25 * Double($1) }
            }
        }
        for ((name, average), want) in zip(averaged.namedTensors, expected) {
            let error = zip(average.storage, want).map { abs(Double($0) - $1) }.max() ?? 0
            XCTAssertLessThan(error, 1e-5, name)
        }
        XCTAssertTrue(averaged.parameters.map(\.storage) != trainer.generator.parameters.map(\.storage),
                      "the average lags the live weights")
        XCTAssertTrue(trainer.checkpoint().generator === averaged, "the checkpoint saves the average")
        XCTAssertTrue(trainer.fixedSamples().storage == withoutGrad { averaged(trainer.fixedLatents) }.storage)
    }

    /// A run with `--ema` resumes exactly (average from the checkpoint, live weights from the state),
    /// and `--ema` given at resume starts the average from the weights trained so far.
    func testMovingAverageResumesExactlyAndCanStartAtResume() throws {
        var config = tinyConfig(.wganGP)
        config.generatorAverage = 0.5
        let (straight, resumed) = try straightAndResumed(config)
        XCTAssertTrue(resumed.generator.namedTensors.map(\.1.storage) == straight.generator.namedTensors.map(\.1.storage), "live")
        XCTAssertTrue(resumed.averagedGenerator!.namedTensors.map(\.1.storage)
                      == straight.averagedGenerator!.namedTensors.map(\.1.storage), "average")

        var plain = tinyConfig(.wganGP)
        plain.steps = 4
        let dataset = try shapes(plain)
        let path = temporaryCheckpointPath()
        defer { removeCheckpoint(path) }
        let noAverage = try trainedTwoSteps(plain, savedTo: path)
        let switched = try Trainer.resume(from: path, generatorAverage: 0.9, realBatches: dataset.batch)
        XCTAssertEqual(switched.config.generatorAverage, 0.9)
        XCTAssertTrue(switched.averagedGenerator!.namedTensors.map(\.1.storage) == noAverage.generator.namedTensors.map(\.1.storage))
        XCTAssertThrowsError(try Trainer.resume(from: path, generatorAverage: 1, realBatches: dataset.batch))
    }

    /// A learning rate given at resume applies to both optimizers from there on; their moments carry over.
    func testLearningRateChangesAtResume() throws {
        let config = tinyConfig(.wganGP)
        let dataset = try shapes(config)
        let path = temporaryCheckpointPath()
        defer { removeCheckpoint(path) }
        let trainer = try trainedTwoSteps(config, savedTo: path)
        let decayed = try Trainer.resume(from: path, learningRate: 3e-5, realBatches: dataset.batch)
        XCTAssertEqual(decayed.config.learningRateGenerator, 3e-5)
        XCTAssertEqual(decayed.criticOptimizer.learningRate, 3e-5)
        XCTAssertEqual(decayed.generatorOptimizer.learningRate, 3e-5)
        XCTAssertEqual(decayed.generatorOptimizer.state.mapValues(\.storage), trainer.generatorOptimizer.state.mapValues(\.storage))
        XCTAssertEqual(decayed.criticOptimizer.state.mapValues(\.storage), trainer.criticOptimizer.state.mapValues(\.storage))
        XCTAssertThrowsError(try Trainer.resume(from: path, learningRate: 0, realBatches: dataset.batch))
    }

    /// SAN: the hinge (function) term trains h and s but not ω; the direction term trains ω only.
    func testSANRoutesEachTermToItsOwnParameters() throws {
        var config = tinyConfig(.san)
        config.r1 = 0
        let dataset = try shapes(config)
        let trainer = try Trainer(config: config, realBatches: dataset.batch)
        var rng = RandomGenerator(seed: 3)
        let real = dataset.batch(4, using: &rng)
        let fake = withoutGrad { trainer.generator(config.priorValue.sample(4, dimension: 4, using: &rng), training: true) }
        let n = 4
        let h = trainer.critic(Tensor.concat([real, fake], axis: 0), training: true, layers: 0..<trainer.critic.spec.layers.count - 1)
        let scaled = h * trainer.sanScale!
        let omega = trainer.sanOmega()
        let outFun = matmul(scaled, omega.detached(), transposeB: true)
        let hinge = (1 - outFun.slice([0..<n])).relu().mean() + (1 + outFun.slice([n..<2 * n])).relu().mean()
        let outDir = matmul(scaled.detached(), omega, transposeB: true)
        let direction = outDir.slice([n..<2 * n]).mean() - outDir.slice([0..<n]).mean()
        // h's parameters: the critic's, except the last layer whose weight SAN splits into s and ω.
        let lastWeight = trainer.critic.tensor(layer: trainer.critic.spec.layers.count - 1, "weight")
        let hParameters = trainer.critic.parameters.filter { $0 !== lastWeight }
        func magnitude(_ ts: [Tensor]) -> Float { ts.flatMap(\.storage).map(abs).reduce(0, +) }

        let hingeGrads = gradients(of: hinge, wrt: hParameters + [trainer.sanScale!, trainer.sanDirection!])
        XCTAssertGreaterThan(magnitude(Array(hingeGrads.dropLast(2))), 0, "hinge trains h")
        XCTAssertGreaterThan(magnitude([hingeGrads[hingeGrads.count - 2]]), 0, "hinge trains s")
        XCTAssertEqual(magnitude([hingeGrads.last!]), 0, "hinge must not train ω")

        let directionGrads = gradients(of: direction, wrt: hParameters + [trainer.sanScale!, trainer.sanDirection!])
        XCTAssertEqual(magnitude(Array(directionGrads.dropLast())), 0, "direction term must not train h or s")
        XCTAssertGreaterThan(magnitude([directionGrads.last!]), 0, "direction term trains ω")

        // The whole critic loss used in training routes the same way.
        let loss = trainer.criticLoss(real: real, fake: fake).loss
        let all = gradients(of: loss, wrt: [trainer.sanDirection!])
        XCTAssertGreaterThan(magnitude(all), 0)
    }

    /// With two worker threads a critic step runs the two halves of its batch concurrently;
    /// loss, gradients and logged figures must equal the whole batch's on one thread.
    func testCriticStepSplitOverTwoThreadsMatchesTheWholeBatch() throws {
        defer { setWorkerThreads(1) }
        for objective in Objective.allCases {
            var config = tinyConfig(objective)
            config.batch = 10  // odd halves (5 + 5) are fine; the split needs 8 or more
            // Two identical trainers (same seed), so BEGAN's k_t starts equal for both paths.
            let trainers = try (0..<2).map { _ in try Trainer(config: config, realBatches: try shapes(config).batch) }
            var rng = RandomGenerator(seed: 21)
            let real = try shapes(config).batch(10, using: &rng)
            let fake = withoutGrad { trainers[0].generator(config.priorValue.sample(10, dimension: 4, using: &rng), training: true) }
            let t = Tensor.uniform([10, 1, 1, 1], using: &rng)
            func step(threads: Int) -> (loss: Float, gradients: [Tensor], metrics: StepMetrics) {
                let trainer = trainers[threads - 1]
                setWorkerThreads(threads)
                XCTAssertEqual(trainer.splitsCriticBatch, threads == 2, "\(objective)")
                var metrics = StepMetrics(step: 0, lossCritic: 0, lossGenerator: 0, seconds: 0)
                let (loss, grads) = trainer.criticGradients(real: real, fake: fake, interpolation: t, metrics: &metrics)
                return (loss, grads, metrics)
            }
            let whole = step(threads: 1)
            let split = step(threads: 2)
            XCTAssertEqual(split.loss, whole.loss, accuracy: 1e-5 * max(1, abs(whole.loss)), "\(objective)")
            XCTAssertEqual(split.gradients.count, whole.gradients.count)
            for (a, b) in zip(split.gradients, whole.gradients) {
                assertClose(a.storage, b.storage, tolerance: 1e-5, "\(objective) gradient")
            }
            XCTAssertGreaterThan(whole.gradients.flatMap(\.storage).map(abs).max()!, 0, "\(objective)")
            for figure in [\StepMetrics.wasserstein, \.gradientPenalty, \.r1, \.convergence] {
                XCTAssertEqual(split.metrics[keyPath: figure] == nil, whole.metrics[keyPath: figure] == nil, "\(objective)")
                if let a = split.metrics[keyPath: figure], let b = whole.metrics[keyPath: figure] {
                    XCTAssertEqual(a, b, accuracy: 1e-5 * max(1, abs(b)), "\(objective)")
                }
            }
            if objective == .began {
                XCTAssertGreaterThan(trainers[0].kT, 0, "k_t moves once per critic step")
                XCTAssertEqual(trainers[1].kT, trainers[0].kT, accuracy: 1e-7, "by the same amount split or not")
            }
        }
    }

    /// A critic with dropout keeps one thread (its masks come from one random stream), and so
    /// does a critic big enough for its own GEMMs to split well.
    func testWhichCriticsSplitTheirBatch() throws {
        defer { setWorkerThreads(1) }
        setWorkerThreads(2)
        func splits(_ change: (inout TrainingConfig) -> Void) throws -> (Bool, Double) {
            var config = tinyConfig(.wganGP)
            config.batch = 64
            change(&config)
            let trainer = try Trainer(config: config, realBatches: try shapes(config).batch)
            return (trainer.splitsCriticBatch, try trainer.critic.spec.forwardFLOPs())
        }
        XCTAssertTrue(try splits { _ in }.0)
        XCTAssertFalse(try splits { $0.dropout = 0.3 }.0)
        // (image size, width): the shipped model, the default width, dcgan32, dcgan64.
        let models: [(size: Int, width: Int, flops: Double, splits: Bool)] = [
            (32, 64, 2.5e6, true), (32, 128, 9.18e6, true), (32, 256, 35.1e6, false), (64, 256, 53.5e6, false)]
        for model in models {
            let (split, flops) = try splits { ($0.imageSize, $0.width) = (model.size, model.width) }
            XCTAssertEqual(split, model.splits, "\(model)")
            XCTAssertEqual(flops, model.flops, accuracy: 0.05e6, "\(model)")
        }
    }

    func testDivergenceStopsTheRun() throws {
        var config = tinyConfig(.wganGP)
        config.divergenceLimit = 1e-9  // any non-zero loss counts as diverged
        let dataset = try shapes(config)
        let trainer = try Trainer(config: config, realBatches: dataset.batch)
        XCTAssertThrowsError(try trainer.trainStep()) { error in
            XCTAssertTrue(error is TrainingDiverged)
        }
        let nanData: RealBatches = { n, _ in Tensor.full([n, 3, 16, 16], .nan) }
        let poisoned = try Trainer(config: tinyConfig(.ns), realBatches: nanData)
        XCTAssertThrowsError(try poisoned.trainStep())
    }

    func testCriticWidthIsSetApartFromTheGenerators() throws {
        var config = tinyConfig(.wganGP)
        config.criticWidth = 32
        let trainer = try Trainer(config: config, realBatches: try shapes(config).batch)
        // 16 px has two stages: the critic runs 3 → 16 → 32 (its widths reversed), the generator 8 → 4 → 3.
        guard case let .conv2d(_, firstCritic, _, _, _, _) = trainer.critic.spec.layers[0] else { return XCTFail("critic starts with a conv") }
        XCTAssertEqual(firstCritic, 16)
        XCTAssertTrue(trainer.generator.spec.layers.contains { if case .convTranspose2d(8, 4, _, _, _, _, _) = $0 { true } else { false } })
        try trainer.trainStep()
        let path = temporaryCheckpointPath()
        defer { removeCheckpoint(path) }
        try trainer.save(to: path)
        XCTAssertEqual(try Trainer.savedConfig(at: path).criticWidth, 32)
        // Records written before the field existed decode with the critic as wide as the generator.
        let old = try JSONSerialization.jsonObject(with: Data(tinyConfig(.wgan).jsonString.utf8)) as! [String: Any]
        XCTAssertNil(old["criticWidth"])
        let decoded = try JSONDecoder().decode(TrainingConfig.self, from: JSONSerialization.data(withJSONObject: old))
        XCTAssertEqual(decoded.criticWidthValue, 8)
    }

    func testInitGeneratorStartsFromASavedGeneratorAgainstAFreshCritic() throws {
        var first = tinyConfig(.wganGP)
        (first.pathLengthWeight, first.pathLengthInterval) = (2, 1)
        let dataset = try shapes(first)
        let path = temporaryCheckpointPath()
        defer { removeCheckpoint(path) }
        let trained = try trainedTwoSteps(first, savedTo: path)

        var next = first
        (next.initGenerator, next.criticWidth, next.criticWarmup, next.seed) = (path, 16, 3, 9)
        let started = try Trainer(config: next, realBatches: dataset.batch)
        for ((name, a), (_, b)) in zip(started.generator.namedTensors, trained.generator.namedTensors) {
            XCTAssertEqual(a.storage, b.storage, name)
        }
        XCTAssertNotEqual(started.critic.spec, trained.critic.spec)
        XCTAssertEqual(started.pathLengthMean, trained.pathLengthMean)
        XCTAssertNotEqual(started.pathLengthMean, 0)
        XCTAssertEqual(started.config.initGeneratorSteps, 2)
        XCTAssertEqual(started.config.initGeneratorSeconds ?? -1, (trained.trainingSeconds * 10).rounded() / 10, accuracy: 1e-9)

        // The warm-up adds critic updates before the first generator update only.
        let adam = try XCTUnwrap(started.criticOptimizer as? Adam)
        try started.trainStep()
        XCTAssertEqual(adam.stepCount, next.criticSteps + 3)
        try started.trainStep()
        XCTAssertEqual(adam.stepCount, 2 * next.criticSteps + 3)
        // Resuming the new run keeps its own generator and settings.
        let resumedPath = temporaryCheckpointPath()
        defer { removeCheckpoint(resumedPath) }
        try started.save(to: resumedPath)
        let resumed = try Trainer.resume(from: resumedPath, realBatches: dataset.batch)
        XCTAssertEqual(resumed.config, started.config)
        XCTAssertEqual(resumed.generator.namedTensors.map(\.1.storage), started.generator.namedTensors.map(\.1.storage))

        // A file whose tensors carry another prefix (a bare nn.Sequential from PyTorch) loads layer by layer.
        var bareSpec = trained.generator.spec
        bareSpec.prefix = ""
        let named = Dictionary(uniqueKeysWithValues: trained.generator.namedTensors)
        let bare = try Network(spec: bareSpec) { named["\(trained.generator.spec.prefix).\($0)"] }
        let barePath = temporaryCheckpointPath()
        defer { removeCheckpoint(barePath) }
        try Checkpoint(generator: bare).save(to: barePath)
        var fromBare = next
        fromBare.initGenerator = barePath
        let startedFromBare = try Trainer(config: fromBare, realBatches: dataset.batch)
        XCTAssertEqual(startedFromBare.generator.namedTensors.map(\.1.storage), trained.generator.namedTensors.map(\.1.storage))
        XCTAssertNil(startedFromBare.config.initGeneratorSteps)

        var mismatched = next
        mismatched.width = 16
        XCTAssertThrowsError(try Trainer(config: mismatched, realBatches: dataset.batch)) {
            XCTAssertEqual(($0 as? InputError)?.key, "--init-generator")
        }
        mismatched = next
        mismatched.initGenerator = path + ".missing"
        XCTAssertThrowsError(try Trainer(config: mismatched, realBatches: dataset.batch)) { XCTAssertTrue($0 is InputError) }
        mismatched = next
        mismatched.criticWarmup = -1
        XCTAssertThrowsError(try mismatched.validate()) { XCTAssertEqual(($0 as? InputError)?.key, "--critic-warmup") }
    }

    func testConfigValidationNamesTheFlag() {
        var config = tinyConfig(.wgan)
        config.imageSize = 48
        XCTAssertThrowsError(try config.validate()) { XCTAssertEqual(($0 as? InputError)?.key, "--image-size") }
        config = tinyConfig(.wgan)
        config.batch = 1
        XCTAssertThrowsError(try config.validate()) { XCTAssertEqual(($0 as? InputError)?.key, "--batch") }
        config = tinyConfig(.wgan)
        config.criticWidth = 1
        XCTAssertThrowsError(try config.validate()) { XCTAssertEqual(($0 as? InputError)?.key, "--critic-width") }
    }
}
