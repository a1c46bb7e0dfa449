extension CPUBackend {
    /// c[m, n] = alpha · a[m, k] · Wᵀ + beta · c on a batch-invariant backend (`batchInvariant`), every
    /// row summed alike whatever `m`: a bf16 weight in the row kernel (bf16 products), an f32 one as
    /// rows of Wᵀ in k order when K is a rank (LoRA's B) or as one dot per output (`gemvRows`).
    /// - Returns: false for the weights this does not cover (4-bit or ggml blocks, f16), which take
    ///   the usual products.
    func gemmBatchInvariant(_ pa: UnsafePointer<Float>, _ b: Tensor, _ pc: UnsafeMutablePointer<Float>,
                            m: Int, n: Int, k: Int, alpha: Float, beta: Float) throws -> Bool {
        switch b.dtype {
        case .bf16 where matmul == .halfInputs:
            let weight = try raw(b, op: "gemm").assumingMemoryBound(to: UInt16.self)
            Self.withBF16Copy(pa, count: m * k) { rounded in
                CPUFast.rowProductsBF16(rounded, m: m, k: k, weight: weight, n: n, pc, alpha: alpha, beta: beta)
            }
        case .f32 where k <= CPUFast.narrowProductMaxK:
            CPUFast.rowProductsNarrowF32(pa, m: m, k: k, weight: try f32(b, op: "gemm", "b"), n: n, pc, alpha: alpha, beta: beta)
        case .f32:
            CPUFast.gemvRows(pa, m: m, k: k, weight: try raw(b, op: "gemm"), bf16: false, n: n, pc, alpha: alpha, beta: beta)
        default:
            return false
        }
        return true
    }
}
