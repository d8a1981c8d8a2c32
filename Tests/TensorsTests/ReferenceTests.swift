import Foundation
import Tensors
import TestSupport
import XCTest

/// Convolutions against naive loops, and conv / batch norm against PyTorch.
final class ReferenceTests: XCTestCase {
    func naiveConv2d(_ x: Tensor, _ w: Tensor, _ b: Tensor, stride s: Int, padding p: Int) -> [Float] {
        let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (o, kh, kw) = (w.shape[0], w.shape[2], w.shape[3])
        let oh = (h + 2 * p - kh) / s + 1, ow = (wd + 2 * p - kw) / s + 1
        var out = [Float](repeating: 0, count: n * o * oh * ow)
        for bi in 0..<n { for oc in 0..<o { for oy in 0..<oh { for ox in 0..<ow {
            var acc = b.storage[oc]
            for ic in 0..<c { for i in 0..<kh { for j in 0..<kw {
                let iy = oy * s - p + i, ix = ox * s - p + j
                if iy >= 0 && iy < h && ix >= 0 && ix < wd {
                    acc += x.storage[((bi * c + ic) * h + iy) * wd + ix] * w.storage[((oc * c + ic) * kh + i) * kw + j]
                }
            } } }
            out[((bi * o + oc) * oh + oy) * ow + ox] = acc
        } } } }
        return out
    }

    /// Scatter form of the transposed convolution: every input pixel adds its weighted kernel.
    func naiveConvTranspose2d(_ x: Tensor, _ w: Tensor, _ b: Tensor, stride s: Int, padding p: Int, outputPadding op: Int) -> [Float] {
        let (n, cin, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (cout, kh, kw) = (w.shape[1], w.shape[2], w.shape[3])
        let oh = (h - 1) * s - 2 * p + kh + op, ow = (wd - 1) * s - 2 * p + kw + op
        var out = [Float](repeating: 0, count: n * cout * oh * ow)
        for bi in 0..<n { for oc in 0..<cout { for i in 0..<(oh * ow) { out[(bi * cout + oc) * oh * ow + i] = b.storage[oc] } } }
        for bi in 0..<n { for ic in 0..<cin { for iy in 0..<h { for ix in 0..<wd {
            let v = x.storage[((bi * cin + ic) * h + iy) * wd + ix]
            for oc in 0..<cout { for i in 0..<kh { for j in 0..<kw {
                let oy = iy * s - p + i, ox = ix * s - p + j
                if oy >= 0 && oy < oh && ox >= 0 && ox < ow {
                    out[((bi * cout + oc) * oh + oy) * ow + ox] += v * w.storage[((ic * cout + oc) * kh + i) * kw + j]
                }
            } } }
        } } } }
        return out
    }

    func testConv2dMatchesNaiveLoops() {
        for (s, p, k) in [(1, 0, 3), (2, 1, 4), (2, 0, 3), (1, 2, 2)] {
            let x = randomTensor([2, 3, 9, 7], seed: 1), w = randomTensor([5, 3, k, k], seed: 2), b = randomTensor([5], seed: 3)
            let y = x.conv2d(weight: w, bias: b, stride: s, padding: p)
            assertClose(y.storage, naiveConv2d(x, w, b, stride: s, padding: p), tolerance: 1e-5, "conv2d s\(s) p\(p) k\(k)")
        }
    }

    /// Big enough that im2col, col2im and the split GEMM run on two workers.
    func testConvolutionsOnTwoWorkersMatchNaiveLoops() {
        setWorkerThreads(2)
        defer { setWorkerThreads(1) }
        let x = randomTensor([8, 3, 32, 32], seed: 7), w = randomTensor([32, 3, 4, 4], seed: 8), b = randomTensor([32], seed: 9)
        assertClose(x.conv2d(weight: w, bias: b, stride: 2, padding: 1).storage,
                    naiveConv2d(x, w, b, stride: 2, padding: 1), tolerance: 1e-4, "conv2d on two workers")
        let t = randomTensor([8, 32, 16, 16], seed: 10), wt = randomTensor([32, 3, 4, 4], seed: 11), bt = randomTensor([3], seed: 12)
        assertClose(t.convTranspose2d(weight: wt, bias: bt, stride: 2, padding: 1).storage,
                    naiveConvTranspose2d(t, wt, bt, stride: 2, padding: 1, outputPadding: 0), tolerance: 1e-4,
                    "conv_transpose2d on two workers")
    }

    func testConvTranspose2dMatchesNaiveLoops() {
        for (s, p, k, op) in [(1, 0, 3, 0), (2, 1, 4, 0), (2, 1, 3, 1), (3, 0, 3, 2)] {
            for n in [1, 2] {
                let x = randomTensor([n, 3, 4, 5], seed: 4), w = randomTensor([3, 2, k, k], seed: 5), b = randomTensor([2], seed: 6)
                let y = x.convTranspose2d(weight: w, bias: b, stride: s, padding: p, outputPadding: op)
                assertClose(y.storage, naiveConvTranspose2d(x, w, b, stride: s, padding: p, outputPadding: op),
                            tolerance: 1e-5, "conv_transpose2d n\(n) s\(s) p\(p) k\(k) op\(op)")
            }
        }
    }

    // MARK: PyTorch fixtures (scripts/make_tensor_fixtures.py)

    struct Case {
        let name: String, op: String
        let params: [String: Double]
        let tensors: [String: Tensor]
    }

    func loadCases() throws -> [Case] {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "torch_ops", withExtension: "json", subdirectory: "Fixtures"))
        let root = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let cases = try XCTUnwrap(root["cases"] as? [[String: Any]])
        return try cases.map { c in
            let raw = try XCTUnwrap(c["tensors"] as? [String: [String: Any]])
            var tensors: [String: Tensor] = [:]
            for (key, value) in raw {
                let shape = try XCTUnwrap(value["shape"] as? [Int])
                let data = try XCTUnwrap(value["data"] as? [Double]).map(Float.init)
                tensors[key] = Tensor(shape: shape, storage: data)
            }
            let params = (c["params"] as? [String: Any] ?? [:]).compactMapValues { ($0 as? NSNumber)?.doubleValue }
            return Case(name: c["name"] as? String ?? "?", op: c["op"] as? String ?? "?", params: params, tensors: tensors)
        }
    }

    func testMatchesPyTorch() throws {
        let cases = try loadCases()
        XCTAssertGreaterThanOrEqual(cases.count, 9)
        for c in cases {
            let t = c.tensors
            func T(_ k: String) -> Tensor { t[k]! }
            let leaves = ["x", "w", "b", "weight", "bias"].compactMap { t[$0].map { ($0, $0.detached().requiringGrad()) } }
            let stride = Int(c.params["stride"] ?? 1), padding = Int(c.params["padding"] ?? 0)
            switch c.op {
            case "conv2d", "conv_transpose2d", "conv2d_gradpen":
                let (x, w, b) = (leaves[0].1, leaves[1].1, leaves[2].1)
                let y = c.op == "conv_transpose2d"
                    ? x.convTranspose2d(weight: w, bias: b, stride: stride, padding: padding,
                                        outputPadding: Int(c.params["output_padding"] ?? 0))
                    : x.conv2d(weight: w, bias: b, stride: stride, padding: padding)
                assertClose(y.storage, T("y").storage, tolerance: 1e-4, "\(c.name) forward")
                if c.op == "conv2d_gradpen" {
                    let gx = gradients(of: (y * T("gy")).sum(), wrt: [x], createGraph: true)[0]
                    let g2 = gradients(of: gx.square().sum(), wrt: [w, b])
                    assertClose(g2[0].storage, T("gw2").storage, tolerance: 1e-4, "\(c.name) d‖∇ₓ‖²/dw")
                    assertClose(g2[1].storage, T("gb2").storage, tolerance: 1e-4, "\(c.name) d‖∇ₓ‖²/db")
                } else {
                    let g = gradients(of: (y * T("gy")).sum(), wrt: [x, w, b])
                    assertClose(g[0].storage, T("gx").storage, tolerance: 1e-4, "\(c.name) dx")
                    assertClose(g[1].storage, T("gw").storage, tolerance: 1e-4, "\(c.name) dw")
                    assertClose(g[2].storage, T("gb").storage, tolerance: 1e-4, "\(c.name) db")
                }
            case "batch_norm_train", "batch_norm_eval":
                let (x, weight, bias) = (leaves[0].1, leaves[1].1, leaves[2].1)
                let stats = BatchNormStatistics(mean: T("running_mean").detached(), variance: T("running_var").detached(),
                                                momentum: Float(c.params["momentum"] ?? 0.1))
                let training = c.op == "batch_norm_train"
                let y = x.batchNorm(weight: weight, bias: bias, statistics: stats, training: training,
                                    eps: Float(c.params["eps"] ?? 1e-5))
                assertClose(y.storage, T("y").storage, tolerance: 1e-4, "\(c.name) forward")
                let g = gradients(of: (y * T("gy")).sum(), wrt: [x, weight, bias])
                assertClose(g[0].storage, T("gx").storage, tolerance: 1e-4, "\(c.name) dx")
                assertClose(g[1].storage, T("gweight").storage, tolerance: 1e-4, "\(c.name) dweight")
                assertClose(g[2].storage, T("gbias").storage, tolerance: 1e-4, "\(c.name) dbias")
                if training {
                    assertClose(stats.mean.storage, T("running_mean_after").storage, tolerance: 1e-5, "\(c.name) running mean")
                    assertClose(stats.variance.storage, T("running_var_after").storage, tolerance: 1e-5, "\(c.name) running var")
                }
            default:
                XCTFail("unknown fixture op \(c.op)")
            }
        }
    }
}
