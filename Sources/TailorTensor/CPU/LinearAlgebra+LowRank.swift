extension LinearAlgebra {
    /// torch.svd_lowrank(w, q, niter)'s algorithm (Halko, Martinsson & Tropp 2009, algorithms 4.4
    /// and 5.1) on the row-major [rows, columns] matrix `w`: an approximate top-`q` SVD
    /// w ≈ u · diag(s) · vt with u [rows, q], s [q], vt [q, columns].
    ///
    /// As torch does: a wide matrix is decomposed as its transpose; G [n, q] is a Gaussian draw
    /// (here from `generator`, not torch's generator, so the draws differ from torch's); Q = qr(A·G).Q,
    /// then `niter` times Q = qr(Aᵀ·Q).Q, Q = qr(A·Q).Q; B = Qᵀ·A; svd(B) = U_B·S·Vᵀ; u = Q·U_B.
    /// The result is random: with more iterations it converges to the exact top-q singular
    /// triplets (up to sign), as fast as the gap after the q-th singular value allows.
    public static func svdLowRank(_ w: [Float], rows: Int, columns: Int, rank q: Int, iterations: Int,
                                  generator: inout SplitMix64) throws -> SVD {
        try checkLAPACK()
        try checkShape("svd_lowrank", w, rows, columns)
        guard q > 0, q <= min(rows, columns) else {
            throw TensorError.shapeMismatch(op: "svd_lowrank", argument: "rank", expected: "1...\(min(rows, columns))", got: [q])
        }
        // Tall: A [m, n] with m >= n.
        let transposed = rows < columns
        let (m, n) = transposed ? (columns, rows) : (rows, columns)
        var a = w
        if transposed {
            a = [Float](repeating: 0, count: w.count)
            for i in 0..<rows {
                for j in 0..<columns { a[j * rows + i] = w[i * columns + j] }
            }
        }
        let gaussian = (0..<(n * q)).map { _ in Float(generator.nextGaussian()) }
        // Q [m, q]
        var basis = try qr(try matmul(a, gaussian, m: m, n: q, k: n), rows: m, columns: q).q
        for _ in 0..<max(0, iterations) {
            let back = try qr(try matmul(a, transposeA: true, basis, m: n, n: q, k: m), rows: n, columns: q).q  // [n, q]
            basis = try qr(try matmul(a, back, m: m, n: q, k: n), rows: m, columns: q).q
        }
        let small = try matmul(basis, transposeA: true, a, m: q, n: n, k: m)  // B [q, n]
        let inner = try svd(small, rows: q, columns: n)  // U_B [q, q], S [q], Vᵀ [q, n]
        let left = try matmul(basis, inner.u, m: m, n: q, k: q)  // [m, q]
        if !transposed { return SVD(u: left, s: inner.s, vt: inner.vt, k: q) }
        // w = Aᵀ ≈ V·S·leftᵀ: u = V [rows, q] (= (Vᵀ)ᵀ), vt = leftᵀ [q, columns].
        var u = [Float](repeating: 0, count: rows * q), vt = [Float](repeating: 0, count: q * columns)
        for i in 0..<q {
            for j in 0..<rows { u[j * q + i] = inner.vt[i * n + j] }
            for j in 0..<columns { vt[i * columns + j] = left[j * q + i] }
        }
        return SVD(u: u, s: inner.s, vt: vt, k: q)
    }
}
