import TailorTensor

/// Attention on the GPU: the tiled kernels of KernelSource.attention / attentionBackward (tile
/// shapes in AttentionTiling) and the KV-cache kernel of KernelSource.decode.
///
/// Unlike the CPU backend, the GPU does not check that `seqStart` describes contiguous sequences
/// (that would read it back to the host and synchronise every step): its contents are trusted.
/// The kernels never read out of bounds whatever it holds (a negative start counts as 0, a start
/// after its token leaves the row empty), but the result of a malformed `seqStart` is unspecified.
extension CUDABackend {
    /// A block per (16 query rows, head) walks the key tiles its rows attend with an online
    /// softmax (AttentionTiling). `seqStart` is not validated on the GPU (see above).
    public func attentionForward(q: Tensor, k: Tensor, v: Tensor, seqStart: Tensor, scale: Float,
                                 into out: Tensor, lse: Tensor) throws {
        let op = "attentionForward"
        let (tokens, heads, kvHeads, headDim) = try OperandChecks.attentionShape(q: q, k: k, v: v, seqStart: seqStart, op: op)
        let starts = try i32(seqStart, op: op, "seqStart")
        try OperandChecks.requireShape(out, q.shape, op: op, "out")
        try OperandChecks.requireCount(lse, tokens * heads, op: op, "lse")
        let arguments: [KernelArgument] = [
            try f32(q, op: op, "q"), try f32(k, op: op, "k"), try f32(v, op: op, "v"), starts,
            try f32(out, op: op, "out"), try f32(lse, op: op, "lse"),
            .int32(Int32(tokens)), .int32(Int32(heads)), .int32(Int32(kvHeads)), .int32(Int32(headDim)), .float(scale),  // allowed: CUDA launch sizes and tensor counts of tensors allocated on the device, each far below 2^31; CUDA driver values widen
        ]
        let tiling = try Self.attentionTiling(.forward, headDim: headDim, op: op, q: q)
        guard tokens > 0, heads > 0 else { return }
        try device.launch(tiling.entry, grid: LaunchSize((tokens + tiling.blockRows - 1) / tiling.blockRows, heads),
                          block: LaunchSize(AttentionTiling.threads), sharedBytes: tiling.sharedBytes(headDim: headDim), arguments)
    }

    /// Three kernels: D = rowsum(dOut · out) into a scratch [N, Hq], then dk/dv (a block per key
    /// tile and kv head, summing the head group) and dq (a block per query tile and head); every
    /// gradient element is written once, without atomics. `seqStart` is not validated (see above).
    public func attentionBackward(dOut: Tensor, q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor,
                                  seqStart: Tensor, scale: Float, dq: Tensor, dk: Tensor, dv: Tensor) throws {
        let op = "attentionBackward"
        let (tokens, heads, kvHeads, headDim) = try OperandChecks.attentionShape(q: q, k: k, v: v, seqStart: seqStart, op: op)
        let starts = try i32(seqStart, op: op, "seqStart")
        for (tensor, name) in [(dOut, "dOut"), (out, "out"), (dq, "dq")] { try OperandChecks.requireShape(tensor, q.shape, op: op, name) }
        for (tensor, name) in [(dk, "dk"), (dv, "dv")] { try OperandChecks.requireShape(tensor, k.shape, op: op, name) }
        try OperandChecks.requireCount(lse, tokens * heads, op: op, "lse")
        let (pdo, pq, pk, pv) = (try f32(dOut, op: op, "dOut"), try f32(q, op: op, "q"), try f32(k, op: op, "k"), try f32(v, op: op, "v"))
        let (po, pl) = (try f32(out, op: op, "out"), try f32(lse, op: op, "lse"))
        let (pdq, pdk, pdv) = (try f32(dq, op: op, "dq"), try f32(dk, op: op, "dk"), try f32(dv, op: op, "dv"))
        let queryTiling = try Self.attentionTiling(.backwardQuery, headDim: headDim, op: op, q: q)
        let keyValueTiling = try Self.attentionTiling(.backwardKeyValue, headDim: headDim, op: op, q: q)
        guard tokens > 0, heads > 0 else { return }

        let rows = tokens * heads
        let delta = try empty([rows], dtype: .f32)
        let pd = KernelArgument.pointer(try address(delta))
        try device.launch("tailor_attention_backward_delta_f32", grid: LaunchSize((rows + AttentionTiling.warps - 1) / AttentionTiling.warps),
                          block: LaunchSize(AttentionTiling.threads), sharedBytes: 0,
                          [pdo, po, pd, .int32(Int32(rows)), .int32(Int32(headDim))])  // allowed: CUDA launch sizes and tensor counts of tensors allocated on the device, each far below 2^31; CUDA driver values widen
        let sizes: [KernelArgument] = [.int32(Int32(tokens)), .int32(Int32(heads)), .int32(Int32(kvHeads)), .int32(Int32(headDim)), .float(scale)]  // allowed: CUDA launch sizes and tensor counts of tensors allocated on the device, each far below 2^31; CUDA driver values widen
        try device.launch(keyValueTiling.entry,
                          grid: LaunchSize((tokens + keyValueTiling.blockRows - 1) / keyValueTiling.blockRows, kvHeads),
                          block: LaunchSize(AttentionTiling.threads), sharedBytes: keyValueTiling.sharedBytes(headDim: headDim),
                          [pdo, pq, pk, pv, pl, pd, starts, pdk, pdv] + sizes)
        try device.launch(queryTiling.entry, grid: LaunchSize((tokens + queryTiling.blockRows - 1) / queryTiling.blockRows, heads),
                          block: LaunchSize(AttentionTiling.threads), sharedBytes: queryTiling.sharedBytes(headDim: headDim),
                          [pdo, pq, pk, pv, pl, pd, starts, pdq] + sizes)
    }

    /// Bad `slots` or `lengths` entries are found on the device and thrown by the next
    /// synchronising call (as the CPU backend's message); their rows are written as zeros.
    public func attentionDecode(q: Tensor, kCache: Tensor, vCache: Tensor, slots: Tensor, lengths: Tensor,
                                scale: Float, into out: Tensor) throws {
        try attentionDecode(q: q, kCache: kCache, vCache: vCache, slots: slots, lengths: lengths, scale: scale, into: out, splits: nil)
    }

    /// attentionDecode with the cache positions split over `splits` blocks per (row, head)
    /// (nil: `decodeSplits`), their results merged by a second kernel when there are several.
    func attentionDecode(q: Tensor, kCache: Tensor, vCache: Tensor, slots: Tensor, lengths: Tensor,
                         scale: Float, into out: Tensor, splits requested: Int?) throws {
        let op = "attentionDecode"
        let (tokens, heads, kvHeads, headDim, slotCount, capacity) =
            try OperandChecks.decodeShape(q: q, kCache: kCache, vCache: vCache, slots: slots, lengths: lengths, out: out)
        let (ps, pl) = (try i32(slots, op: op, "slots"), try i32(lengths, op: op, "lengths"))
        let (pq, pk, pv, po) = (try f32(q, op: op, "q"), try f32(kCache, op: op, "kCache"), try f32(vCache, op: op, "vCache"),
                                try f32(out, op: op, "out"))
        guard headDim <= AttentionTiling.maxHeadDim else {
            throw TensorError.shapeMismatch(op: op, argument: "q", expected: "head dim at most \(AttentionTiling.maxHeadDim) on the GPU",
                                            got: q.shape)
        }
        let error = try errorArgument(op: op, Check(argument: "slots", expected: "0..<\(slotCount)", shape: kCache.shape),
                                      Check(argument: "lengths", expected: "1...\(capacity)", shape: kCache.shape))
        guard tokens > 0, heads > 0 else { return }

        let splits = max(1, min(requested ?? Self.decodeSplits(rows: tokens * heads, capacity: capacity,
                                                                                  multiprocessors: device.multiprocessorCount), max(capacity, 1), 65535))
        // Whole tiles of 32 positions per split (the last splits may get none: they report an empty softmax).
        let chunk = splits == 1 ? capacity : ((capacity + splits - 1) / splits + 31) / 32 * 32
        let partial = splits > 1 ? try empty([tokens * heads * splits * (headDim + 2)], dtype: .f32) : nil
        let pp = KernelArgument.pointer(try partial.map(address) ?? 0)
        let keysAddress = try address(kCache)
        let vectorKeys = headDim % 4 == 0 && keysAddress % 16 == 0
        let padded = (headDim + 3) / 4 * 4
        try device.launch("tailor_attention_decode_f32", grid: LaunchSize(tokens, heads, splits), block: LaunchSize(AttentionTiling.threads),
                          sharedBytes: 4 * ((AttentionTiling.warps + 1) * padded + 2 * AttentionTiling.warps), [
                              pq, pk, pv, ps, pl, po, pp, .int32(Int32(heads)), .int32(Int32(kvHeads)), .int32(Int32(headDim)),  // allowed: CUDA launch sizes and tensor counts of tensors allocated on the device, each far below 2^31; CUDA driver values widen
                              .int32(Int32(slotCount)), .int32(Int32(capacity)), .int32(Int32(chunk)), .int32(vectorKeys ? 1 : 0),  // allowed: CUDA launch sizes and tensor counts of tensors allocated on the device, each far below 2^31; CUDA driver values widen
                              .float(scale), error,
                          ])
        if splits > 1 {
            try device.launch("tailor_attention_decode_combine_f32", grid: LaunchSize(tokens * heads), block: LaunchSize(Self.rowBlock(min(headDim, 128))),
                              sharedBytes: 0, [pp, po, .int32(Int32(headDim)), .int32(Int32(splits))])  // allowed: CUDA launch sizes and tensor counts of tensors allocated on the device, each far below 2^31; CUDA driver values widen
        }
    }

    /// Splits of the cache positions per (row, head): enough blocks for about two waves over the
    /// GPU's multiprocessors, with at least 128 positions (a tile per warp) per split.
    static func decodeSplits(rows: Int, capacity: Int, multiprocessors: Int) -> Int {
        let wanted = (2 * max(multiprocessors, 1) + rows - 1) / max(rows, 1)
        return max(1, min(wanted, (capacity + 127) / 128, 64))
    }

    static func attentionTiling(_ kernel: AttentionTiling.Kernel, headDim: Int, op: String, q: Tensor) throws -> AttentionTiling {
        guard let tiling = AttentionTiling.tiling(kernel, headDim: headDim) else {
            throw TensorError.shapeMismatch(op: op, argument: "q", expected: "head dim at most \(AttentionTiling.maxHeadDim) on the GPU",
                                            got: q.shape)
        }
        return tiling
    }
}
