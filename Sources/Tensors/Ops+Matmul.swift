import CBLAS

// Matrix products through OpenBLAS. `matmul` with transpose flags is its own
// adjoint family: every gradient is another matmul with different flags.

/// Sets the number of threads OpenBLAS uses for every later GEMM.
public func setBLASThreads(_ count: Int) {
    openblas_set_num_threads(Int32(Swift.max(1, count)))
}

/// `--threads`: BLAS threads and the worker threads of the other kernels.
public func setThreads(_ count: Int) {
    setBLASThreads(count)
    setWorkerThreads(count)
}

public var blasThreads: Int { Int(openblas_get_num_threads()) }

/// C = op(A)·op(B) on raw row-major buffers (C is overwritten unless `accumulate`).
@inline(__always)
func sgemm(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>,
           m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool, accumulate: Bool = false) {
    cblas_sgemm(CblasRowMajor,
                transposeA ? CblasTrans : CblasNoTrans,
                transposeB ? CblasTrans : CblasNoTrans,
                blasint(m), blasint(n), blasint(k), 1,
                a, blasint(transposeA ? m : k),
                b, blasint(transposeB ? k : n),
                accumulate ? 1 : 0, c, blasint(n))
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
