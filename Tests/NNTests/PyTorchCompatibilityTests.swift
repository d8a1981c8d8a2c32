import Foundation
import NN
import Tensors
import TestSupport
import XCTest

/// Generators built and saved by real PyTorch (scripts/make_checkpoint_fixtures.py)
/// load without renaming and reproduce PyTorch's outputs.
final class PyTorchCompatibilityTests: XCTestCase {
    func fixture(_ name: String) throws -> String {
        try XCTUnwrap(Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures")).path
    }

    func checkModel(_ name: String, tolerance: Float, file: StaticString = #filePath, line: UInt = #line) throws {
        let checkpoint = try Checkpoint.load(path: try fixture("\(name).safetensors"))
        let z = try NPY.read(path: try fixture("\(name).z.npy"))
        let expected = try NPY.readArray(path: try fixture("\(name).out.npy"))
        let images = checkpoint.generate(z)
        XCTAssertEqual(images.shape, expected.shape, "\(name) output shape", file: file, line: line)
        assertClose(images.storage, expected.storage, tolerance: tolerance, "\(name) vs PyTorch", file: file, line: line)
        // Round trip through our writer keeps every value.
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString).bin").path
        defer { try? FileManager.default.removeItem(atPath: copy) }
        try checkpoint.save(to: copy)
        let reloaded = try Checkpoint.load(path: copy)
        XCTAssertEqual(reloaded.generator.spec, checkpoint.generator.spec, file: file, line: line)
        XCTAssertEqual(reloaded.generate(z).storage, images.storage, "\(name) after rewrite", file: file, line: line)
    }

    func testConvTransposeFirstLayerWithPrefix() throws { try checkModel("dcgan_convt", tolerance: 1e-4) }
    func testLinearFirstLayerWithUnflatten() throws { try checkModel("dcgan_linear", tolerance: 1e-4) }
    func testBareSequentialWithUpsampleAndConv() throws { try checkModel("bare_sequential", tolerance: 1e-4) }
    /// Weights stored as F16: the reference used the same fp16-rounded weights, so only
    /// accumulation order differs.
    func testHalfPrecisionWeights() throws { try checkModel("dcgan_f16", tolerance: 1e-3) }

    func testSplitIntoG1AndG2ComposesToTheWhole() throws {
        let checkpoint = try Checkpoint.load(path: try fixture("dcgan_linear.safetensors"))
        let z = try NPY.read(path: try fixture("dcgan_linear.z.npy"))
        let g = checkpoint.generator
        for split in [1, 3, 5, g.spec.layers.count] {
            let whole = withoutGrad { g(z) }
            let features = withoutGrad { g(z, layers: 0..<split) }
            let rest = withoutGrad { g(features, layers: split..<g.spec.layers.count) }
            // Equal up to rounding: a split between a layer and its batch norm stops the fold.
            assertClose(rest.storage, whole.storage, tolerance: 1e-5, "split at \(split)")
        }
    }
}
