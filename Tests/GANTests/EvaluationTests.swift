import Foundation
@testable import GAN
import Imaging
import NN
import Tensors
import XCTest

final class EvaluationTests: XCTestCase {
    // MARK: building blocks

    func testWassersteinOnKnownSamples() {
        XCTAssertEqual(wasserstein1([0, 1], [1, 2]), 1, accuracy: 1e-6)
        XCTAssertEqual(wasserstein1([0], [0, 2]), 1, accuracy: 1e-6)
        XCTAssertEqual(wasserstein1([3, 1, 2], [2, 3, 1]), 0, accuracy: 1e-6)
        XCTAssertEqual(wasserstein1([0, 0, 0, 4], [0]), 1, accuracy: 1e-6)
    }

    func testJacobiEigenReconstructsTheMatrix() {
        var rng = RandomGenerator(seed: 4)
        let n = 9
        var b = [Double](repeating: 0, count: n * n)
        for i in b.indices { b[i] = Double(rng.nextNormal()) }
        var a = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in 0..<n { for k in 0..<n { a[i * n + j] += b[i * n + k] * b[j * n + k] } } }
        let (values, vectors) = jacobiEigen(a, n: n)
        for i in 0..<n {
            for j in 0..<n {
                var sum = 0.0
                for e in 0..<n { sum += vectors[i * n + e] * values[e] * vectors[j * n + e] }
                XCTAssertEqual(sum, a[i * n + j], accuracy: 1e-9)
                var dot = 0.0
                for k in 0..<n { dot += vectors[k * n + i] * vectors[k * n + j] }
                XCTAssertEqual(dot, i == j ? 1 : 0, accuracy: 1e-10)
            }
        }
        let root = symmetricSquareRoot(a, n: n)
        for i in 0..<n {
            for j in 0..<n {
                var sum = 0.0
                for k in 0..<n { sum += root[i * n + k] * root[k * n + j] }
                XCTAssertEqual(sum, a[i * n + j], accuracy: 1e-8)
            }
        }
    }

    func testFrechetClosedForm() {
        // 1-D: (μa − μb)² + (σa − σb)².
        XCTAssertEqual(frechetDistance(meanA: [1], covarianceA: [4], meanB: [3], covarianceB: [9]), 4 + 1, accuracy: 1e-10)
        // Diagonal covariances: per-axis sums.
        XCTAssertEqual(frechetDistance(meanA: [0, 0], covarianceA: [1, 0, 0, 4], meanB: [0, 1], covarianceB: [4, 0, 0, 1]),
                       1 + 1 + 1, accuracy: 1e-10)
        // Non-commuting covariances: the distance is symmetric although the formula's steps are not.
        let a = [2.0, 0.9, 0.9, 1.0], b = [1.0, -0.4, -0.4, 3.0]
        let ab = frechetDistance(meanA: [0, 0], covarianceA: a, meanB: [1, 0], covarianceB: b)
        let ba = frechetDistance(meanA: [1, 0], covarianceA: b, meanB: [0, 0], covarianceB: a)
        XCTAssertEqual(ab, ba, accuracy: 1e-10)
        XCTAssertGreaterThan(ab, 1)
        XCTAssertEqual(frechetDistance(meanA: [0, 0], covarianceA: a, meanB: [0, 0], covarianceB: a), 0, accuracy: 1e-10)
    }

    func testPrecisionRecallSeeSupportNotDensity() {
        // Real points on a segment; generated on half of it: full precision, about half recall.
        let real = (0..<200).map { [Double($0) / 199, 0] }
        let half = (0..<100).map { [Double($0) / 198, 0] }
        let (p, r) = manifoldPrecisionRecall(real: real, generated: half, k: 3)
        XCTAssertEqual(p, 1)
        XCTAssertEqual(r, 0.5, accuracy: 0.05)
        let far = (0..<100).map { [Double($0) / 99, 5] }
        XCTAssertEqual(manifoldPrecisionRecall(real: real, generated: far, k: 3).precision, 0)
    }

    // MARK: whole evaluations on the shapes dataset

    private func shapes(_ n: Int, seed: UInt64) throws -> Tensor {
        try ShapesDataset(imageSize: 32).sampleImages(n, seed: seed)
    }

    func testRealAgainstRealIsClose() throws {
        let report = evaluate(generated: try shapes(400, seed: 1), real: try shapes(400, seed: 2), valueRange: (-1, 1))
        XCTAssertEqual(report.generatedCount, 400)
        XCTAssertLessThan(report.frechet, 0.25, report.text)
        XCTAssertGreaterThan(report.precision, 0.8, report.text)
        XCTAssertGreaterThan(report.recall, 0.8, report.text)
        XCTAssertEqual(report.cleanFraction, 1)
        XCTAssertEqual(report.realCleanFraction, 1)
        for s in report.statistics { XCTAssertLessThan(s.standardisedWasserstein, 0.2, "\(s)") }
    }

    func testNoiseImagesAreFarAway() throws {
        let real = try shapes(300, seed: 2)
        var rng = RandomGenerator(seed: 8)
        let noise = Tensor.uniform([300, 3, 32, 32], low: -1, high: 1, using: &rng)
        let report = evaluate(generated: noise, real: real, valueRange: (-1, 1))
        XCTAssertGreaterThan(report.frechet, 20, report.text)
        XCTAssertLessThan(report.precision, 0.1, report.text)
        XCTAssertLessThan(report.recall, 0.1, report.text)
        XCTAssertEqual(report.cleanFraction, 0)
    }

    /// Every real shape moved to (x, y) = `place(factors)`.
    private func moved(_ place: (ShapeFactors) -> Float) throws -> Tensor {
        let dataset = try ShapesDataset(imageSize: 32)
        var rng = RandomGenerator(seed: 5)
        let (_, factors) = dataset.labelledBatch(300, using: &rng)
        var values: [Float] = []
        for var f in factors {
            (f.x, f.y) = (place(f), place(f))
            values += dataset.render(f)
        }
        return Tensor(shape: [300, 3, 32, 32], storage: values)
    }

    func testShapesPushedIntoACornerAreFarAway() throws {
        let real = try shapes(300, seed: 2)
        let baseline = evaluate(generated: try shapes(300, seed: 1), real: real, valueRange: (-1, 1))
        // As far up and left as the dataset allows, like a generator that lost
        // the position factor: each image is plausible, the set is not.
        let cornered = try moved { ShapesDataset.boundingRadius * $0.scale + 1.0 / 32 }
        let report = evaluate(generated: cornered, real: real, valueRange: (-1, 1))
        XCTAssertGreaterThan(report.frechet, 10 * baseline.frechet + 1, report.text)
        XCTAssertLessThan(report.recall, baseline.recall - 0.3, report.text)
        XCTAssertLessThanOrEqual(report.precision, baseline.precision, report.text)
        XCTAssertEqual(report.cleanFraction, 1) // clean shapes, wrong places
        let x = report.statistics.first { $0.name == "x" }
        XCTAssertLessThan(x?.generatedMean ?? 1, 0.4)
        XCTAssertGreaterThan(x?.standardisedWasserstein ?? 0, 1)
        // Colours were left alone: the hue statistics stay close.
        let hue = report.statistics.first { $0.name == "hue_cos" }
        XCTAssertLessThan(hue?.standardisedWasserstein ?? 1, 0.2)

        // Further, into the corner and cut by the image border: implausible images.
        let cut = evaluate(generated: try moved { _ in 0.1 }, real: real, valueRange: (-1, 1))
        XCTAssertGreaterThan(cut.frechet, 10 * baseline.frechet + 1, cut.text)
        XCTAssertLessThan(cut.precision, baseline.precision - 0.4, cut.text)
        XCTAssertLessThan(cut.recall, baseline.recall - 0.4, cut.text)
        XCTAssertLessThan(cut.cleanFraction, 0.5, cut.text) // small shapes can still fit

        // Which condition of a clean shape the cut ones miss: the background all around.
        func generatedShare(_ report: EvaluationReport, _ condition: ShapeStatistics.CleanCondition) -> Float {
            report.cleanConditions?.first { $0.condition == condition }?.generated ?? -1
        }
        XCTAssertEqual(cut.cleanConditions?.map(\.condition), ShapeStatistics.CleanCondition.allCases)
        XCTAssertLessThan(generatedShare(cut, .backgroundAllAround), 0.5, cut.text)
        XCTAssertGreaterThan(generatedShare(cut, .oneComponent), 0.95, cut.text)
        XCTAssertGreaterThan(generatedShare(cut, .uniformColour), 0.95, cut.text)
        for condition in ShapeStatistics.CleanCondition.allCases {
            XCTAssertEqual(generatedShare(report, condition), 1, "\(condition)")
            XCTAssertEqual(cut.cleanConditions?.first { $0.condition == condition }?.real, 1, "\(condition)")
            XCTAssertLessThanOrEqual(cut.cleanFraction, generatedShare(cut, condition))
        }
    }

    func testReportFormats() throws {
        let report = evaluate(generated: try shapes(50, seed: 1), real: try shapes(50, seed: 2), valueRange: (-1, 1))
        for name in ShapeStatistics.names { XCTAssertTrue(report.text.contains(name)) }
        XCTAssertTrue(report.text.contains("Fréchet"))
        let columns = report.markdownRow.split(separator: "|").count
        XCTAssertEqual(columns, EvaluationReport.markdownHeader.split(separator: "\n")[0].split(separator: "|").count)
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        XCTAssertTrue(report.json.contains("\"clean_fraction\""))
        XCTAssertTrue(report.json.contains("\"background_all_around\""))
        XCTAssertTrue(report.text.contains("uniform colour"))
        XCTAssertEqual(try decoder.decode(EvaluationReport.self, from: Data(report.json.utf8)), report)

        // A report saved before the conditions were measured still loads (ablations resume from them).
        var older = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(report.json.utf8)) as? [String: Any])
        older["clean_conditions"] = nil
        let loaded = try decoder.decode(EvaluationReport.self, from: JSONSerialization.data(withJSONObject: older))
        XCTAssertNil(loaded.cleanConditions)
        XCTAssertEqual(loaded.frechet, report.frechet)
        XCTAssertFalse(loaded.text.contains("uniform colour"))
    }

    // MARK: checkpoints

    /// A tiny generator z[8] → tanh(linear) → [3, 16, 16]; freshly initialised,
    /// its images are nearly flat grey (no shape).
    private func tinyCheckpoint(outputs: [Int] = [3, 16, 16]) -> Checkpoint {
        let spec = NetworkSpec(prefix: "main",
                               layers: [.linear(inFeatures: 8, outFeatures: outputs.product, bias: true),
                                        .unflatten(shape: outputs), .tanh],
                               inputSize: 8, prior: .gaussian, valueRange: (-1, 1))
        var rng = RandomGenerator(seed: 1)
        return Checkpoint(generator: Network(spec: spec, initializeWith: &rng))
    }

    func testEvaluateCheckpointAgainstShapes() throws {
        var calls: [Int] = []
        let report = try evaluateCheckpoint(tinyCheckpoint(), data: "shapes", count: 70, seed: 3, batchSize: 32, progress: { done, total in
            XCTAssertEqual(total, 70)
            calls.append(done)
        })
        XCTAssertEqual(calls, [32, 64, 70])
        XCTAssertEqual(report.generatedCount, 70)
        XCTAssertEqual(report.realCount, 70)
        XCTAssertEqual(report.realCleanFraction, 1)
        XCTAssertLessThan(report.cleanFraction, 0.1)
        XCTAssertLessThan(report.precision, 0.2)
        XCTAssertGreaterThan(report.frechet, 5)
        let again = try evaluateCheckpoint(tinyCheckpoint(), data: "shapes", count: 70, seed: 3, batchSize: 32)
        XCTAssertEqual(again, report)
    }

    /// ψ = 1 is the plain prior; another ψ draws other latents and says so in the report.
    func testEvaluateCheckpointWithTruncation() throws {
        let plain = try evaluateCheckpoint(tinyCheckpoint(), data: "shapes", count: 40, seed: 3)
        XCTAssertEqual(try evaluateCheckpoint(tinyCheckpoint(), data: "shapes", count: 40, seed: 3, truncation: 1), plain)
        XCTAssertNil(plain.truncation)
        let truncated = try evaluateCheckpoint(tinyCheckpoint(), data: "shapes", count: 40, seed: 3, truncation: 0.25)
        XCTAssertEqual(truncated.truncation, 0.25)
        XCTAssertNotEqual(truncated.statistics, plain.statistics)
        XCTAssertTrue(truncated.text.contains("seed 3, truncation ψ 0.25)"), truncated.text)
        XCTAssertThrowsError(try evaluateCheckpoint(tinyCheckpoint(), data: "shapes", count: 40, seed: 3, truncation: 9)) { error in
            XCTAssertEqual((error as? InputError)?.key, "--truncation")
        }
    }

    func testEvaluateCheckpointInputErrors() throws {
        XCTAssertThrowsError(try evaluateCheckpoint(tinyCheckpoint(), data: "shapes", count: 3, seed: 0)) { error in
            XCTAssertEqual((error as? InputError)?.kind, .badArgument)
        }
        XCTAssertThrowsError(try evaluateCheckpoint(tinyCheckpoint(), data: "/nonexistent/folder", count: 10, seed: 0)) { error in
            XCTAssertEqual((error as? InputError)?.kind, .unreadable)
        }
        XCTAssertThrowsError(try evaluateCheckpoint(tinyCheckpoint(outputs: [5, 4, 4]), data: "shapes", count: 10, seed: 0)) { error in
            XCTAssertEqual((error as? InputError)?.kind, .badSpec)
        }
        // 16×16 images are fine; 8×8 ones are below what the shapes dataset draws.
        XCTAssertThrowsError(try evaluateCheckpoint(tinyCheckpoint(outputs: [3, 8, 8]), data: "shapes", count: 10, seed: 0)) { error in
            XCTAssertEqual((error as? InputError)?.kind, .badArgument)
        }
    }
}
