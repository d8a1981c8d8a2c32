import Foundation
import NN
import Tensors
import TestSupport
import XCTest

/// The compiled evaluation pass (batch norm folded, epilogues fused, workspaces
/// reused) must agree with the differentiable layer-by-layer pass.
final class InferencePlanTests: XCTestCase {
    /// A network with random weights and non-trivial running statistics. Weights have standard
    /// deviation 0.3, or 1/√(fan-in) when `scaledToFanIn` (activations then keep their size).
    func network(_ layers: [LayerSpec], inputSize: Int, inputShape: [Int]? = nil, seed: UInt64 = 3,
                 scaledToFanIn: Bool = false) -> Network {
        var rng = RandomGenerator(seed: seed)
        let spec = NetworkSpec(prefix: "net", layers: layers, inputSize: inputSize, inputShape: inputShape)
        let net = Network(spec: spec, initializeWith: &rng)
        for (name, t) in net.namedTensors {
            let values: Tensor
            if name.hasSuffix("running_var") {
                values = .uniform(t.shape, low: 0.3, high: 2, using: &rng)
            } else if name.hasSuffix("weight") && t.rank == 1 {
                values = .uniform(t.shape, low: 0.5, high: 1.5, using: &rng)
            } else {
                let std: Float = scaledToFanIn && t.rank >= 2 ? 1 / Float(t.count / t.shape[0]).squareRoot() : 0.3
                values = .normal(t.shape, std: std, using: &rng)
            }
            t.assign(values)
        }
        return net
    }

    /// The reference pass records a graph (parameters require grad), so it never takes the plan.
    func assertPlanMatchesLayers(_ net: Network, _ x: Tensor, layers range: Range<Int>? = nil,
                                 file: StaticString = #filePath, line: UInt = #line) {
        let reference = net(x, layers: range)
        XCTAssertNotNil(reference.opName, "reference should be the differentiable path", file: file, line: line)
        let fast = withoutGrad { net(x, layers: range) }
        XCTAssertNil(fast.opName, file: file, line: line)
        XCTAssertEqual(fast.shape, reference.shape, file: file, line: line)
        assertClose(fast.storage, reference.storage, tolerance: 2e-5, "plan vs layers", file: file, line: line)
    }

    var dcganGenerator: [LayerSpec] {
        [.linear(inFeatures: 8, outFeatures: 16 * 6, bias: false), .unflatten(shape: [6, 4, 4]),
         .batchNorm(features: 6, eps: 1e-5, spatial: true), .relu,
         .convTranspose2d(inChannels: 6, outChannels: 4, kernel: 4, stride: 2, padding: 1, outputPadding: 0, bias: false),
         .batchNorm(features: 4, eps: 1e-5, spatial: true), .relu,
         .convTranspose2d(inChannels: 4, outChannels: 3, kernel: 4, stride: 2, padding: 1, outputPadding: 0, bias: true),
         .tanh]
    }

    func testDCGANGeneratorWithFoldedBatchNorm() {
        let net = network(dcganGenerator, inputSize: 8)
        var rng = RandomGenerator(seed: 9)
        for n in [1, 5] { assertPlanMatchesLayers(net, .normal([n, 8], using: &rng)) }
    }

    func testCriticWithBiasLeakyReLUDropoutAndFlatten() {
        let net = network([.conv2d(inChannels: 3, outChannels: 5, kernel: 4, stride: 2, padding: 1, bias: true),
                           .leakyRelu(slope: 0.2), .dropout(p: 0.3),
                           .conv2d(inChannels: 5, outChannels: 7, kernel: 3, stride: 1, padding: 1, bias: true),
                           .batchNorm(features: 7, eps: 1e-5, spatial: true), .elu(alpha: 1),
                           .flatten, .linear(inFeatures: 7 * 4 * 4, outFeatures: 1, bias: true), .sigmoid],
                          inputSize: 3 * 8 * 8, inputShape: [3, 8, 8])
        var rng = RandomGenerator(seed: 4)
        for n in [1, 3] { assertPlanMatchesLayers(net, .normal([n, 3 * 8 * 8], using: &rng)) }
    }

    func testStandaloneNormsActivationsUpsampleAndPooling() {
        let net = network([.linear(inFeatures: 5, outFeatures: 12, bias: true),
                           .batchNorm(features: 12, eps: 1e-3, spatial: false), .elu(alpha: 0.7),
                           .unflatten(shape: [3, 2, 2]), .upsample(scale: 2), .identity,
                           .batchNorm(features: 3, eps: 1e-5, spatial: true), .tanh,
                           .conv2d(inChannels: 3, outChannels: 2, kernel: 3, stride: 1, padding: 1, bias: false),
                           .relu, .avgPool(kernel: 2), .sigmoid, .relu],
                          inputSize: 5)
        var rng = RandomGenerator(seed: 6)
        for n in [1, 4] { assertPlanMatchesLayers(net, .normal([n, 5], using: &rng)) }
    }

    /// Big enough that GEMMs split and the im2col, col2im and epilogue loops run on two workers.
    /// Weights are scaled to the fan-in (up to 1,024): at a flat 0.3 each layer multiplied the
    /// activations by up to ~10, and float32 rounding of sums that large, in whichever order the
    /// split GEMM adds them, reached the tolerance (2.0e-5 when the whole suite ran before it).
    func testParallelKernelsAgreeWithTheLayers() {
        setWorkerThreads(2)
        defer { setWorkerThreads(1) }
        let net = network([.linear(inFeatures: 16, outFeatures: 16 * 64, bias: false), .unflatten(shape: [64, 4, 4]),
                           .batchNorm(features: 64, eps: 1e-5, spatial: true), .relu,
                           .convTranspose2d(inChannels: 64, outChannels: 32, kernel: 4, stride: 2, padding: 1,
                                            outputPadding: 0, bias: false),
                           .batchNorm(features: 32, eps: 1e-5, spatial: true), .relu,
                           .conv2d(inChannels: 32, outChannels: 16, kernel: 3, stride: 1, padding: 1, bias: true),
                           .leakyRelu(slope: 0.2),
                           .convTranspose2d(inChannels: 16, outChannels: 3, kernel: 4, stride: 2, padding: 1,
                                            outputPadding: 0, bias: true), .tanh],
                          inputSize: 16, scaledToFanIn: true)
        var rng = RandomGenerator(seed: 12)
        for n in [1, 24] { assertPlanMatchesLayers(net, .normal([n, 16], using: &rng)) }
    }

    func testPartialRangesComposeLikeTheWhole() {
        let net = network(dcganGenerator, inputSize: 8)
        var rng = RandomGenerator(seed: 2)
        let z = Tensor.normal([3, 8], using: &rng)
        // Splits inside a fold (after the linear, before its batch norm) and after an activation.
        for split in [1, 2, 4, 6] {
            let features = withoutGrad { net(z, layers: 0..<split) }
            assertPlanMatchesLayers(net, z, layers: 0..<split)
            assertPlanMatchesLayers(net, features, layers: split..<net.spec.layers.count)
            let composed = withoutGrad { net(features, layers: split..<net.spec.layers.count) }
            assertClose(composed.storage, withoutGrad { net(z) }.storage, tolerance: 2e-5, "split at \(split)")
        }
    }

    func testPlansNoticeUpdatedWeightsAndRunningStatistics() {
        let net = network(dcganGenerator, inputSize: 8)
        var rng = RandomGenerator(seed: 5)
        let z = Tensor.normal([4, 8], using: &rng)
        let before = withoutGrad { net(z) }
        // An optimizer-style in-place change of one weight.
        net.parameters[0].update { $0[0] += 0.5 }
        let afterWeight = withoutGrad { net(z) }
        XCTAssertNotEqual(afterWeight.storage, before.storage)
        assertPlanMatchesLayers(net, z)
        // A training-mode pass moves the running statistics.
        _ = net(Tensor.normal([8, 8], using: &rng), training: true)
        let afterStatistics = withoutGrad { net(z) }
        XCTAssertNotEqual(afterStatistics.storage, afterWeight.storage)
        assertPlanMatchesLayers(net, z)
    }

    func testConcurrentCallersGetTheirOwnWorkspaces() {
        let net = network(dcganGenerator, inputSize: 8)
        var rng = RandomGenerator(seed: 8)
        let inputs = (0..<8).map { _ in Tensor.normal([2, 8], using: &rng) }
        let expected = inputs.map { input in withoutGrad { net(input) }.storage }
        nonisolated(unsafe) var results = [[Float]](repeating: [], count: inputs.count)
        let lock = NSLock()
        DispatchQueue.concurrentPerform(iterations: inputs.count * 4) { i in
            let y = withoutGrad { net(inputs[i % inputs.count]) }.storage
            lock.withLock { results[i % inputs.count] = y }
            XCTAssertEqual(y, expected[i % inputs.count])
        }
        XCTAssertEqual(results, expected)
    }
}
