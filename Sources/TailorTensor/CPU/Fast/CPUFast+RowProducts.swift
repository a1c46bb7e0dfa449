import CIntrinsics

/// Batch-invariant bf16 products for inference (`CPUBackend.batchInvariant`): x · Wᵀ with every
/// output summed in one fixed order whatever the row count (AVX512-BF16 C kernel,
/// include/tailor_row_products.h), so a request batched with others gets the logits it gets alone.
/// oneDNN's bf16 matmul picks its blocking from the row count, and a last-bit difference in one
/// layer's output flips a later bf16 rounding of the activation: answers then part where no
/// near tie explains it (docs/cpu.md, "Batch-invariant bf16 products").
extension CPUFast {
    /// Whether this CPU and build run the row kernel (AVX512-BF16 with AVX-512 BW).
    static let rowProductsAvailable: Bool = {
        let cpu = CPUFeatures.current
        return tailor_row_products_x86() == 1 && cpu.avx512f && cpu.avx512bw && cpu.avx512BF16
    }()

    /// c[M, N] = alpha · x[M, K] · Wᵀ + beta · c with x and W [N, K] in bf16, parallel over output
    /// columns (a split that changes no output).
    static func rowProductsBF16(_ x: UnsafePointer<UInt16>, m: Int, k: Int, weight: UnsafePointer<UInt16>, n: Int,
                                _ c: UnsafeMutablePointer<Float>, alpha: Float, beta: Float) {
        Parallel.forEachChunk(n, costPerItem: 2 * k * m) { columns in
            tailor_row_products_bf16(x, m, k, weight, columns.lowerBound, columns.upperBound, c, n, alpha, beta)
        }
    }
}
