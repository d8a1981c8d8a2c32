import Foundation
import Imaging
import NN
import Tensors
import XCTest
@testable import GAN

final class SANAblationTests: XCTestCase {
    func testThePlanVariesOneFactorAtATimeOnEqualImages() {
        let plan = SANAblation(images: 76_800)
        let runs = plan.runs
        XCTAssertEqual(Set(runs.map(\.name)).count, runs.count)
        // λ ∈ {1, 5, 20} at batch 128 without dropout.
        XCTAssertEqual(runs.filter { $0.factor == "lambda" }.map(\.r1), [1, 5, 20])
        XCTAssertTrue(runs.filter { $0.factor == "lambda" }.allSatisfy { $0.batch == 128 && $0.dropout == 0 })
        // batch ∈ {64, 256} at λ = 1; dropout on at λ = 1, batch 64.
        XCTAssertEqual(runs.filter { $0.factor == "batch" }.map(\.batch), [64, 256])
        XCTAssertTrue(runs.filter { $0.factor == "batch" }.allSatisfy { $0.r1 == 1 && $0.dropout == 0 })
        let dropout = runs.filter { $0.factor == "dropout" }
        XCTAssertEqual(dropout.count, 1)
        XCTAssertEqual(dropout.first?.batch, 64)
        XCTAssertGreaterThan(dropout.first?.dropout ?? 0, 0)
        for run in runs {
            let config = plan.config(for: run)
            XCTAssertEqual(config.objectiveValue, .san)
            XCTAssertEqual(config.steps * config.batch, 76_800, run.name)
            XCTAssertEqual(config.r1, run.r1)
            XCTAssertEqual(config.dropout, run.dropout)
            XCTAssertNoThrow(try config.validate())
        }
    }

    func testATinyRunTrainsEvaluatesAndTabulates() throws {
        let plan = SANAblation(images: 256, width: 8, imageSize: 16, latentDimension: 8, seed: 2, evaluationCount: 32)
        let folder = NSTemporaryDirectory() + "ablation-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var steps: [Int] = []
        var results: [AblationResult] = []
        for run in plan.runs where run.batch == 64 {
            results.append(try plan.perform(run, folder: (folder as NSString).appendingPathComponent(run.name)) { step, _, _ in
                steps.append(step)
            })
        }
        XCTAssertEqual(steps, [1, 2, 3, 4, 1, 2, 3, 4])
        for result in results {
            XCTAssertEqual(result.images, 256)
            XCTAssertEqual(result.report?.generatedCount, 32)
            let ckpt = try Checkpoint.load(path: (folder as NSString).appendingPathComponent("\(result.run.name)/san.bin"))
            XCTAssertNotNil(ckpt.critic)
            XCTAssertTrue(FileManager.default.fileExists(atPath: (folder as NSString).appendingPathComponent("\(result.run.name)/samples.png")))
        }
        let table = SANAblation.markdown(results, settings: plan)
        XCTAssertEqual(table.split(separator: "\n").filter { $0.hasPrefix("| lambda1-b64") }.count, 2)
        XCTAssertTrue(table.contains("| 19.04 |") && table.contains("| 36.64 |"))
        // The chart's bars are relative to λ = 1, batch 64, which is in the results.
        let chart = try XCTUnwrap(SANAblation.chart(results))
        XCTAssertEqual(chart.width, 960)
        XCTAssertNil(SANAblation.chart(results.filter { $0.run.name != "lambda1-b64" }))
    }
}
