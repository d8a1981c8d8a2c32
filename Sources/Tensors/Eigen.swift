import CBLAS

// Dense linear algebra through the LAPACK routines OpenBLAS exports
// (`ssyevd_`, `sgelsd_`, declared in the CBLAS shim). No autodiff: these serve
// closed-form direction finding (SeFa, PCA), which never needs gradients.
//
// LAPACK is column-major. A symmetric matrix reads the same either way; for
// the others we transpose on the way in and out.

/// A LAPACK routine reported failure (`info ≠ 0`): a programming error or a
/// matrix with NaN, never something a user can fix, so commands report it as
/// an internal error.
public struct LinearAlgebraError: Error, CustomStringConvertible, Equatable, Sendable {
    public let routine: String
    public let info: Int
    public var description: String { "\(routine) failed (info = \(info)); the matrix may contain NaN or infinity" }
}

/// Eigen-decomposition of a symmetric [n, n] matrix (only its upper triangle
/// as stored row-major is read).
///
/// - Returns: eigenvalues in **descending** order and the matching unit
///   eigenvectors as the **rows** of an [n, n] tensor (row i belongs to
///   `values[i]`). Each eigenvector's sign is fixed so that its largest-magnitude
///   entry is positive, which makes results repeatable across LAPACK builds.
public func symmetricEigen(_ matrix: Tensor) throws -> (values: [Float], vectors: Tensor) {
    precondition(matrix.rank == 2 && matrix.shape[0] == matrix.shape[1],
                 "symmetricEigen needs a square matrix, got \(matrix.shape)")
    let n = matrix.shape[0]
    if n == 0 { return ([], Tensor.zeros([0, 0])) }
    // Row-major upper triangle = column-major lower triangle.
    var a = matrix.storage
    var w = [Float](repeating: 0, count: n)
    var jobz = CChar(UInt8(ascii: "V")), uplo = CChar(UInt8(ascii: "L"))
    var size = Int32(n), lda = Int32(n), info: Int32 = 0
    // Workspace query, then the real call.
    var workQuery: Float = 0
    var iworkQuery: Int32 = 0
    var lwork: Int32 = -1, liwork: Int32 = -1
    ssyevd_(&jobz, &uplo, &size, &a, &lda, &w, &workQuery, &lwork, &iworkQuery, &liwork, &info)
    guard info == 0 else { throw LinearAlgebraError(routine: "ssyevd", info: Int(info)) }
    lwork = Int32(workQuery.rounded(.up))
    liwork = iworkQuery
    var work = [Float](repeating: 0, count: Int(lwork))
    var iwork = [Int32](repeating: 0, count: Int(liwork))
    ssyevd_(&jobz, &uplo, &size, &a, &lda, &w, &work, &lwork, &iwork, &liwork, &info)
    guard info == 0 else { throw LinearAlgebraError(routine: "ssyevd", info: Int(info)) }

    // Column j of the column-major result (eigenvector j, ascending) is the
    // contiguous run a[j·n ..< (j+1)·n]; emit them in descending order.
    var vectors = [Float](repeating: 0, count: n * n)
    for (row, j) in (0..<n).reversed().enumerated() {
        let source = a[(j * n)..<((j + 1) * n)]
        var largest: Float = 0
        for v in source where Swift.abs(v) > Swift.abs(largest) { largest = v }
        let sign: Float = largest < 0 ? -1 : 1
        for (i, v) in source.enumerated() { vectors[row * n + i] = sign * v }
    }
    return (w.reversed(), Tensor(shape: [n, n], storage: vectors))
}

/// Minimum-norm least-squares solution X of A·X ≈ B (SVD based, so rank
/// deficient A is fine): A [m, n], B [m, r] → X [n, r].
///
/// - Parameter rcond: singular values below `rcond`·σ_max count as zero;
///   negative means machine precision.
public func leastSquares(_ a: Tensor, _ b: Tensor, rcond: Float = -1) throws -> Tensor {
    precondition(a.rank == 2 && b.rank == 2 && a.shape[0] == b.shape[0],
                 "leastSquares needs A [m, n] and B [m, r], got \(a.shape) and \(b.shape)")
    let (m, n, r) = (a.shape[0], a.shape[1], b.shape[1])
    if m == 0 || n == 0 || r == 0 { return Tensor.zeros([n, r]) }
    let ldb = Swift.max(m, n)
    // Column-major copies: A as m×n, B padded to ldb rows (it returns X there).
    var colA = [Float](repeating: 0, count: m * n)
    var colB = [Float](repeating: 0, count: ldb * r)
    a.withValues { pa in
        for i in 0..<m { for j in 0..<n { colA[j * m + i] = pa[i * n + j] } }
    }
    b.withValues { pb in
        for i in 0..<m { for j in 0..<r { colB[j * ldb + i] = pb[i * r + j] } }
    }
    var mm = Int32(m), nn = Int32(n), nrhs = Int32(r), lda = Int32(m), ldbb = Int32(ldb)
    var singular = [Float](repeating: 0, count: Swift.min(m, n))
    var rc = rcond, rank: Int32 = 0, info: Int32 = 0
    var workQuery: Float = 0, iworkQuery: Int32 = 0, lwork: Int32 = -1
    sgelsd_(&mm, &nn, &nrhs, &colA, &lda, &colB, &ldbb, &singular, &rc, &rank, &workQuery, &lwork, &iworkQuery, &info)
    guard info == 0 else { throw LinearAlgebraError(routine: "sgelsd", info: Int(info)) }
    lwork = Int32(workQuery.rounded(.up))
    var work = [Float](repeating: 0, count: Int(lwork))
    // The reference LAPACK may leave iwork's query at 0 on some builds; its
    // documented minimum is 3·min(m,n)·nlvl + 11·min(m,n) with nlvl ≤ 32.
    let minimumIwork = 3 * Swift.min(m, n) * 32 + 11 * Swift.min(m, n)
    var iwork = [Int32](repeating: 0, count: Swift.max(Int(iworkQuery), minimumIwork, 1))
    sgelsd_(&mm, &nn, &nrhs, &colA, &lda, &colB, &ldbb, &singular, &rc, &rank, &work, &lwork, &iwork, &info)
    guard info == 0 else { throw LinearAlgebraError(routine: "sgelsd", info: Int(info)) }
    var x = [Float](repeating: 0, count: n * r)
    for i in 0..<n { for j in 0..<r { x[i * r + j] = colB[j * ldb + i] } }
    return Tensor(shape: [n, r], storage: x)
}
