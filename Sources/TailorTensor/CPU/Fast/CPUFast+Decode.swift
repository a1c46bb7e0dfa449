/// Attention of a few query rows over a KV cache: per (row, kv head), the group of query heads
/// that share it read each cached key and value once, with SIMD dot products and axpys.
extension CPUFast {
    static func attentionDecode(q: UnsafePointer<Float>, kCache: UnsafePointer<Float>, vCache: UnsafePointer<Float>,
                                slots: UnsafePointer<Int32>, lengths: UnsafePointer<Int32>, scale: Float,
                                out: UnsafeMutablePointer<Float>, tokens: Int, shape: AttentionShape, capacity: Int) {
        let (hq, hkv, d, group) = (shape.heads, shape.kvHeads, shape.headDim, shape.group)
        let rowStride = hkv * d  // floats between consecutive cache positions
        Parallel.forEach(tokens * hkv) { item in
            let n = item / hkv, kvh = item % hkv
            let slot = Int(slots[n]), length = Int(lengths[n])  // allowed: Int32 positions, slots and targets widen to Int
            let keys = kCache + (slot * capacity * hkv + kvh) * d
            let values = vCache + (slot * capacity * hkv + kvh) * d
            // scores [group, length]
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: group * length)
            defer { scores.deallocate() }
            for g in 0..<group {
                let queries = q + (n * hq + kvh * group + g) * d
                let row = scores + g * length
                for j in 0..<length { row[j] = scale * SIMDMath.dot(queries, keys + j * rowStride, d) }
                _ = softmaxInPlace(row, length)
                let o = out + (n * hq + kvh * group + g) * d
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
