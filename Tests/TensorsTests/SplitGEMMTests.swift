import Tensors
import XCTest

/// Large GEMMs are split into row or column blocks over the worker threads;
/// every transpose combination and leading dimension must give the plain product.
final class SplitGEMMTests: XCTestCase {
    override func tearDown() { setWorkerThreads(1) }

    func product(_ a: [Float], _ b: [Float], m: Int, n: Int, k: Int, ta: Bool, tb: Bool) -> [Double] {
        var c = [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0
                for p in 0..<k {
                    sum += Double(ta ? a[p * m + i] : a[i * k + p]) * Double(tb ? b[j * k + p] : b[p * n + j])
                }
                c[i * n + j] = sum
            }
        }
        return c
    }

    func testSplitProductsMatchTheReference() {
        var rng = RandomGenerator(seed: 11)
        // Tall (split into row blocks), wide (column blocks), one too small to split, and
        // one-row / one-column products (matrix-vector).
        for (m, n, k) in [(300, 70, 128), (40, 500, 128), (20, 20, 20), (1, 300, 70), (300, 1, 70), (1, 1, 9)] {
            for ta in [false, true] {
                for tb in [false, true] {
                    let a = Tensor.normal([m * k], using: &rng).storage
                    let b = Tensor.normal([k * n], using: &rng).storage
                    let expected = product(a, b, m: m, n: n, k: k, ta: ta, tb: tb)
                    for workers in [1, 2, 3] {
                        setWorkerThreads(workers)
                        // C lives in a wider buffer (ldc = n + 5) whose padding must stay untouched.
                        let ldc = n + 5
                        var c = [Float](repeating: -7, count: m * ldc)
                        a.withUnsafeBufferPointer { pa in
                            b.withUnsafeBufferPointer { pb in
                                c.withUnsafeMutableBufferPointer { pc in
                                    gemm(pa.baseAddress!, lda: ta ? m : k, pb.baseAddress!, ldb: tb ? k : n,
                                         pc.baseAddress!, ldc: ldc, m: m, n: n, k: k, transposeA: ta, transposeB: tb)
                                }
                            }
                        }
                        var worst = 0.0
                        for i in 0..<m {
                            for j in 0..<n { worst = max(worst, abs(Double(c[i * ldc + j]) - expected[i * n + j])) }
                            for j in n..<ldc { XCTAssertEqual(c[i * ldc + j], -7, "padding written") }
                        }
                        XCTAssertLessThan(worst, 1e-3, "m \(m) n \(n) k \(k) ta \(ta) tb \(tb) workers \(workers)")
                    }
                }
            }
        }
    }

    /// Accumulating products add to C, including the matrix-vector ones.
    func testAccumulatingProductsAddToC() {
        var rng = RandomGenerator(seed: 12)
        for (m, n, k) in [(1, 40, 30), (40, 1, 30), (30, 40, 20)] {
            for ta in [false, true] {
                for tb in [false, true] {
                    let a = Tensor.normal([m * k], using: &rng).storage
                    let b = Tensor.normal([k * n], using: &rng).storage
                    let expected = product(a, b, m: m, n: n, k: k, ta: ta, tb: tb)
                    var c = [Float](repeating: 0.5, count: m * n)
                    a.withUnsafeBufferPointer { pa in
                        b.withUnsafeBufferPointer { pb in
                            c.withUnsafeMutableBufferPointer { pc in
                                gemm(pa.baseAddress!, lda: ta ? m : k, pb.baseAddress!, ldb: tb ? k : n,
                                     pc.baseAddress!, ldc: n, m: m, n: n, k: k, transposeA: ta, transposeB: tb, accumulate: true)
                            }
                        }
                    }
                    let worst = zip(c, expected).map { abs(Double($0) - ($1 + 0.5)) }.max()!
                    XCTAssertLessThan(worst, 1e-3, "m \(m) n \(n) k \(k) ta \(ta) tb \(tb)")
                }
            }
        }
    }
}
