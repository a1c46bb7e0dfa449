import TailorTensor

/// The cached forward used for generation: no activations are kept, keys and values go into a
/// `KVCache`, and logits are computed only for the rows asked for.
///
/// Shapes legend: N tokens in the step, R rows whose logits are wanted, C hidden size,
/// I intermediate size, V vocabulary, Hq/Hkv query/key-value heads, D head dim,
/// S cache slots, L cache capacity.
extension CausalLM {
    /// Appends tokens to the cache and returns the logits of some of them.
    ///
    /// Token n goes to cache slot `slots[n]` at that slot's next free position (tokens of one
    /// slot in order), and attends to everything stored in its slot up to itself. A prefill
    /// passes a whole prompt (or several prompts, one slot each); a decode step passes one token
    /// per active sequence.
    ///
    /// - Parameters:
    ///   - ids: token ids [N].
    ///   - slots: the cache slot of each token [N].
    ///   - logitRows: indices into `ids` whose logits are returned, in this order [R].
    /// - Returns: logits [R, V] (f32), in the cache's logits buffer: valid until the next `decode` on `cache`
    ///   (read them, e.g. `download`, before the next step).
    /// - Throws: `ModelError.badBatch` for an id outside the vocabulary, a slot outside the
    ///   cache, or a slot that would exceed the cache's capacity.
    ///
    /// With `virtualTokens`, a slot that starts in this step (empty in the cache) takes the virtual
    /// tokens before its first token: they fill its first P positions; `ids` and `logitRows` never
    /// name them.
    public func decode(ids: [Int32], slots: [Int], logitRows: [Int], cache: KVCache) throws -> Tensor {
        guard let virtualTokens else { return try decodeStep(ids: ids, slots: slots, logitRows: logitRows, cache: cache) }
        guard slots.count == ids.count else {
            throw ModelError.badBatch("decode needs one slot per token (got \(ids.count) ids and \(slots.count) slots)")
        }
        for row in logitRows where row < 0 || row >= ids.count {
            throw ModelError.badBatch("logit row \(row) is outside the step's \(ids.count) tokens")
        }
        try checkVocabulary(ids)
        let virtualIds = (0..<virtualTokens.count).map { Int32(config.vocabSize + $0) }  // allowed: vocab_size + P fits Int32 (vocab_size is checked to when config.json is read; P is below the context)
        var expandedIds: [Int32] = [], expandedSlots: [Int] = [], rowOf: [Int] = []
        var started = Set<Int>()
        for (t, slot) in slots.enumerated() {
            if cache.lengths.indices.contains(slot), cache.lengths[slot] == 0, started.insert(slot).inserted {
                expandedIds += virtualIds
                expandedSlots += [Int](repeating: slot, count: virtualIds.count)
            }
            rowOf.append(expandedIds.count)
            expandedIds.append(ids[t])
            expandedSlots.append(slot)
        }
        return try decodeStep(ids: expandedIds, slots: expandedSlots, logitRows: logitRows.map { rowOf[$0] }, cache: cache)
    }

    /// `decode` of ids that may name virtual tokens.
    private func decodeStep(ids: [Int32], slots: [Int], logitRows: [Int], cache: KVCache) throws -> Tensor {
        let c = config
        let n = ids.count
        guard n > 0, slots.count == n else {
            throw ModelError.badBatch("decode needs one slot per token (got \(n) ids and \(slots.count) slots)")
        }
        let (embeddingIds, virtual) = try embeddingIds(ids)
        guard logitRows.count <= n else {
            throw ModelError.badBatch("\(logitRows.count) logit rows asked for a step of \(n) tokens")
        }
        for row in logitRows where row < 0 || row >= n {
            throw ModelError.badBatch("logit row \(row) is outside the step's \(n) tokens")
        }
        // Positions: each slot continues from its stored length.
        var next = cache.lengths
        var positions = [Int32](repeating: 0, count: n)
        for (t, slot) in slots.enumerated() {
            guard slot >= 0 && slot < cache.slotCount else {
                throw ModelError.badBatch("token \(t) names cache slot \(slot), outside 0..<\(cache.slotCount)")
            }
            guard next[slot] < cache.capacity else {
                throw ModelError.badBatch("cache slot \(slot) is full (\(cache.capacity) positions); allocate the cache for the prompt plus max_new_tokens")
            }
            positions[t] = Int32(next[slot])  // allowed: Int32 ids and positions widen to Int; slot and row indices and positions are below the KV cache capacity (max_position_embeddings, checked to fit Int32 in the batch)
            next[slot] += 1
        }
        let maxPosition = Int(positions.max() ?? 0)  // allowed: Int32 ids and positions widen to Int; slot and row indices and positions are below the KV cache capacity (max_position_embeddings, checked to fit Int32 in the batch)
        if let window = c.slidingWindow, maxPosition >= window {
            throw ModelError.badBatch("position \(maxPosition) exceeds sliding_window \(window), which Tailor does not implement; keep prompt plus new tokens within \(window)")
        }
        // A batch-invariant backend reads the cache for fresh prompts too: the packed causal attention's
        // blocking follows the prompt length, and a reused prefix or a chunk would read the cache.
        let fresh = !backend.batchInvariant && Self.isFreshPrefill(slots: slots, lengths: cache.lengths)
        let (cos, sin) = try rope(positions: maxPosition + 1)
        let b = try cache.buffers(tokens: n, config: c, backend: backend)
        let idsTensor = try backend.upload(embeddingIds, shape: [n])    // [N]
        let positionsTensor = try backend.upload(positions, shape: [n]) // [N]
        // Fresh prompts run the packed causal attention; later steps read the cache.
        let seqStart: Tensor? = fresh ? try backend.upload(Self.sequenceStarts(slots), shape: [n]) : nil
        let slotsTensor = try backend.upload(slots.map { Int32($0) }, shape: [n])    // [N]  // allowed: Int32 ids and positions widen to Int; slot and row indices and positions are below the KV cache capacity (max_position_embeddings, checked to fit Int32 in the batch)
        let lengthsTensor = try backend.upload(positions.map { $0 + 1 }, shape: [n]) // [N]
        let runs = Self.runs(slots: slots, positions: positions)

        try embed(ids: idsTensor, virtual: virtual, into: b.x)
        // In the last layer only the rows whose logits are wanted go on past their keys and
        // values (a prefill wants one row of its whole prompt): they attend to the cache.
        let r = logitRows.count
        let narrowLast = logitRows != Array(0..<n)
        var out = b   // the buffers the layers finish in: the narrowed rows' in the last layer
        // Each layer's last residual add computes the norm after it: b.normed holds the input norm.
        try backend.rmsNormForward(b.x, weight: layers[0].inputNorm, eps: c.rmsNormEps, into: b.normed, rstd: b.rstd)
        for (index, layer) in layers.enumerated() {
            try storeKeysValues(layer: layer, index: index, buffers: b, positions: positionsTensor, runs: runs,
                                virtual: virtual, cos: cos, sin: sin, cache: cache)
            if narrowLast && index == layers.count - 1 {
                guard r > 0 else { break }
                let rowIndices = try backend.upload(logitRows.map { Int32($0) }, shape: [r])  // [R]  // allowed: Int32 ids and positions widen to Int; slot and row indices and positions are below the KV cache capacity (max_position_embeddings, checked to fit Int32 in the batch)
                let xRows = try backend.empty([r, c.hiddenSize], dtype: .f32)                 // [R, C]
                let normedRows = try backend.empty([r, c.hiddenSize], dtype: .f32)            // [R, C]
                try backend.gatherRows(b.x, indices: rowIndices, into: xRows)
                try backend.gatherRows(b.normed, indices: rowIndices, into: normedRows)
                out = b.prefix(r)
                try backend.copy(xRows, into: out.x)
                try backend.copy(normedRows, into: out.normed)
                let rowPositions = logitRows.map { positions[$0] }
                try projectQueries(layer: layer, buffers: out, positions: try backend.upload(rowPositions, shape: [r]),
                                   cos: cos, sin: sin)
                try backend.attentionDecode(q: out.q, kCache: cache.keys[index], vCache: cache.values[index],
                                            slots: try backend.upload(logitRows.map { Int32(slots[$0]) }, shape: [r]),  // allowed: Int32 ids and positions widen to Int; slot and row indices and positions are below the KV cache capacity (max_position_embeddings, checked to fit Int32 in the batch)
                                            lengths: try backend.upload(rowPositions.map { $0 + 1 }, shape: [r]),
                                            scale: attentionScale, into: out.attention)
            } else {
                try projectQueries(layer: layer, buffers: b, positions: positionsTensor, cos: cos, sin: sin)
                if let seqStart {
                    try backend.attentionForward(q: b.q, k: b.k, v: b.v, seqStart: seqStart, scale: attentionScale,
                                                 into: b.attention, lse: b.lse)
                } else {
                    try backend.attentionDecode(q: b.q, kCache: cache.keys[index], vCache: cache.values[index], slots: slotsTensor,
                                                lengths: lengthsTensor, scale: attentionScale, into: b.attention)
                }
            }
            try finishLayer(layer, buffers: out, nextNorm: index + 1 < layers.count ? layers[index + 1].inputNorm : finalNorm)
        }
        cache.lengths = next
        // The output layer on the requested rows only (narrowed above; the last layer normed them).
        guard r > 0 else { return try backend.empty([0, c.vocabSize], dtype: .f32) }
        let logits = try cache.logits(rows: r, vocab: c.vocabSize, backend: backend)   // [R, V]
        try lmHead.forward(out.normed.rows(0..<r), into: logits, backend: backend)
        return logits
    }

    /// Keys and values of every row of `b.normed` (the layer's normed input): projected,
    /// k-normed (Qwen3), rotated (a prefix's virtual tokens' replaced), and stored in the layer's cache, one copy per run of
    /// consecutive positions of one slot.
    private func storeKeysValues(layer: DecoderLayer, index: Int, buffers b: DecodeBuffers, positions: Tensor,
                                 runs: [(slot: Int, position: Int, tokens: Range<Int>)], virtual: [VirtualRun], cos: Tensor, sin: Tensor,
                                 cache: KVCache) throws {
        let c = config, n = b.tokens
        let kTarget = b.kPre ?? b.k
        try layer.kProj.forward(b.normed, into: kTarget.reshaped([n, c.kvDim]), backend: backend)
        try layer.vProj.forward(b.normed, into: b.v.reshaped([n, c.kvDim]), backend: backend)
        if let kNorm = layer.kNorm, let kPre = b.kPre, let rstd = b.headRstd {
            try backend.rmsNormForward(kPre.reshaped([n * c.kvHeadCount, c.headDim]), weight: kNorm, eps: c.rmsNormEps,
                                       into: b.k.reshaped([n * c.kvHeadCount, c.headDim]),
                                       rstd: rstd.rows(0..<(n * c.kvHeadCount)))
        }
        try backend.rope(b.k, positions: positions, cos: cos, sin: sin, inverse: false)
        try placePrefix(layer: index, virtual: virtual, k: b.k, v: b.v)
        let keyRows = cache.keys[index].reshaped([cache.slotCount * cache.capacity, c.kvDim])   // [S·L, Hkv·D]
        let valueRows = cache.values[index].reshaped([cache.slotCount * cache.capacity, c.kvDim]) // [S·L, Hkv·D]
        let kFlat = b.k.reshaped([n, c.kvDim]), vFlat = b.v.reshaped([n, c.kvDim])
        for run in runs {
            let destination = (run.slot * cache.capacity + run.position)..<(run.slot * cache.capacity + run.position + run.tokens.count)
            try backend.copy(kFlat.rows(run.tokens), into: keyRows.rows(destination))
            try backend.copy(vFlat.rows(run.tokens), into: valueRows.rows(destination))
        }
    }

    /// Queries of every row of `b.normed`: projected, q-normed (Qwen3) and rotated into `b.q`.
    /// positions [N].
    private func projectQueries(layer: DecoderLayer, buffers b: DecodeBuffers, positions: Tensor,
                                cos: Tensor, sin: Tensor) throws {
        let c = config, n = b.tokens
        try layer.qProj.forward(b.normed, into: (b.qPre ?? b.q).reshaped([n, c.qDim]), backend: backend)
        if let qNorm = layer.qNorm, let qPre = b.qPre, let rstd = b.headRstd {
            try backend.rmsNormForward(qPre.reshaped([n * c.headCount, c.headDim]), weight: qNorm, eps: c.rmsNormEps,
                                       into: b.q.reshaped([n * c.headCount, c.headDim]), rstd: rstd)
        }
        try backend.rope(b.q, positions: positions, cos: cos, sin: sin, inverse: false)
    }

    /// The rest of a layer once `b.attention` holds its attention output: output projection and
    /// residual, then the MLP block and residual, on `b.x`; leaves rmsnorm(b.x) under `nextNorm`
    /// (the next layer's input norm, or the final norm) in `b.normed`.
    private func finishLayer(_ layer: DecoderLayer, buffers b: DecodeBuffers, nextNorm: Tensor) throws {
        let c = config, n = b.tokens
        try layer.oProj.forward(b.attention.reshaped([n, c.qDim]), into: b.projection, backend: backend)
        try backend.addRMSNormForward(b.x, b.projection, weight: layer.postAttentionNorm, eps: c.rmsNormEps,
                                      sum: b.x, into: b.normed, rstd: b.rstd)
        try layer.gateProj.forward(b.normed, into: b.gate, backend: backend)
        try layer.upProj.forward(b.normed, into: b.up, backend: backend)
        try backend.swigluForward(gate: b.gate, up: b.up, into: b.activation)
        try layer.downProj.forward(b.activation, into: b.projection, backend: backend)
        try backend.addRMSNormForward(b.x, b.projection, weight: nextNorm, eps: c.rmsNormEps, sum: b.x, into: b.normed, rstd: b.rstd)
    }

    /// Whether every slot in the step starts empty and its tokens are one contiguous run.
    static func isFreshPrefill(slots: [Int], lengths: [Int]) -> Bool {
        var seen = Set<Int>()
        var previous: Int?
        for slot in slots {
            if slot != previous {
                guard lengths[slot] == 0, !seen.contains(slot) else { return false }
                seen.insert(slot)
                previous = slot
            }
        }
        return true
    }

    /// seqStart [N] for runs of equal slots.
    static func sequenceStarts(_ slots: [Int]) -> [Int32] {
        var starts = [Int32](repeating: 0, count: slots.count)
        for t in slots.indices { starts[t] = t > 0 && slots[t] == slots[t - 1] ? starts[t - 1] : Int32(t) }  // allowed: Int32 ids and positions widen to Int; slot and row indices and positions are below the KV cache capacity (max_position_embeddings, checked to fit Int32 in the batch)
        return starts
    }

    /// Maximal runs of tokens that go to consecutive positions of one slot.
    static func runs(slots: [Int], positions: [Int32]) -> [(slot: Int, position: Int, tokens: Range<Int>)] {
        var result: [(slot: Int, position: Int, tokens: Range<Int>)] = []
        var t = 0
        while t < slots.count {
            var end = t + 1
            while end < slots.count && slots[end] == slots[t] && positions[end] == positions[end - 1] + 1 { end += 1 }
            result.append((slots[t], Int(positions[t]), t..<end))  // allowed: Int32 ids and positions widen to Int; slot and row indices and positions are below the KV cache capacity (max_position_embeddings, checked to fit Int32 in the batch)
            t = end
        }
        return result
    }
}
