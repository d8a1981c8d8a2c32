import Foundation
import Tensors
import TestSupport
import XCTest

/// First-order finite-difference checks, one per op. Each loss weights the
/// op's output with fixed random weights so every output element matters.
final class GradientTests: XCTestCase {
    let checker = GradientCheck()

    /// Random values pushed at least `margin` away from zero (kinks of relu, abs).
    func awayFromZero(_ shape: [Int], seed: UInt64, margin: Float = 0.1) -> Tensor {
        let t = randomTensor(shape, seed: seed)
        return Tensor(shape: shape, storage: t.storage.map { $0 >= 0 ? $0 + margin : $0 - margin })
    }

    func positive(_ shape: [Int], seed: UInt64) -> Tensor {
        let t = randomTensor(shape, seed: seed)
        return Tensor(shape: shape, storage: t.storage.map { Swift.abs($0) + 0.5 })
    }

    /// Checks d/dx of Σ w ⊙ op(x) for a unary op.
    func checkUnary(_ name: String, _ x: Tensor, _ op: @escaping (Tensor) -> Tensor,
                    file: StaticString = #filePath, line: UInt = #line) {
        let w = randomTensor(op(x).shape, seed: 99)
        checker.check(name, [x], file: file, line: line) { (op($0[0]) * w).sum() }
    }

    func checkBinary(_ name: String, _ a: Tensor, _ b: Tensor, _ op: @escaping (Tensor, Tensor) -> Tensor,
                     file: StaticString = #filePath, line: UInt = #line) {
        let w = randomTensor(op(a, b).shape, seed: 98)
        checker.check(name, [a, b], file: file, line: line) { (op($0[0], $0[1]) * w).sum() }
    }

    func testBroadcastingArithmetic() {
        // Includes the per-channel fast path both ways round ([1, C, 1, 1] and [C, 1, 1] against [N, C, H, W]).
        let pairs: [([Int], [Int])] = [([2, 3], [2, 3]), ([2, 3], [3]), ([2, 1, 4], [3, 1]), ([4], []), ([], [2, 2]),
                                       ([2, 3, 2, 2], [1, 3, 1, 1]), ([3, 1, 1], [2, 3, 2, 2]), ([2, 3], [2, 1])]
        for (sa, sb) in pairs {
            let a = randomTensor(sa, seed: 1), b = positive(sb, seed: 2)
            checkBinary("add \(sa) \(sb)", a, b, +)
            checkBinary("sub \(sa) \(sb)", a, b, -)
            checkBinary("mul \(sa) \(sb)", a, b, *)
            checkBinary("div \(sa) \(sb)", a, b, /)
        }
    }

    func testPerChannelBroadcastMatchesTheGeneralLoop() {
        let x = randomTensor([2, 3, 2, 2], seed: 3), c = randomTensor([1, 3, 1, 1], seed: 4)
        // The general path: expand the channel operand to full size first.
        let full = Tensor(shape: x.shape, storage: (0..<x.count).map { c.storage[($0 / 4) % 3] })
        XCTAssertEqual((x * c).storage, (x * full).storage)
        XCTAssertEqual((c - x).storage, (full - x).storage)
        let rows = randomTensor([3, 1], seed: 5), wide = randomTensor([3, 5], seed: 6)
        let rowsFull = Tensor(shape: [3, 5], storage: (0..<15).map { rows.storage[$0 / 5] })
        XCTAssertEqual((wide / rows).storage, (wide / rowsFull).storage)
    }

    func testScalarArithmetic() {
        let x = positive([3, 2], seed: 3)
        checkUnary("neg", x) { -$0 }
        checkUnary("x + c", x) { $0 + 1.5 }
        checkUnary("c - x", x) { 2 - $0 }
        checkUnary("x * c", x) { $0 * -0.7 }
        checkUnary("x / c", x) { $0 / 3 }
        checkUnary("c / x", x) { 2 / $0 }
    }

    func testUnaryFunctions() {
        let x = awayFromZero([2, 5], seed: 4)
        let p = positive([2, 5], seed: 5)
        checkUnary("exp", x) { $0.exp() }
        checkUnary("log", p) { $0.log() }
        checkUnary("sqrt", p) { $0.sqrt() }
        checkUnary("pow 2.5", p) { $0.pow(2.5) }
        checkUnary("pow 3", x) { $0.pow(3) }
        checkUnary("abs", x) { $0.abs() }
        checkUnary("square", x) { $0.square() }
        checkUnary("relu", x) { $0.relu() }
        checkUnary("leaky relu", x) { $0.leakyRelu(0.2) }
        checkUnary("elu", x) { $0.elu(1.0) }
        checkUnary("tanh", x) { $0.tanh() }
        checkUnary("sigmoid", x) { $0.sigmoid() }
        checkUnary("softplus", x) { $0.softplus() }
        checkUnary("clamp", x.mapKinksAway(from: [-0.5, 0.5])) { $0.clamp(-0.5, 0.5) }
        checkUnary("maximum", x.mapKinksAway(from: [0.3])) { $0.maximum(0.3) }
    }

    func testFastTanhIsWithinTwoUlpsOfTanhf() {
        var x: Float = -12, worst: Double = 0
        while x < 12 {
            let exact = Double(Foundation.tanh(x))
            if exact != 0 { worst = Swift.max(worst, Swift.abs(Double(fastTanh(x)) - exact) / Swift.abs(exact)) }
            x += Swift.max(Swift.abs(x) * 1e-4, 1e-6)
        }
        XCTAssertLessThan(worst, 4e-7)
        XCTAssertEqual(fastTanh(.infinity), 1)
        XCTAssertEqual(fastTanh(-.infinity), -1)
        XCTAssertTrue(fastTanh(.nan).isNaN)
        XCTAssertEqual(fastTanh(1e-30), 1e-30)
        XCTAssertEqual(fastTanh(-0.0).sign, .minus)
    }

    func testSelectAndDetach() {
        let a = randomTensor([3, 4], seed: 6), b = randomTensor([3, 4], seed: 7)
        let condition = randomTensor([3, 4], seed: 8).mask { $0 > 0 }
        checkBinary("select", a, b) { Tensor.select(condition, $0, $1) }
        // Detach is the identity forward and stops gradients: d/dx (stop(x)·x) = stop(x), not 2x.
        let leaf = a.detached().requiringGrad()
        let g = gradients(of: (leaf.detached() * leaf).sum(), wrt: [leaf])[0]
        assertClose(g.storage, a.storage, tolerance: 1e-6, "d/dx (stop(x)·x) = stop(x)")
        XCTAssertEqual(gradients(of: leaf.detached().sum(), wrt: [leaf])[0].storage, [Float](repeating: 0, count: 12))
    }

    func testReductions() {
        let x = randomTensor([2, 3, 4], seed: 9)
        checkUnary("sum", x) { $0.sum() * $0.sum() }
        checkUnary("mean", x) { $0.mean().square() }
        checkUnary("sum axes [1]", x) { $0.sum(axes: [1]) }
        checkUnary("sum axes [0, 2] keepdims", x) { $0.sum(axes: [0, 2], keepDims: true) }
        checkUnary("mean axes [-1]", x) { $0.mean(axes: [-1]) }
        checkUnary("sum to shape", x) { $0.sum(toShape: [1, 3, 1]) }
        checkUnary("expand", randomTensor([3, 1], seed: 10)) { $0.expand(to: [2, 3, 4]) }
    }

    func testMatmul() {
        let a = randomTensor([3, 4], seed: 11), b = randomTensor([4, 5], seed: 12)
        checkBinary("matmul", a, b) { matmul($0, $1) }
        checkBinary("matmul Aᵀ", a.transposed.detached(), b) { matmul($0, $1, transposeA: true) }
        checkBinary("matmul Bᵀ", a, b.transposed.detached()) { matmul($0, $1, transposeB: true) }
        checkBinary("matmul AᵀBᵀ", a.transposed.detached(), b.transposed.detached()) {
            matmul($0, $1, transposeA: true, transposeB: true)
        }
        let ba = randomTensor([2, 3, 4], seed: 13), bb = randomTensor([2, 4, 2], seed: 14)
        checkBinary("batched matmul", ba, bb) { matmul($0, $1) }
        checkBinary("batched × matrix", ba, b) { matmul($0, $1) }
        checkBinary("linear", randomTensor([3, 4], seed: 15), randomTensor([5, 4], seed: 16)) {
            $0.linear(weight: $1, bias: nil)
        }
        let bias = randomTensor([5], seed: 17)
        checkBinary("linear with bias", randomTensor([3, 4], seed: 15), bias) {
            $0.linear(weight: randomTensor([5, 4], seed: 16), bias: $1)
        }
    }

    func testShapeOps() {
        let x = randomTensor([2, 3, 4], seed: 18)
        checkUnary("reshape", x) { $0.reshaped([4, -1]) }
        checkUnary("permute", x) { $0.permuted([2, 0, 1]) }
        checkUnary("transpose", x) { $0.transposed }
        checkUnary("flatten", x) { $0.flattened() }
        checkUnary("slice", x) { $0.slice([0..<2, 1..<3, 1..<4]) }
        checkUnary("slice axis", x) { $0.slice(axis: -1, 2..<4) }
        checkUnary("pad", x) { $0.padded([(1, 0), (0, 2), (1, 1)], value: 0.5) }
        checkBinary("concat", x, randomTensor([2, 2, 4], seed: 19)) { Tensor.concat([$0, $1], axis: 1) }
    }

    /// Permute merges axes that stay contiguous and drops size-1 axes; every kind of
    /// merge must still land each value where an index-by-index copy puts it.
    func testPermuteMatchesAnIndexByIndexCopy() {
        let cases: [([Int], [Int])] = [([3, 2, 4, 5], [1, 0, 2, 3]), ([2, 3, 4], [2, 0, 1]), ([2, 3, 4], [0, 2, 1]),
                                       ([1, 3, 1, 4], [2, 3, 1, 0]), ([3, 1, 2], [1, 2, 0]), ([2, 1, 3, 2], [3, 2, 0, 1]),
                                       ([1, 1], [1, 0]), ([0, 3], [1, 0])]
        for (shape, order) in cases {
            let x = randomTensor(shape, seed: 21)
            func rowMajorStrides(_ s: [Int]) -> [Int] { s.indices.map { s[($0 + 1)...].reduce(1, *) } }
            let target = order.map { shape[$0] }, strides = rowMajorStrides(shape), outStrides = rowMajorStrides(target)
            var expected = [Float](repeating: 0, count: x.count)
            for flat in 0..<x.count {
                // Output index → input offset, one axis at a time.
                var rest = flat, offset = 0
                for (k, axis) in order.enumerated() {
                    offset += (rest / outStrides[k]) * strides[axis]
                    rest %= outStrides[k]
                }
                expected[flat] = x.storage[offset]
            }
            let y = x.permuted(order)
            XCTAssertEqual(y.shape, target, "\(shape) \(order)")
            XCTAssertEqual(y.storage, expected, "\(shape) \(order)")
        }
        checkUnary("permute planes", randomTensor([3, 2, 2, 2], seed: 22)) { $0.permuted([1, 0, 2, 3]) }
    }

    func testWindowOps() {
        let x = randomTensor([2, 3, 5, 4], seed: 20)
        let geometry = ConvGeometry(kernelH: 3, kernelW: 2, stride: 2, padding: 1)
        checkUnary("im2col", x) { $0.im2col(geometry) }
        let cols = x.im2col(geometry).detached()
        checkUnary("col2im", cols) { $0.col2im(imageShape: [2, 3, 5, 4], geometry) }
        checkUnary("upsample", randomTensor([1, 2, 3, 2], seed: 21)) { $0.upsampleNearest(2) }
        checkUnary("sum pool (ragged)", x) { $0.sumPool(2) }
        checkUnary("avg pool", x) { $0.avgPool(2) }
    }

    /// im2col and col2im take a phase-split path for strided windows with output rows
    /// of 16 or more and read in place otherwise; both must match the definition.
    func testWindowOpsMatchTheDefinition() {
        let cases: [([Int], ConvGeometry)] = [
            ([2, 3, 32, 32], ConvGeometry(kernel: 4, stride: 2, padding: 1)),        // split, the critic's first layer
            ([1, 2, 7, 37], ConvGeometry(kernelH: 3, kernelW: 5, stride: 2, padding: 2)),  // split, odd width
            ([1, 2, 5, 50], ConvGeometry(kernelH: 2, kernelW: 4, stride: 3, padding: 1)),  // split, stride 3
            ([2, 3, 16, 16], ConvGeometry(kernel: 4, stride: 2, padding: 1)),        // in place, step 2
            ([1, 2, 6, 20], ConvGeometry(kernel: 3, stride: 1, padding: 1)),         // in place, contiguous
        ]
        for (shape, g) in cases {
            let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
            let (oh, ow) = g.outputSize(h: h, w: w)
            let x = randomTensor(shape, seed: 30)
            let columns = randomTensor([c * g.kernelH * g.kernelW, n * oh * ow], seed: 31)
            var unfolded = [Float](repeating: 0, count: columns.count), folded = [Float](repeating: 0, count: x.count)
            for ci in 0..<c { for i in 0..<g.kernelH { for j in 0..<g.kernelW {
                let row = (ci * g.kernelH + i) * g.kernelW + j
                for b in 0..<n { for oy in 0..<oh { for ox in 0..<ow {
                    let (iy, ix) = (oy * g.stride - g.padding + i, ox * g.stride - g.padding + j)
                    guard iy >= 0, iy < h, ix >= 0, ix < w else { continue }
                    let pixel = ((b * c + ci) * h + iy) * w + ix, column = row * n * oh * ow + (b * oh + oy) * ow + ox
                    unfolded[column] = x.storage[pixel]
                    folded[pixel] += columns.storage[column]
                } } }
            } } }
            XCTAssertEqual(x.im2col(g).storage, unfolded, "im2col \(shape) \(g)")
            assertClose(columns.col2im(imageShape: shape, g).storage, folded, tolerance: 1e-5, "col2im \(shape) \(g)")
        }
        let strip = randomTensor([1, 2, 3, 34], seed: 32), g = ConvGeometry(kernel: 3, stride: 2, padding: 1)
        checkUnary("im2col, split phases", strip) { $0.im2col(g) }
        checkUnary("col2im, split phases", strip.im2col(g).detached()) { $0.col2im(imageShape: [1, 2, 3, 34], g) }
    }

    func testConvolutions() {
        let x = randomTensor([2, 3, 6, 5], seed: 22)
        let w = randomTensor([4, 3, 3, 3], seed: 23, scale: 0.5)
        let b = randomTensor([4], seed: 24)
        checker.check("conv2d", [x, w, b]) { inputs in
            let y = inputs[0].conv2d(weight: inputs[1], bias: inputs[2], stride: 2, padding: 1)
            return (y * randomTensor(y.shape, seed: 25)).sum()
        }
        let xt = randomTensor([2, 3, 3, 2], seed: 26)
        let wt = randomTensor([3, 2, 3, 3], seed: 27, scale: 0.5)
        let bt = randomTensor([2], seed: 28)
        checker.check("conv_transpose2d", [xt, wt, bt]) { inputs in
            let y = inputs[0].convTranspose2d(weight: inputs[1], bias: inputs[2], stride: 2, padding: 1, outputPadding: 1)
            return (y * randomTensor(y.shape, seed: 29)).sum()
        }
    }

    func testBatchNorm() {
        for shape in [[4, 3], [3, 2, 2, 3]] {
            let c = shape[1]
            let x = randomTensor(shape, seed: 30)
            let weight = positive([c], seed: 31), bias = randomTensor([c], seed: 32)
            let stats = BatchNormStatistics(mean: .zeros([c]), variance: .ones([c]))
            checker.check("batch norm train \(shape)", [x, weight, bias]) { inputs in
                let y = inputs[0].batchNorm(weight: inputs[1], bias: inputs[2], statistics: stats, training: true)
                return (y * randomTensor(shape, seed: 33)).sum()
            }
            let evalStats = BatchNormStatistics(mean: randomTensor([c], seed: 34), variance: positive([c], seed: 35))
            checker.check("batch norm eval \(shape)", [x, weight, bias]) { inputs in
                let y = inputs[0].batchNorm(weight: inputs[1], bias: inputs[2], statistics: evalStats, training: false)
                return (y * randomTensor(shape, seed: 33)).sum()
            }
        }
    }
}

extension Tensor {
    /// Moves values within 0.05 of any kink outward so differences never straddle one.
    func mapKinksAway(from kinks: [Float]) -> Tensor {
        Tensor(shape: shape, storage: storage.map { v in
            for k in kinks where Swift.abs(v - k) < 0.05 { return v < k ? k - 0.05 : k + 0.05 }
            return v
        })
    }
}
