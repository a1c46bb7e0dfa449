/// Decoding with a KV cache on the CPU: operand checks, then the reference or the fast kernel.
extension CPUBackend {
    public func attentionDecode(q: Tensor, kCache: Tensor, vCache: Tensor, slots: Tensor, lengths: Tensor,
                                scale: Float, into out: Tensor) throws {
        let op = "attentionDecode"
        guard q.rank == 3 else { throw TensorError.shapeMismatch(op: op, argument: "q", expected: "[N, Hq, D]", got: q.shape) }
        let (tokens, heads, headDim) = (q.shape[0], q.shape[1], q.shape[2])
        guard kCache.rank == 4, kCache.shape[3] == headDim, kCache.shape[2] > 0, heads % kCache.shape[2] == 0 else {
            throw TensorError.shapeMismatch(op: op, argument: "kCache", expected: "[S, L, Hkv dividing \(heads), \(headDim)]", got: kCache.shape)
        }
        try requireShape(vCache, kCache.shape, op: op, "vCache")
        try requireShape(out, q.shape, op: op, "out")
        try requireCount(slots, tokens, op: op, "slots")
        try requireCount(lengths, tokens, op: op, "lengths")
        let (slotCount, capacity, kvHeads) = (kCache.shape[0], kCache.shape[1], kCache.shape[2])
        let (ps, pl) = (try i32(slots, op: op, "slots"), try i32(lengths, op: op, "lengths"))
        for n in 0..<tokens {
            guard ps[n] >= 0 && Int(ps[n]) < slotCount else {
                throw TensorError.shapeMismatch(op: op, argument: "slots[\(n)] = \(ps[n])", expected: "0..<\(slotCount)", got: kCache.shape)
            }
            guard pl[n] >= 1 && Int(pl[n]) <= capacity else {
                throw TensorError.shapeMismatch(op: op, argument: "lengths[\(n)] = \(pl[n])", expected: "1...\(capacity)", got: kCache.shape)
            }
        }
        let (pq, pk, pv, po) = (try f32(q, op: op, "q"), try f32(kCache, op: op, "kCache"), try f32(vCache, op: op, "vCache"),
                                try f32(out, op: op, "out"))
        if kernels == .fast {
            CPUFast.attentionDecode(q: pq, kCache: pk, vCache: pv, slots: ps, lengths: pl, scale: scale, out: po, tokens: tokens,
                                    shape: CPUFast.AttentionShape(heads: heads, kvHeads: kvHeads, headDim: headDim), capacity: capacity)
        } else {
            CPUReference.attentionDecode(q: pq, kCache: pk, vCache: pv, slots: ps, lengths: pl, scale: scale, out: po, tokens: tokens,
                                         heads: heads, kvHeads: kvHeads, headDim: headDim, capacity: capacity)
        }
    }
}
