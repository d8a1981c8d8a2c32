import CBLAS

// Matrix products through OpenBLAS. `matmul` with transpose flags is its own
// adjoint family: every gradient is another matmul with different flags.

/// Sets the number of threads OpenBLAS itself uses for every later GEMM.
public func setBLASThreads(_ count: Int) {
    openblas_set_num_threads(Int32(Swift.max(1, count)))
}

/// `--threads`: the threads every kernel may use. OpenBLAS runs single-threaded
/// and large GEMMs are split over our own workers instead: OpenBLAS's pool
/// spins (sched_yield) between calls and, on two cores, steals time from the
/// col2im and epilogue kernels that run right after each GEMM.
public func setThreads(_ count: Int) {
    setBLASThreads(1)
    setWorkerThreads(count)
}

public var blasThreads: Int { Int(openblas_get_num_threads()) }

/// Multiply-adds below which a GEMM is not worth splitting (a part then takes
/// about 10 µs, several times a task hand-off).
private let splitThreshold = 1 << 20

/// C = op(A)·op(B) on raw row-major buffers (C is overwritten unless `accumulate`).
@inline(__always)
func sgemm(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
           m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool, accumulate: Bool = false) {
    gemm(a, lda: transposeA ? m : k, b, ldb: transposeB ? k : n, c, ldc: n, m: m, n: n, k: k,
         transposeA: transposeA, transposeB: transposeB, accumulate: accumulate)
}

/// C = op(A)·op(B) (+ C when `accumulate`) on raw row-major buffers with explicit
/// leading dimensions. Large products are split into row or column blocks of C,
/// one per worker thread, each a single-threaded OpenBLAS call.
public func gemm(_ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
                 _ c: UnsafeMutablePointer<Float>, ldc: Int, m: Int, n: Int, k: Int,
                 transposeA: Bool = false, transposeB: Bool = false, accumulate: Bool = false) {
    @Sendable func call(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>, _ m: Int, _ n: Int) {
        cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    blasint(m), blasint(n), blasint(k), 1, a, blasint(lda), b, blasint(ldb),
                    accumulate ? 1 : 0, c, blasint(ldc))
    }
    if m == 1 || n == 1 {
        gemv(a, lda: lda, b, ldb: ldb, c, ldc: ldc, m: m, n: n, k: k,
             transposeA: transposeA, transposeB: transposeB, accumulate: accumulate)
        return
    }
    let parts = Swift.min(workerThreadCount, m * n * k / splitThreshold)
    if parts <= 1 || Swift.max(m, n) < 2 * 16 {
        call(a, b, c, m, n)
        return
    }
    let splitRows = m >= n
    let length = splitRows ? m : n
    // Blocks aligned to 16 so each part keeps whole micro-tiles.
    let block = ((length + parts - 1) / parts + 15) & ~15
    WorkerPool.shared.run(parts: parts) { part in
        let start = part * block, size = Swift.min(block, length - start)
        guard size > 0 else { return }
        if splitRows {
            call(a + (transposeA ? start : start * lda), b, c + start * ldc, size, n)
        } else {
            call(a, b + (transposeB ? start * ldb : start), c + start, m, size)
        }
    }
}

/// A product with one row or one column of C as a matrix-vector product: sgemm
/// would pack (copy) the whole matrix first, sgemv reads it once. A batch-1 linear
/// layer and a critic's last layer are such products.
private func gemv(_ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
                  _ c: UnsafeMutablePointer<Float>, ldc: Int, m: Int, n: Int, k: Int,
                  transposeA: Bool, transposeB: Bool, accumulate: Bool) {
    // sgemv's beta = 0 may still read y (0·NaN), and C can be uninitialised memory.
    let (outputs, outputStride) = m == 1 ? (n, 1) : (m, ldc)
    if !accumulate {
        for i in 0..<outputs { c[i * outputStride] = 0 }
    }
    if m == 1 {
        // c[1×n] = a[1×k]·op(B): y = op(B)ᵀ·x. B is k×n (or n×k when transposed) with ldb.
        let x = a, incx = transposeA ? lda : 1
        if transposeB {
            cblas_sgemv(CblasRowMajor, CblasNoTrans, blasint(n), blasint(k), 1, b, blasint(ldb), x, blasint(incx), 1, c, 1)
        } else {
            cblas_sgemv(CblasRowMajor, CblasTrans, blasint(k), blasint(n), 1, b, blasint(ldb), x, blasint(incx), 1, c, 1)
        }
    } else {
        // c[m×1] = op(A)·b[k×1]: A is m×k (or k×m when transposed) with lda.
        let x = b, incx = transposeB ? 1 : ldb
        if transposeA {
            cblas_sgemv(CblasRowMajor, CblasTrans, blasint(k), blasint(m), 1, a, blasint(lda), x, blasint(incx), 1, c, blasint(ldc))
        } else {
            cblas_sgemv(CblasRowMajor, CblasNoTrans, blasint(m), blasint(k), 1, a, blasint(lda), x, blasint(incx), 1, c, blasint(ldc))
        }
    }
}

/// op(a)·op(b) for rank-2 tensors, or batched for rank-3 tensors with equal
/// batch. A rank-3 `a` times a rank-2 `b` multiplies every matrix of `a` by `b`.
public func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
    if a.rank == 3 && b.rank == 2 && !transposeA {
        let (batch, rows) = (a.shape[0], a.shape[1])
        return matmul(a.reshaped([batch * rows, a.shape[2]]), b, transposeB: transposeB)
            .reshaped([batch, rows, transposeB ? b.shape[0] : b.shape[1]])
    }
    precondition((a.rank == 2 && b.rank == 2) || (a.rank == 3 && b.rank == 3 && a.shape[0] == b.shape[0]),
                 "matmul of \(a.shape) and \(b.shape): need rank 2, or rank 3 with equal batch")
    let batched = a.rank == 3
    let batch = batched ? a.shape[0] : 1
    let (ar, ac) = (a.shape[a.rank - 2], a.shape[a.rank - 1])
    let (br, bc) = (b.shape[b.rank - 2], b.shape[b.rank - 1])
    let (m, k) = transposeA ? (ac, ar) : (ar, ac)
    let (kb, n) = transposeB ? (bc, br) : (br, bc)
    precondition(k == kb, "matmul: inner sizes differ (\(a.shape)\(transposeA ? "ᵀ" : "") · \(b.shape)\(transposeB ? "ᵀ" : ""))")
    let shape = batched ? [batch, m, n] : [m, n]
    let out = batch * m * n == 0 ? [] : [Float](unsafeUninitializedCapacity: batch * m * n) { pc, initialized in
        a.storage.withUnsafeBufferPointer { pa in
            b.storage.withUnsafeBufferPointer { pb in
                for i in 0..<batch {
                    if k == 0 {
                        for j in 0..<(m * n) { pc[i * m * n + j] = 0 }
                        continue
                    }
                    sgemm(pa.baseAddress! + i * m * k, pb.baseAddress! + i * k * n, pc.baseAddress! + i * m * n,
                          m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB)
                }
            }
        }
        initialized = batch * m * n
    }
    return Tensor.result(shape: shape, storage: out, op: "matmul", inputs: [a, b]) { g, _, needs in
        let (da, db): (() -> Tensor, () -> Tensor) = switch (transposeA, transposeB) {
        case (false, false): ({ matmul(g, b, transposeB: true) }, { matmul(a, g, transposeA: true) })
        case (true, false): ({ matmul(b, g, transposeB: true) }, { matmul(a, g) })
        case (false, true): ({ matmul(g, b) }, { matmul(g, a, transposeA: true) })
        case (true, true): ({ matmul(b, g, transposeA: true, transposeB: true) },
                            { matmul(g, a, transposeA: true, transposeB: true) })
        }
        return [needs[0] ? da() : nil, needs[1] ? db() : nil]
    }
}

extension Tensor {
    /// `x·Wᵀ + b` with PyTorch's Linear layout (W is [out, in]).
    public func linear(weight: Tensor, bias: Tensor?) -> Tensor {
        let y = matmul(self, weight, transposeB: true)
        return bias.map { y + $0 } ?? y
    }
}
