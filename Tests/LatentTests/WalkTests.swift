import Foundation
@testable import Latent
import NN
import Tensors
import XCTest

final class WalkTests: XCTestCase {
    override func setUp() { setBLASThreads(1) }

    func testEveryModeStartsAtZ0AndLinearMovesByTheStride() throws {
        let checkpoint = TinyGenerator.linear(d: 8)
        var rng = RandomGenerator(seed: 3)
        let z0 = checkpoint.sampleLatents(1, using: &rng)
        let direction = Tensor.normal([8], using: &rng)
        let unit = direction.storage.map { $0 / norm(direction.storage) }
        for mode in [WalkMode.linear, .norm] {
            let walk = try Walk(checkpoint: checkpoint, z0: z0, direction: direction, stride: 0.5, mode: mode)
            XCTAssertEqual(walk.latent(at: 0).storage, z0.storage, "\(mode) step 0 is z0")
        }
        let linear = try Walk(checkpoint: checkpoint, z0: z0, direction: direction, stride: 0.5, mode: .linear)
        let path = linear.latents(steps: -2...2)
        XCTAssertEqual(path.shape, [5, 8])
        for (row, step) in zip(rows(path), -2...2) {
            for i in 0..<8 { XCTAssertEqual(row[i], z0.storage[i] + Float(step) * 0.5 * unit[i], accuracy: 1e-5) }
        }
    }

    func testNormPreservingWalkKeepsTheNormOfZ0() throws {
        let checkpoint = TinyGenerator.linear(d: 16)
        var rng = RandomGenerator(seed: 4)
        let z0 = checkpoint.sampleLatents(1, using: &rng)
        let target = norm(z0.storage)
        let walk = try Walk(checkpoint: checkpoint, z0: z0, direction: Tensor.normal([1, 16], using: &rng),
                            stride: 0.9, mode: .norm)
        let path = walk.latents(steps: -12...12)
        for row in rows(path) { XCTAssertEqual(norm(row), target, accuracy: 1e-5) }
        // The linear walk does not keep it, so the check above is not vacuous.
        let linear = try Walk(checkpoint: checkpoint, z0: z0, direction: walk.direction, stride: 0.9, mode: .linear)
        XCTAssertGreaterThan(abs(norm(linear.latent(at: 12).storage) - target), 1)
    }

    func testDensityWalkWithoutCIsMissingDataNamingDiscover() {
        let checkpoint = TinyGenerator.linear(d: 8)
        XCTAssertThrowsError(try Walk(checkpoint: checkpoint, z0: Tensor.zeros([8]), direction: Tensor.ones([8]),
                                      stride: 1, mode: .density, file: "model.bin")) { error in
            guard let error = error as? InputError else { return XCTFail("\(error)") }
            XCTAssertEqual(error.kind, .missingData)
            XCTAssertEqual(error.key, "dplase.C")
            XCTAssertEqual(error.file, "model.bin")
            XCTAssertTrue(error.message.contains("latent-tui discover model.bin --method dplase"), error.message)
        }
    }

    func testMalformedFOrCIsABadSpecError() throws {
        let checkpoint = TinyGenerator.linear(d: 8)
        var rng = RandomGenerator(seed: 1)
        let wrong = NetworkSpec(prefix: "dplase.F", layers: [.linear(inFeatures: 2, outFeatures: 1, bias: true)], inputSize: 2)
        checkpoint.densityCDF = Network(spec: wrong, initializeWith: &rng)
        XCTAssertThrowsError(try Walk(checkpoint: checkpoint, z0: Tensor.zeros([8]), direction: Tensor.ones([8]),
                                      stride: 1, mode: .linear)) {
            XCTAssertEqual(($0 as? InputError)?.key, "dplase.F")
        }
        checkpoint.densityCDF = nil
        checkpoint.correction = DPLaSETrainer.makeCorrectionNetwork(dimension: 7, hidden: 8, using: &rng)
        XCTAssertThrowsError(try Walk(checkpoint: checkpoint, z0: Tensor.zeros([8]), direction: Tensor.ones([8]),
                                      stride: 1, mode: .density)) {
            XCTAssertEqual(($0 as? InputError)?.kind, .badSpec)
        }
    }

    func testBadShapesAndZeroDirectionAreInputErrors() {
        let checkpoint = TinyGenerator.linear(d: 8)
        for (z, g) in [(Tensor.zeros([7]), Tensor.ones([8])), (Tensor.zeros([8]), Tensor.zeros([8]))] {
            XCTAssertThrowsError(try Walk(checkpoint: checkpoint, z0: z, direction: g, stride: 1, mode: .linear)) {
                XCTAssertEqual(($0 as? InputError)?.kind, .badArgument)
            }
        }
    }

    /// The correction is anchored (step 0 is z0 exactly) and is what C adds to
    /// the linear walk, batched or one step at a time.
    func testDensityCorrectionIsAnchoredAtZ0AndBatchesConsistently() throws {
        let checkpoint = TinyGenerator.linear(d: 6)
        var rng = RandomGenerator(seed: 9)
        checkpoint.correction = DPLaSETrainer.makeCorrectionNetwork(dimension: 6, hidden: 16, using: &rng)
        // Make C's output large so the properties are not met by accident.
        checkpoint.correction?.tensor(layer: 4, "weight")?.assign(Tensor.normal([6, 16], using: &rng))
        let z0 = checkpoint.sampleLatents(1, using: &rng)
        let direction = Tensor.normal([6], using: &rng)
        let walk = try Walk(checkpoint: checkpoint, z0: z0, direction: direction, stride: 0.7, mode: .density)
        let linear = try Walk(checkpoint: checkpoint, z0: z0, direction: direction, stride: 0.7, mode: .linear)
        XCTAssertEqual(walk.latent(at: 0).storage, z0.storage)
        let path = walk.latents(steps: -3...3)
        for (row, step) in zip(rows(path), -3...3) {
            XCTAssertEqual(row, walk.latent(at: step).storage, accuracy: 1e-5, "step \(step) alone")
            let correction = zip(row, linear.latent(at: step).storage).map { $0 - $1 }
            if step != 0 { XCTAssertGreaterThan(norm(correction), 1e-3, "C moved step \(step)") }
        }
    }
}
