import TailorTensor

/// Matrix products on the GPU through the device's GEMM (cuBLAS on a real device).
extension CUDABackend {
    public func gemm(_ a: Tensor, transposeA: Bool, _ b: Tensor, transposeB: Bool, into c: Tensor,
                     alpha: Float, beta: Float) throws {
        let (m, n, k) = try OperandChecks.gemmShape(a, transposeA: transposeA, b, transposeB: transposeB, c)
        try product(op: "gemm", a, transposeA: transposeA, b, transposeB: transposeB, c, batch: 1, m: m, n: n, k: k,
                    sharedB: true, alpha: alpha, beta: beta)
    }

    public func gemmBatched(_ a: Tensor, transposeA: Bool, _ b: Tensor, transposeB: Bool, into c: Tensor,
                            alpha: Float, beta: Float) throws {
        let shape = try OperandChecks.gemmBatchedShape(a, transposeA: transposeA, b, transposeB: transposeB, c)
        try product(op: "gemmBatched", a, transposeA: transposeA, b, transposeB: transposeB, c, batch: shape.batch,
                    m: shape.m, n: shape.n, k: shape.k, sharedB: shape.sharedB, alpha: alpha, beta: beta)
    }

    /// a and c are f32; a bf16/f16 `b` is widened (`.fp32`) or `a` narrowed to b's dtype
    /// (`.halfInputs`) into a temporary, since cuBLAS multiplies operands of one dtype.
    private func product(op: String, _ a: Tensor, transposeA: Bool, _ b: Tensor, transposeB: Bool, _ c: Tensor,
                         batch: Int, m: Int, n: Int, k: Int, sharedB: Bool, alpha: Float, beta: Float) throws {
        try OperandChecks.requireDType(a, [.f32], op: op, argument: "a")
        try OperandChecks.requireDType(b, [.f32, .bf16, .f16], op: op, argument: "b")
        try OperandChecks.requireDType(c, [.f32], op: op, argument: "c")
        guard m > 0, n > 0, batch > 0 else { return }
        guard k > 0 else {  // an empty sum: c = beta · c
            if beta == 0 { try fill(c, value: 0) } else if beta != 1 { try scale(c, by: beta) }
            return
        }
        var left = a, right = b
        if b.dtype != .f32 {
            if matmul == .fp32 {
                right = try empty(b.shape, dtype: .f32)
                try copy(b, into: right)
            } else {
                left = try empty(a.shape, dtype: b.dtype)
                try copy(a, into: left)
            }
        }
        let problem = GemmProblem(
            m: m, n: n, k: k, batch: batch, transposeA: transposeA, transposeB: transposeB, inputType: left.dtype,
            a: try address(left), lda: transposeA ? m : k, strideA: m * k,
            b: try address(right), ldb: transposeB ? k : n, strideB: sharedB ? 0 : k * n,
            c: try address(c), ldc: n, strideC: m * n, alpha: alpha, beta: beta)
        try device.gemm(problem)
    }
}
