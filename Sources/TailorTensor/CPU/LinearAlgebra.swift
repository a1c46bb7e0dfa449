import CBLAS

/// Matrix decompositions on the host, by the LAPACK routines OpenBLAS carries (sgesdd, sgeqrf +
/// sorgqr), in f32 as torch.linalg computes them for f32 tensors. Matrices are row-major `[Float]`.
///
/// They run on the host whatever backend holds the model: an adapter's initialisation (PiSSA's
/// SVD, OLoRA's QR) downloads the weight, decomposes it here and uploads the factors. The Backend
/// protocol has no decomposition kernels; the CUDA backend takes this same path.
public enum LinearAlgebra {
    /// A thin singular value decomposition `w = u · diag(s) · vt` of a [rows, columns] matrix,
    /// k = min(rows, columns): u [rows, k], s [k] (descending), vt [k, columns].
    public struct SVD: Sendable {
        public var u: [Float]
        public var s: [Float]
        public var vt: [Float]
        public var k: Int
    }

    /// A thin QR `w = q · r`, k = min(rows, columns): q [rows, k] with orthonormal columns,
    /// r [k, columns] upper triangular (LAPACK's Householder signs, as torch.linalg.qr gives them).
    public struct QR: Sendable {
        public var q: [Float]
        public var r: [Float]
        public var k: Int
    }

    /// torch.linalg.svd(w, full_matrices=False) of the row-major [rows, columns] matrix `w`.
    /// The singular vectors are fixed only up to the joint sign of each pair (u[:, i], vt[i, :]).
    /// - Throws: `TensorError.blasUnavailable` / `.lapackMissing` when OpenBLAS or its LAPACK part
    ///   is absent, `.decompositionFailed` when sgesdd reports an error (a NaN in `w`, or no convergence).
    public static func svd(_ w: [Float], rows: Int, columns: Int) throws -> SVD {
        try checkLAPACK()
        try checkShape("sgesdd", w, rows, columns)
        let k = min(rows, columns)
        // Row-major w is column-major wᵀ [columns, rows]. Its SVD wᵀ = U'·S·V'ᵀ gives w = V'·S·U'ᵀ,
        // so LAPACK's u (column-major [columns, k]) is, read row-major, vt [k, columns], and its
        // vt (column-major [k, rows]) is u [rows, k]: no transposes.
        var a = w
        var s = [Float](repeating: 0, count: k)
        var vt = [Float](repeating: 0, count: k * columns)
        var u = [Float](repeating: 0, count: rows * k)
        let (m, n, kk) = (try lapackInt(columns), try lapackInt(rows), try lapackInt(k))
        var iwork = [Int32](repeating: 0, count: 8 * k)
        var info: Int32 = 0
        var query: Float = 0
        "S".withCString { jobz in
            tailor_lapack_sgesdd(jobz, m, n, &a, m, &s, &vt, m, &u, kk, &query, -1, &iwork, &info)
        }
        guard info == 0 else { throw TensorError.decompositionFailed(op: "sgesdd (workspace query)", info: Int(info)) }  // allowed: LAPACK info widens
        let lwork = max(1, Int(query.rounded(.up)))  // allowed: LAPACK's workspace size, a small positive count
        var work = [Float](repeating: 0, count: lwork)
        let lworkValue = try lapackInt(lwork)
        "S".withCString { jobz in
            tailor_lapack_sgesdd(jobz, m, n, &a, m, &s, &vt, m, &u, kk, &work, lworkValue, &iwork, &info)
        }
        guard info == 0 else { throw TensorError.decompositionFailed(op: "sgesdd", info: Int(info)) }  // allowed: LAPACK info widens
        return SVD(u: u, s: s, vt: vt, k: k)
    }

    /// torch.linalg.qr(w) (mode "reduced") of the row-major [rows, columns] matrix `w`.
    /// - Throws: as `svd`.
    public static func qr(_ w: [Float], rows: Int, columns: Int) throws -> QR {
        try checkLAPACK()
        try checkShape("sgeqrf", w, rows, columns)
        let k = min(rows, columns)
        // Column-major copy of w [rows, columns].
        var a = [Float](repeating: 0, count: rows * columns)
        for i in 0..<rows {
            for j in 0..<columns { a[j * rows + i] = w[i * columns + j] }
        }
        let (m, n, kk) = (try lapackInt(rows), try lapackInt(columns), try lapackInt(k))
        var tau = [Float](repeating: 0, count: max(1, k))
        var info: Int32 = 0
        var query: Float = 0
        tailor_lapack_sgeqrf(m, n, &a, m, &tau, &query, -1, &info)
        guard info == 0 else { throw TensorError.decompositionFailed(op: "sgeqrf (workspace query)", info: Int(info)) }  // allowed: LAPACK info widens
        var work = [Float](repeating: 0, count: max(1, Int(query.rounded(.up))))  // allowed: LAPACK's workspace size, a small positive count
        tailor_lapack_sgeqrf(m, n, &a, m, &tau, &work, try lapackInt(work.count), &info)
        guard info == 0 else { throw TensorError.decompositionFailed(op: "sgeqrf", info: Int(info)) }  // allowed: LAPACK info widens
        // R: the upper triangle of the first k rows.
        var r = [Float](repeating: 0, count: k * columns)
        for i in 0..<k {
            for j in i..<columns { r[i * columns + j] = a[j * rows + i] }
        }
        // Q: sorgqr forms the first k columns in place.
        tailor_lapack_sorgqr(m, kk, kk, &a, m, tau, &query, -1, &info)
        guard info == 0 else { throw TensorError.decompositionFailed(op: "sorgqr (workspace query)", info: Int(info)) }  // allowed: LAPACK info widens
        work = [Float](repeating: 0, count: max(1, Int(query.rounded(.up))))  // allowed: LAPACK's workspace size, a small positive count
        tailor_lapack_sorgqr(m, kk, kk, &a, m, tau, &work, try lapackInt(work.count), &info)
        guard info == 0 else { throw TensorError.decompositionFailed(op: "sorgqr", info: Int(info)) }  // allowed: LAPACK info widens
        var q = [Float](repeating: 0, count: rows * k)
        for i in 0..<rows {
            for j in 0..<k { q[i * k + j] = a[j * rows + i] }
        }
        return QR(q: q, r: r, k: k)
    }

    /// c [m, n] = op(a) · op(b) on the host (one OpenBLAS call); a is [m, k] (or [k, m] with
    /// `transposeA`), b [k, n] (or [n, k] with `transposeB`).
    public static func matmul(_ a: [Float], transposeA: Bool = false, _ b: [Float], transposeB: Bool = false,
                              m: Int, n: Int, k: Int) throws -> [Float] {
        guard tailor_cblas_load() == 1 else { throw TensorError.blasUnavailable(String(cString: tailor_cblas_error())) }
        guard a.count == m * k, b.count == k * n else {
            throw TensorError.hostDataMismatch(expected: m * k + k * n, got: a.count + b.count)
        }
        var c = [Float](repeating: 0, count: m * n)
        guard m > 0, n > 0 else { return c }
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    guard let pa = pa.baseAddress, let pb = pb.baseAddress, let pc = pc.baseAddress else { return }
                    CPUFast.sgemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 1,
                                  pa, lda: transposeA ? m : k, pb, ldb: transposeB ? k : n, beta: 0, pc, ldc: n)
                }
            }
        }
        return c
    }

    /// Throws unless OpenBLAS is loaded with the LAPACK routines these decompositions call.
    public static func checkLAPACK() throws {
        guard tailor_cblas_load() == 1 else { throw TensorError.blasUnavailable(String(cString: tailor_cblas_error())) }
        guard tailor_lapack_available() == 1 else {
            throw TensorError.lapackMissing(symbol: String(cString: tailor_lapack_missing()), library: String(cString: tailor_cblas_library()))
        }
    }

    static func checkShape(_ op: String, _ w: [Float], _ rows: Int, _ columns: Int) throws {
        guard rows > 0, columns > 0 else {
            throw TensorError.shapeMismatch(op: op, argument: "w", expected: "a non-empty matrix", got: [rows, columns])
        }
        guard w.count == rows * columns else { throw TensorError.hostDataMismatch(expected: rows * columns, got: w.count) }
        if let bad = w.firstIndex(where: { !$0.isFinite }) {
            throw TensorError.decompositionFailed(op: "\(op) (element \(bad) is \(w[bad]))", info: 1)
        }
    }

    static func lapackInt(_ value: Int) throws -> Int32 {
        guard let narrow = Int32(exactly: value) else {
            throw TensorError.shapeMismatch(op: "LAPACK", argument: "size", expected: "below 2^31", got: [value])
        }
        return narrow
    }
}
