#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension CPUReference {
    /// Attention of query rows over a KV cache, in plain loops with Double accumulation.
    /// q, out [N, Hq, D]; kCache, vCache [S, L, Hkv, D]; slots, lengths [N].
    static func attentionDecode(q: UnsafePointer<Float>, kCache: UnsafePointer<Float>, vCache: UnsafePointer<Float>,
                                slots: UnsafePointer<Int32>, lengths: UnsafePointer<Int32>, scale: Float,
                                out: UnsafeMutablePointer<Float>, tokens: Int, heads: Int, kvHeads: Int,
                                headDim: Int, capacity: Int) {
        let group = heads / kvHeads
        for n in 0..<tokens {
            let slot = Int(slots[n]), length = Int(lengths[n])  // allowed: Int32 positions, slots and targets widen to Int
            for h in 0..<heads {
                let kvh = h / group
                let qv = q + (n * heads + h) * headDim
                var scores = [Double](repeating: 0, count: length)
                for j in 0..<length {
                    let kv = kCache + ((slot * capacity + j) * kvHeads + kvh) * headDim
                    var dot = 0.0
                    for d in 0..<headDim { dot += Double(qv[d]) * Double(kv[d]) }
                    scores[j] = dot * Double(scale)
                }
                let maxScore = scores.max() ?? 0
                var sum = 0.0
                for j in 0..<length { scores[j] = exp(scores[j] - maxScore); sum += scores[j] }
                let o = out + (n * heads + h) * headDim
                for d in 0..<headDim {
                    var acc = 0.0
                    for j in 0..<length {
                        acc += scores[j] * Double(vCache[((slot * capacity + j) * kvHeads + kvh) * headDim + d])
                    }
                    o[d] = Float(acc / sum)
                }
            }
        }
    }
}

