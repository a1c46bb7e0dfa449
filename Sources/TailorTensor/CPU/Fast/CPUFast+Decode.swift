import CIntrinsics

/// Attention of a few query rows over a KV cache: per (row, kv head), the group of query heads
/// that share it read each cached key and value once. The two products run in C kernels compiled
/// for AVX-512 or AVX2 + FMA where cpuid has them (`DecodeAttentionPath`), else in portable SIMD.
extension CPUFast {
    /// Which copy of decode attention's products runs: chosen once from cpuid.
    enum DecodeAttentionPath: CaseIterable, Sendable {
        case avx512, avx2, portable

        /// The widest path this CPU can run.
        static let chosen = allCases.first(where: \.isAvailable) ?? .portable

        static let maxGroup = Int(TAILOR_DECODE_MAX_GROUP)  // allowed: a small C constant widens

        /// Whether this CPU can run the path.
        var isAvailable: Bool {
            let cpu = CPUFeatures.current
            switch self {
            case .avx512: return tailor_decode_attention_x86() == 1 && cpu.avx512f
            case .avx2: return tailor_decode_attention_x86() == 1 && cpu.avx2 && cpu.fma
            case .portable: return true
            }
        }

        /// The path for a head dim and group size (the C kernels need whole registers of head dim
        /// and at most TAILOR_DECODE_MAX_GROUP query heads per kv head).
        func fitting(headDim d: Int, group: Int) -> DecodeAttentionPath {
            switch self {
            case .avx512 where d % 16 == 0 && group <= Self.maxGroup: return .avx512
            case .avx512, .avx2: return d % 8 == 0 && group <= Self.maxGroup && Self.avx2.isAvailable ? .avx2 : .portable
            case .portable: return .portable
            }
        }
    }

    static func attentionDecode(q: UnsafePointer<Float>, kCache: UnsafePointer<Float>, vCache: UnsafePointer<Float>,
                                slots: UnsafePointer<Int32>, lengths: UnsafePointer<Int32>, scale: Float,
                                out: UnsafeMutablePointer<Float>, tokens: Int, shape: AttentionShape, capacity: Int,
                                path: DecodeAttentionPath = .chosen) {
        let (hq, hkv, d, group) = (shape.heads, shape.kvHeads, shape.headDim, shape.group)
        let rowStride = hkv * d  // floats between consecutive cache positions
        let path = path.fitting(headDim: d, group: group)
        Parallel.forEach(tokens * hkv) { item in
            let n = item / hkv, kvh = item % hkv
            let slot = Int(slots[n]), length = Int(lengths[n])  // allowed: Int32 positions, slots and targets widen to Int
            let keys = kCache + (slot * capacity * hkv + kvh) * d
            let values = vCache + (slot * capacity * hkv + kvh) * d
            let queries = q + (n * hq + kvh * group) * d      // [group, D]
            let o = out + (n * hq + kvh * group) * d          // [group, D]
            // scores, then probabilities [group, length]
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: group * length)
            defer { scores.deallocate() }
            decodeScores(path, queries, keys, rowStride, length, group, d, scale, scores)
            for g in 0..<group { _ = softmaxInPlace(scores + g * length, length) }
            decodeValues(path, scores, values, rowStride, length, group, d, o)
        }
    }

    /// scores[g, j] = scale · queries[g] · keys[j] over [group, length].
    @inline(__always)
    private static func decodeScores(_ path: DecodeAttentionPath, _ queries: UnsafePointer<Float>, _ keys: UnsafePointer<Float>,
                                     _ rowStride: Int, _ length: Int, _ group: Int, _ d: Int, _ scale: Float,
                                     _ scores: UnsafeMutablePointer<Float>) {
        switch path {
        case .avx512: tailor_decode_scores_avx512(queries, keys, rowStride, length, Int32(group), Int32(d), scale, scores)  // allowed: group ≤ 8 and head dim are small (fitting)
        case .avx2: tailor_decode_scores_avx2(queries, keys, rowStride, length, Int32(group), Int32(d), scale, scores)  // allowed: group ≤ 8 and head dim are small (fitting)
        case .portable:
            for g in 0..<group {
                let query = queries + g * d, row = scores + g * length
                for j in 0..<length { row[j] = scale * SIMDMath.dot(query, keys + j * rowStride, d) }
            }
        }
    }

    /// out[g] = Σ_j probs[g, j] · values[j] over [group, D].
    @inline(__always)
    private static func decodeValues(_ path: DecodeAttentionPath, _ probs: UnsafePointer<Float>, _ values: UnsafePointer<Float>,
                                     _ rowStride: Int, _ length: Int, _ group: Int, _ d: Int, _ out: UnsafeMutablePointer<Float>) {
        switch path {
        case .avx512: tailor_decode_values_avx512(probs, values, rowStride, length, Int32(group), Int32(d), out)  // allowed: group ≤ 8 and head dim are small (fitting)
        case .avx2: tailor_decode_values_avx2(probs, values, rowStride, length, Int32(group), Int32(d), out)  // allowed: group ≤ 8 and head dim are small (fitting)
        case .portable:
            for g in 0..<group {
                let row = probs + g * length, o = out + g * d
                o.update(repeating: 0, count: d)
                for j in 0..<length {
                    let p = row[j], v = values + j * rowStride
                    var i = 0
                    while i + 8 <= d { o.setVec(i, o.vec(i) + p * v.vec(i)); i += 8 }
                    while i < d { o[i] += p * v[i]; i += 1 }
                }
            }
        }
    }
}
