/// Batched matrix products on the CPU.
extension CPUBackend {
    public func gemmBatched(_ a: Tensor, transposeA: Bool, _ b: Tensor, transposeB: Bool, into c: Tensor,
                            alpha: Float, beta: Float) throws {
        let op = "gemmBatched"
        let (batch, m, n, k, sharedB) = try OperandChecks.gemmBatchedShape(a, transposeA: transposeA, b, transposeB: transposeB, c)
        let pa = try f32(a, op: op, "a"), pc = try f32(c, op: op, "c")
        let bStride = sharedB ? 0 : k * n
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
