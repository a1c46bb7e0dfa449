import CIntrinsics

/// Products of a few activation rows with a weight matrix (decoding: one row per sequence).
/// OpenBLAS would see a tiny M and, for bf16 weights, a widened copy of the whole matrix; this
/// reads each weight row once, widening bf16 in registers, parallel over output columns. The
/// loops prefetch 2 KB ahead: the hardware prefetchers stop at page boundaries, and decoding
/// measured 20–25% faster with the hint (Qwen2.5-0.5B bf16, 2 cores).
extension CPUFast {
    /// Largest M sent here instead of to sgemm.
    static let gemvMaxRows = 8

    /// c[M, N] = alpha · a[M, K] · Wᵀ + beta · c, W [N, K] in f32 (`bf16` false) or bf16.
    static func gemvRows(_ a: UnsafePointer<Float>, m: Int, k: Int, weight: UnsafeRawPointer, bf16: Bool, n: Int,
                         _ c: UnsafeMutablePointer<Float>, alpha: Float, beta: Float) {
        Parallel.forEachChunk(n, costPerItem: 2 * k * m) { range in
            for j in range {
                for i in 0..<m {
                    let x = a + i * k
                    let dot = bf16 ? dotBF16(x, weight.assumingMemoryBound(to: UInt16.self) + j * k, k)
                                   : dotF32(x, weight.assumingMemoryBound(to: Float.self) + j * k, k)
                    let out = c + i * n + j
                    out.pointee = beta == 0 ? alpha * dot : alpha * dot + beta * out.pointee
                }
            }
        }
    }

    /// Σ x[i]·w[i] with w in f32, two accumulators.
    @inline(__always)
    static func dotF32(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ count: Int) -> Float {
        var acc0 = Vec.zero, acc1 = Vec.zero
        var i = 0
        while i + 16 <= count {
            tailor_prefetch(w + i + 512)
            acc0 += x.vec(i) * w.vec(i); acc1 += x.vec(i + 8) * w.vec(i + 8); i += 16
        }
        while i + 8 <= count { acc0 += x.vec(i) * w.vec(i); i += 8 }
        var sum = (acc0 + acc1).sum()
        while i < count { sum += x[i] * w[i]; i += 1 }
        return sum
    }

    /// Σ x[i]·w[i] with w in bf16, widened in registers (a bf16 is the top half of an f32).
    @inline(__always)
    static func dotBF16(_ x: UnsafePointer<Float>, _ w: UnsafePointer<UInt16>, _ count: Int) -> Float {
        @inline(__always) func widen(_ i: Int) -> Vec {
            let raw = UnsafeRawPointer(w + i).loadUnaligned(as: SIMD8<UInt16>.self)
            return unsafeBitCast(SIMD8<UInt32>(truncatingIfNeeded: raw) &<< 16, to: Vec.self)
        }
        var acc0 = Vec.zero, acc1 = Vec.zero
        var i = 0
        while i + 16 <= count {
            tailor_prefetch(w + i + 1024)
            acc0 += x.vec(i) * widen(i); acc1 += x.vec(i + 8) * widen(i + 8); i += 16
        }
        while i + 8 <= count { acc0 += x.vec(i) * widen(i); i += 8 }
        var sum = (acc0 + acc1).sum()
        while i < count { sum += x[i] * HalfPrecision.bf16ToFloat(w[i]); i += 1 }
        return sum
    }
}
