@testable import Tensors
import TestSupport
import XCTest

/// Second-order checks (Hessian-vector products against differences of
/// gradients) for every op a gradient penalty or a path length penalty passes
/// through, and the two penalties themselves.
final class SecondOrderTests: XCTestCase {
    let checker = GradientCheck()

    /// Σ w ⊙ op(x)² (+ a linear term) has a non-trivial Hessian even for
    /// piecewise-linear ops, and its gradient passes through op's backward.
    func checkHVP(_ name: String, _ inputs: [Tensor], _ op: @escaping ([Tensor]) -> Tensor,
                  file: StaticString = #filePath, line: UInt = #line) {
        let shape = withoutGrad { op(inputs).shape }
        let w = randomTensor(shape, seed: 77)
        checker.checkSecondOrder(name, inputs, file: file, line: line) { xs in
            let y = op(xs)
            return (y.square() * w + y * 0.3).sum()
        }
    }

    func awayFromZero(_ shape: [Int], seed: UInt64) -> Tensor {
        let t = randomTensor(shape, seed: seed)
        return Tensor(shape: shape, storage: t.storage.map { $0 >= 0 ? $0 + 0.1 : $0 - 0.1 })
    }

    func testElementwiseSecondOrder() {
        let x = awayFromZero([3, 4], seed: 1)
        let p = Tensor(shape: [3, 4], storage: x.storage.map { Swift.abs($0) + 0.5 })
        checkHVP("relu", [x]) { $0[0].relu() }
        checkHVP("leaky relu", [x]) { $0[0].leakyRelu(0.2) }
        checkHVP("tanh", [x]) { $0[0].tanh() }
        checkHVP("square", [x]) { $0[0].square() }
        checkHVP("sqrt", [p]) { $0[0].sqrt() }
        checkHVP("sigmoid", [x]) { $0[0].sigmoid() }
        checkHVP("softplus", [x]) { $0[0].softplus() }
        checkHVP("exp", [x]) { $0[0].exp() }
        checkHVP("log", [p]) { $0[0].log() }
        checkHVP("elu", [x]) { $0[0].elu() }
    }

    /// The fused backward of relu and leaky relu, checked on its own: values, its
    /// gradient in the upstream tensor, and that gradient's own backward.
    func testSlopeScale() {
        let x = awayFromZero([3, 4], seed: 12), g = randomTensor([3, 4], seed: 13)
        let scaled = g.scaledBySlope(of: x, negativeSlope: 0.2)
        XCTAssertEqual(scaled.storage, zip(g.storage, x.storage).map { $1 > 0 ? $0 : $0 * 0.2 })
        let w = randomTensor([3, 4], seed: 14)
        checker.check("slope scale", [g]) { ($0[0].scaledBySlope(of: x, negativeSlope: 0.2) * w).sum() }
        checkHVP("slope scale", [g]) { $0[0].scaledBySlope(of: x, negativeSlope: 0.2) }
        checkHVP("slope scale, relu", [g]) { $0[0].scaledBySlope(of: x, negativeSlope: 0) }
    }

    /// A convolution's fused permute + bias, on its own: values and both orders of gradient.
    func testChannelsFirstWithBias() {
        let y = randomTensor([3, 2, 2, 3], seed: 15), bias = randomTensor([3], seed: 16)
        let expected = y.permuted([1, 0, 2, 3]) + bias.reshaped([1, 3, 1, 1])
        XCTAssertEqual(y.channelsFirst(adding: bias).storage, expected.storage)
        XCTAssertEqual(y.channelsFirst(adding: nil).storage, y.permuted([1, 0, 2, 3]).storage)
        let w = randomTensor([2, 3, 2, 3], seed: 17)
        checker.check("channels first + bias", [y, bias]) { ($0[0].channelsFirst(adding: $0[1]) * w).sum() }
        checkHVP("channels first + bias", [y, bias]) { $0[0].channelsFirst(adding: $0[1]) }
    }

    func testBroadcastingSecondOrder() {
        let a = randomTensor([2, 3, 4], seed: 2), b = randomTensor([3, 1], seed: 3)
        checkHVP("broadcast add", [a, b]) { $0[0] + $0[1] }
        checkHVP("broadcast mul", [a, b]) { $0[0] * $0[1] }
        checkHVP("div", [a, Tensor(shape: [3, 1], storage: b.storage.map { Swift.abs($0) + 0.5 })]) { $0[0] / $0[1] }
        checkHVP("sum axes", [a]) { $0[0].sum(axes: [1]) * $0[0].sum(axes: [1]) }
        checkHVP("mean", [a]) { $0[0].mean(axes: [0, 2], keepDims: true) * $0[0] }
        checkHVP("reshape", [a]) { $0[0].reshaped([6, 4]).tanh() }
    }

    func testLinearAlgebraSecondOrder() {
        let x = randomTensor([3, 4], seed: 4), w = randomTensor([5, 4], seed: 5), b = randomTensor([5], seed: 6)
        checkHVP("linear", [x, w, b]) { $0[0].linear(weight: $0[1], bias: $0[2]) }
        let xi = randomTensor([2, 2, 5, 5], seed: 7), wi = randomTensor([3, 2, 3, 3], seed: 8, scale: 0.5)
        checkHVP("conv2d", [xi, wi, randomTensor([3], seed: 9)]) {
            $0[0].conv2d(weight: $0[1], bias: $0[2], stride: 2, padding: 1)
        }
        let xt = randomTensor([2, 3, 2, 2], seed: 10), wt = randomTensor([3, 2, 4, 4], seed: 11, scale: 0.5)
        checkHVP("conv_transpose2d", [xt, wt, randomTensor([2], seed: 12)]) {
            $0[0].convTranspose2d(weight: $0[1], bias: $0[2], stride: 2, padding: 1)
        }
        let stats = BatchNormStatistics(mean: .zeros([3]), variance: .ones([3]))
        checkHVP("batch norm", [randomTensor([4, 3, 2, 2], seed: 13), randomTensor([3], seed: 14), randomTensor([3], seed: 15)]) {
            $0[0].batchNorm(weight: $0[1], bias: $0[2], statistics: stats, training: true)
        }
    }

    /// WGAN-GP: mean((‖∇ₓD(x̂)‖ − 1)²) differentiated with respect to the critic's parameters.
    func testGradientPenaltyParameterGradients() {
        let xhat = randomTensor([2, 2, 6, 6], seed: 20)
        let params = [randomTensor([3, 2, 4, 4], seed: 21, scale: 0.4), randomTensor([3], seed: 22, scale: 0.1),
                      randomTensor([1, 27], seed: 23, scale: 0.4), randomTensor([1], seed: 24)]
        func penalty(_ p: [Tensor]) -> Tensor {
            let x = xhat.detached().requiringGrad()
            let h = x.conv2d(weight: p[0], bias: p[1], stride: 2, padding: 1).leakyRelu(0.2)
            let d = h.flattened().linear(weight: p[2], bias: p[3])
            let gx = gradients(of: d.sum(), wrt: [x], createGraph: true)[0]
            let norm = (gx.square().sum(axes: [1, 2, 3]) + 1e-12).sqrt()
            return (norm - 1).square().mean()
        }
        XCTAssertGreaterThan(penalty(params).scalar, 1e-3)
        let gp = penalty(params.map { $0.detached().requiringGrad() })
        XCTAssertNotNil(gp.opName, "the penalty must depend on the parameters through the graph")
        checker.check("gradient penalty", params, penalty)
    }

    /// Path length: ‖∇_w (G(w)·y)‖ per sample, penalty (ℓ − a)², through linear, batch norm, relu, conv-transpose.
    func testPathLengthParameterGradients() {
        let w = randomTensor([3, 4], seed: 30)
        let y = randomTensor([3, 2, 4, 4], seed: 31, scale: 0.25)
        let stats = BatchNormStatistics(mean: .zeros([8]), variance: .ones([8]))
        let params = [randomTensor([8, 4], seed: 32, scale: 0.5), randomTensor([8], seed: 33),
                      randomTensor([8], seed: 34), randomTensor([2, 2, 4, 4], seed: 35, scale: 0.5)]
        func penalty(_ p: [Tensor]) -> Tensor {
            let latent = w.detached().requiringGrad()
            let h = latent.linear(weight: p[0], bias: nil)
                .batchNorm(weight: p[1], bias: p[2], statistics: stats, training: true).relu()
            let image = h.reshaped([3, 2, 2, 2]).convTranspose2d(weight: p[3], bias: nil, stride: 2, padding: 1)
            let jty = gradients(of: (image * y).sum(), wrt: [latent], createGraph: true)[0]
            let lengths = (jty.square().sum(axes: [1]) + 1e-12).sqrt()
            return (lengths - 0.5).square().mean()
        }
        checker.check("path length penalty", params, penalty)
    }

    /// The checks must be able to fail: an op whose backward is off by 10% is caught.
    func testWrongBackwardRulesAreCaught() {
        func brokenSquare(_ x: Tensor) -> Tensor {
            Tensor.result(shape: x.shape, storage: x.storage.map { $0 * $0 }, op: "broken_square", inputs: [x]) { g, _, _ in
                [g * x * 2.2]
            }
        }
        let x = randomTensor([4], seed: 40)
        XCTAssertNotNil(checker.firstOrderViolation([x]) { brokenSquare($0[0]).sum() })
        // First order right, second order wrong: the rule uses a detached input.
        func detachedRuleSquare(_ x: Tensor) -> Tensor {
            Tensor.result(shape: x.shape, storage: x.storage.map { $0 * $0 }, op: "detached_square", inputs: [x]) { g, _, _ in
                [g * x.detached() * 2]
            }
        }
        XCTAssertNil(checker.firstOrderViolation([x]) { detachedRuleSquare($0[0]).sum() })
        XCTAssertNotNil(checker.secondOrderViolation([x]) { (detachedRuleSquare($0[0]) * $0[0]).sum() })
        // And the correct op passes both.
        XCTAssertNil(checker.secondOrderViolation([x]) { ($0[0].square() * $0[0]).sum() })
    }
}
