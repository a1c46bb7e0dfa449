/// Batched matrix products on the CPU.
extension CPUBackend {
    public func gemmBatched(_ a: Tensor, transposeA: Bool, _ b: Tensor, transposeB: Bool, into c: Tensor,
                            alpha: Float, beta: Float) throws {
        let op = "gemmBatched"
        guard a.rank == 3, c.rank == 3, b.rank == 2 || b.rank == 3 else {
            throw TensorError.shapeMismatch(op: op, argument: "a, b, c", expected: "a [batch, rows, cols], b [batch, rows, cols] or [rows, cols], c [batch, M, N]",
                                            got: a.shape + [-1] + b.shape + [-1] + c.shape)
        }
        let batch = a.shape[0]
        let (m, k) = transposeA ? (a.shape[2], a.shape[1]) : (a.shape[1], a.shape[2])
        let bRows = b.shape[b.rank - 2], bCols = b.shape[b.rank - 1]
        let (kb, n) = transposeB ? (bCols, bRows) : (bRows, bCols)
        guard kb == k, b.rank == 2 || b.shape[0] == batch else {
            throw TensorError.shapeMismatch(op: op, argument: "b", expected: "inner dimension \(k) and batch \(batch) (or a shared matrix)", got: b.shape)
        }
        guard c.shape == [batch, m, n] else {
            throw TensorError.shapeMismatch(op: op, argument: "c", expected: "[\(batch), \(m), \(n)]", got: c.shape)
        }
        let pa = try f32(a, op: op, "a"), pc = try f32(c, op: op, "c")
        let bStride = b.rank == 2 ? 0 : k * n
        try withFloats(b, op: op, "b") { pb in
            let run = { (i: Int) in
                let ai = pa + i * m * k, bi = pb + i * bStride, ci = pc + i * m * n
                if self.kernels == .fast {
                    CPUFast.sgemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                                  ai, lda: transposeA ? m : k, bi, ldb: transposeB ? k : n, beta: beta, ci, ldc: n)
                } else {
                    CPUReference.gemm(ai, transposeA: transposeA, bi, transposeB: transposeB, ci, m: m, n: n, k: k, alpha: alpha, beta: beta)
                }
            }
            if kernels == .fast && batch > 1 {
                Parallel.forEach(batch) { run($0) }  // one item per worker; each writes only its own c[i]
            } else if kernels == .fast {
                CPUFast.gemm(pa, transposeA: transposeA, pb, transposeB: transposeB, pc, m: m, n: n, k: k, alpha: alpha, beta: beta)
            } else {
                for i in 0..<batch { run(i) }
            }
        }
    }
}
