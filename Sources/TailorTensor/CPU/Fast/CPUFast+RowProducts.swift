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

extension CPUFast {
    /// Largest K sent to `rowProductsNarrowF32` (LoRA's B product: K is the rank).
    static let narrowProductMaxK = 64

    /// c[M, N] = alpha · a[M, K] · Wᵀ + beta · c for an f32 W [N, K] with a small K (LoRA's B, K the
    /// rank): Wᵀ copied once, then each output Σ_t a[i, t]·Wᵀ[t, j] in t order, 32 outputs to four
    /// registers, so a row's numbers do not depend on M (batch-invariant, as `gemvRows` is, without
    /// its N × M dot products of K values and their horizontal sums). Parallel over rows.
    static func rowProductsNarrowF32(_ a: UnsafePointer<Float>, m: Int, k: Int, weight w: UnsafePointer<Float>, n: Int,
                                     _ c: UnsafeMutablePointer<Float>, alpha: Float, beta: Float) {
        let transposed = UnsafeMutablePointer<Float>.allocate(capacity: max(k * n, 1))  // Wᵀ [K, N]
        defer { transposed.deallocate() }
        for j in 0..<n {
            for t in 0..<k { transposed[t * n + j] = w[j * k + t] }
        }
        Parallel.forEachChunk(m, costPerItem: 2 * k * n) { rows in
            for i in rows {
                let x = a + i * k, out = c + i * n
                @inline(__always) func finish(_ j: Int, _ sum: Vec) {
                    out.setVec(j, beta == 0 ? alpha * sum : alpha * sum + beta * out.vec(j))
                }
                // 32 outputs in four registers, then 8 in one, then one at a time: each output
                // Σ_t x[t]·Wᵀ[t, j] in t order, multiply then add, whichever block holds it.
                var j = 0
                while j + 32 <= n {
                    var s0 = Vec.zero, s1 = Vec.zero, s2 = Vec.zero, s3 = Vec.zero
                    for t in 0..<k {
                        let scale = Vec(repeating: x[t]), row = UnsafePointer(transposed + t * n + j)
                        s0 = s0 + scale * row.vec(0); s1 = s1 + scale * row.vec(8)
                        s2 = s2 + scale * row.vec(16); s3 = s3 + scale * row.vec(24)
                    }
                    finish(j, s0); finish(j + 8, s1); finish(j + 16, s2); finish(j + 24, s3)
                    j += 32
                }
                while j + 8 <= n {
                    var s0 = Vec.zero
                    for t in 0..<k { s0 = s0 + Vec(repeating: x[t]) * UnsafePointer(transposed + t * n + j).vec(0) }
                    finish(j, s0)
                    j += 8
                }
                while j < n {
                    var sum: Float = 0
                    for t in 0..<k { sum = sum + x[t] * transposed[t * n + j] }
                    out[j] = beta == 0 ? alpha * sum : alpha * sum + beta * out[j]
                    j += 1
                }
            }
        }
    }
}
