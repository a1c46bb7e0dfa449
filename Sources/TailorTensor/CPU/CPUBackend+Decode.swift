/// Decoding with a KV cache on the CPU: operand checks, then the reference or the fast kernel.
extension CPUBackend {
    public func attentionDecode(q: Tensor, kCache: Tensor, vCache: Tensor, slots: Tensor, lengths: Tensor,
                                scale: Float, into out: Tensor) throws {
        let op = "attentionDecode"
        let (tokens, heads, kvHeads, headDim, slotCount, capacity) =
            try OperandChecks.decodeShape(q: q, kCache: kCache, vCache: vCache, slots: slots, lengths: lengths, out: out)
        let (ps, pl) = (try i32(slots, op: op, "slots"), try i32(lengths, op: op, "lengths"))
        for n in 0..<tokens {
            guard ps[n] >= 0 && Int(ps[n]) < slotCount else {  // allowed: Int32 slots and lengths widen to Int
                throw TensorError.shapeMismatch(op: op, argument: "slots[\(n)] = \(ps[n])", expected: "0..<\(slotCount)", got: kCache.shape)
            }
            guard pl[n] >= 1 && Int(pl[n]) <= capacity else {  // allowed: Int32 slots and lengths widen to Int
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
