#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Attention on the CPU: per (sequence, head), blocks of query rows against the keys they may
/// see, with OpenBLAS for the two products and SIMD for the softmax. Only the causal part of
/// each score matrix is computed (to the block's last row), and no [T, T] matrix outlives a block.
extension CPUFast {
    /// Query rows per block.
    static let attentionBlock = 64

    struct AttentionShape {
        var heads: Int
        var kvHeads: Int
        var headDim: Int
        var group: Int { heads / kvHeads }
    }

    /// Contiguous sequences (start, length) of a segment-structured seqStart.
    static func segments(_ seqStart: UnsafePointer<Int32>, tokens: Int) -> [(start: Int, length: Int)] {
        var result: [(start: Int, length: Int)] = []
        var n = 0
        while n < tokens {
            let start = n
            n += 1
            while n < tokens && Int(seqStart[n]) == start { n += 1 }  // allowed: Int32 positions, slots and targets widen to Int
            result.append((start, n - start))
        }
        return result
    }

    static func attentionForward(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                                 seqStart: UnsafePointer<Int32>, scale: Float,
                                 out: UnsafeMutablePointer<Float>, lse: UnsafeMutablePointer<Float>,
                                 tokens: Int, shape: AttentionShape) {
        let sequences = segments(seqStart, tokens: tokens)
        let (hq, hkv, d) = (shape.heads, shape.kvHeads, shape.headDim)
        // One work item per (sequence, head, block of query rows), the costliest (last) blocks
        // first so the dynamic hand-out ends evenly; every item writes only its own rows.
        var items: [(sequence: Int, head: Int, firstRow: Int)] = []
        for (index, sequence) in sequences.enumerated() {
            for r0 in stride(from: 0, to: sequence.length, by: attentionBlock) {
                for h in 0..<hq { items.append((index, h, r0)) }
            }
        }
        items.sort { $0.firstRow > $1.firstRow }
        Parallel.forEach(items.count) { item in
            let (sequence, h, r0) = items[item]
            let (start, length) = sequences[sequence]
            let kvh = h / shape.group
            let rows = min(attentionBlock, length - r0), cols = r0 + rows
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: rows * cols)
            defer { scores.deallocate() }
            let keys = k + (start * hkv + kvh) * d, values = v + (start * hkv + kvh) * d
            let queries = q + ((start + r0) * hq + h) * d
            // scores[rows, cols] = scale · Q_blk · K[0..<cols]ᵀ
            sgemm(transposeA: false, transposeB: true, m: rows, n: cols, k: d, alpha: scale,
                  queries, lda: hq * d, keys, ldb: hkv * d, beta: 0, scores, ldc: cols)
            for i in 0..<rows {
                let row = scores + i * cols
                let visible = r0 + i + 1
                let (maxScore, sum) = softmaxInPlace(row, visible)
                (row + visible).update(repeating: 0, count: cols - visible)
                lse[(start + r0 + i) * hq + h] = maxScore + logf(sum)
            }
            // out[rows, D] = P · V[0..<cols]
            sgemm(transposeA: false, transposeB: false, m: rows, n: d, k: cols, alpha: 1,
                  scores, lda: cols, values, ldb: hkv * d, beta: 0, out + ((start + r0) * hq + h) * d, ldc: hq * d)
        }
    }

    /// Replaces row[0..<count] by its softmax; returns (max, Σ exp(x − max)).
    @inline(__always)
    static func softmaxInPlace(_ row: UnsafeMutablePointer<Float>, _ count: Int) -> (Float, Float) {
        var maxVec = Vec(repeating: -.infinity)
        var i = 0
        while i + 8 <= count { maxVec = pointwiseMax(maxVec, row.vec(i)); i += 8 }
        var maxScore = maxVec.max()
        while i < count { maxScore = max(maxScore, row[i]); i += 1 }
        var sumVec = Vec.zero
        i = 0
        while i + 8 <= count { let e = SIMDMath.exp(row.vec(i) - maxScore); row.setVec(i, e); sumVec += e; i += 8 }
        var sum = sumVec.sum()
        while i < count { let e = SIMDMath.exp(row[i] - maxScore); row[i] = e; sum += e; i += 1 }
        let inverse = 1 / sum
        i = 0
        while i + 8 <= count { row.setVec(i, row.vec(i) * inverse); i += 8 }
        while i < count { row[i] *= inverse; i += 1 }
        return (maxScore, sum)
    }

    static func attentionBackward(dOut: UnsafePointer<Float>, q: UnsafePointer<Float>, k: UnsafePointer<Float>,
                                  v: UnsafePointer<Float>, out: UnsafePointer<Float>, lse: UnsafePointer<Float>,
                                  seqStart: UnsafePointer<Int32>, scale: Float,
                                  dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>,
                                  dv: UnsafeMutablePointer<Float>, tokens: Int, shape: AttentionShape) {
        let sequences = segments(seqStart, tokens: tokens)
        let (hq, hkv, d) = (shape.heads, shape.kvHeads, shape.headDim)
        // One work item per (sequence, kv head): it alone writes that head's dk/dv rows.
        Parallel.forEach(sequences.count * hkv) { item in
            let (start, length) = sequences[item / hkv]
            let kvh = item % hkv
            let block = min(attentionBlock, length)
            let probs = UnsafeMutablePointer<Float>.allocate(capacity: block * length)
            let dProbs = UnsafeMutablePointer<Float>.allocate(capacity: block * length)
            defer { probs.deallocate(); dProbs.deallocate() }
            let keys = k + (start * hkv + kvh) * d, values = v + (start * hkv + kvh) * d
            let dKeys = dk + (start * hkv + kvh) * d, dValues = dv + (start * hkv + kvh) * d
            for j in 0..<length {
                (dKeys + j * hkv * d).update(repeating: 0, count: d)
                (dValues + j * hkv * d).update(repeating: 0, count: d)
            }
            for h in (kvh * shape.group)..<((kvh + 1) * shape.group) {
                var r0 = 0
                while r0 < length {
                    let rows = min(block, length - r0), cols = r0 + rows
                    let rowBase = (start + r0) * hq + h
                    let queries = q + rowBase * d, dOutBlock = dOut + rowBase * d, outBlock = out + rowBase * d
                    sgemm(transposeA: false, transposeB: true, m: rows, n: cols, k: d, alpha: scale,
                          queries, lda: hq * d, keys, ldb: hkv * d, beta: 0, probs, ldc: cols)
                    sgemm(transposeA: false, transposeB: true, m: rows, n: cols, k: d, alpha: 1,
                          dOutBlock, lda: hq * d, values, ldb: hkv * d, beta: 0, dProbs, ldc: cols)
                    for i in 0..<rows {
                        let p = probs + i * cols, dp = dProbs + i * cols
                        let visible = r0 + i + 1
                        let rowLSE = lse[(start + r0 + i) * hq + h]
                        let rowDot = SIMDMath.dot(dOutBlock + i * hq * d, outBlock + i * hq * d, d)
                        var j = 0
                        while j + 8 <= visible {
                            let pv = SIMDMath.exp(p.vec(j) - rowLSE)
                            p.setVec(j, pv)
                            dp.setVec(j, pv * (dp.vec(j) - rowDot) * scale)
                            j += 8
                        }
                        while j < visible {
                            let pv = SIMDMath.exp(p[j] - rowLSE)
                            p[j] = pv
                            dp[j] = pv * (dp[j] - rowDot) * scale
                            j += 1
                        }
                        (p + visible).update(repeating: 0, count: cols - visible)
                        (dp + visible).update(repeating: 0, count: cols - visible)
                    }
                    // dQ_blk = dS · K ; dK += dSᵀ · Q_blk ; dV += Pᵀ · dO_blk
                    sgemm(transposeA: false, transposeB: false, m: rows, n: d, k: cols, alpha: 1,
                          dProbs, lda: cols, keys, ldb: hkv * d, beta: 0, dq + rowBase * d, ldc: hq * d)
                    sgemm(transposeA: true, transposeB: false, m: cols, n: d, k: rows, alpha: 1,
                          dProbs, lda: cols, queries, ldb: hq * d, beta: 1, dKeys, ldc: hkv * d)
                    sgemm(transposeA: true, transposeB: false, m: cols, n: d, k: rows, alpha: 1,
                          probs, lda: cols, dOutBlock, ldb: hq * d, beta: 1, dValues, ldc: hkv * d)
                    r0 += rows
                }
            }
        }
    }
}
