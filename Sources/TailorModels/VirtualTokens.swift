import TailorTensor

/// P virtual tokens that the model puts before every sequence (peft's prompt learning): sequence s
/// of a batch runs as [v₀ … v_{P−1}, s₀ … s_{n−1}] with positions 0 ..< P + n and no label on the
/// virtual tokens, so attention, masking, packing (each packed sequence gets them) and the KV cache
/// take them like any other token. What they carry is one of:
/// - `embeddings` [P, C] (prompt tuning, P-tuning): the virtual tokens' input embeddings;
/// - `prefix` (prefix tuning): per layer, keys and values [P, Hkv·D] that replace the virtual
///   tokens' own after the rotary embedding, so they enter attention (and the cache) as peft puts
///   `past_key_values` there: unrotated, un-normed. The virtual tokens' hidden states then reach
///   nothing, and their input embedding is embed_tokens' row 0.
///
/// Inside the model a virtual token i has the id `vocabSize + i`. Callers never see those ids:
/// batches and decode steps are given and answered without them.
public final class VirtualTokens: @unchecked Sendable {
    /// One layer's prefix: keys and values [P, Hkv·D] each.
    public struct LayerPrefix: @unchecked Sendable {
        public let key: Tensor
        public let value: Tensor

        public init(key: Tensor, value: Tensor) {
            self.key = key
            self.value = value
        }
    }

    /// P.
    public let count: Int
    /// [P, C]: the virtual tokens' input embeddings; nil for a prefix.
    public let embeddings: Tensor?
    /// One prefix per layer, in layer order; nil for embeddings.
    public let prefix: [LayerPrefix]?

    /// The name of `embeddings`' gradient in a `GradientStore` (peft's saved tensor name).
    public static let gradientName = "prompt_embeddings"

    /// The names of layer `layer`'s prefix gradients in a `GradientStore`.
    public static func prefixGradientNames(layer: Int) -> (key: String, value: String) {
        ("prefix.layers.\(layer).key", "prefix.layers.\(layer).value")
    }

    /// Prompt tuning's virtual tokens: input embeddings [P, C].
    public init(embeddings: Tensor) {
        precondition(embeddings.rank == 2 && embeddings.rowCount > 0, "virtual tokens' embeddings are a [P, C] table")
        count = embeddings.rowCount
        self.embeddings = embeddings
        prefix = nil
    }

    /// Prefix tuning's virtual tokens: per layer, keys and values [P, Hkv·D].
    public init(prefix: [LayerPrefix]) {
        let count = prefix.first?.key.rowCount ?? 0
        precondition(count > 0 && prefix.allSatisfy { $0.key.rank == 2 && $0.key.shape == $0.value.shape && $0.key.rowCount == count },
                     "a prefix is [P, Hkv·D] keys and values per layer")
        self.count = count
        embeddings = nil
        self.prefix = prefix
    }
}

/// Where a batch's virtual tokens are: rows `rows` of the flattened batch take rows `first ..<
/// first + rows.count` of the table.
struct VirtualRun: Equatable {
    let rows: Range<Int>
    let first: Int
}

extension TokenBatch {
    /// This batch with `count` virtual tokens (ids `firstId ..< firstId + count`, label -100) put
    /// before each sequence; the sequence's own positions move up by `count`.
    public func prependingVirtualTokens(count: Int, firstId: Int32) throws -> TokenBatch {
        guard count > 0 else { return self }
        let virtualIds = (0..<count).map { firstId + Int32($0) }  // allowed: P is below the context length, checked where the table is made
        let virtualPositions = (0..<count).map { Int32($0) }     // allowed: as above
        var ids: [Int32] = [], labels: [Int32] = [], positions: [Int32] = [], starts: [Int32] = []
        ids.reserveCapacity(tokenCount + count * sequenceCount)
        for t in 0..<tokenCount {
            if Int(seqStart[t]) == t {  // allowed: Int32 widens
                let start = Int32(ids.count)  // allowed: a batch's token count: Int32 ids held in memory, far below 2^31 tokens (8 GiB)
                ids += virtualIds
                labels += [Int32](repeating: -100, count: count)
                positions += virtualPositions
                starts += [Int32](repeating: start, count: count)
            }
            ids.append(inputIds[t])
            labels.append(self.labels[t])
            positions.append(self.positions[t] + Int32(count))  // allowed: as above
            starts.append(starts.last ?? 0)
        }
        var result = try TokenBatch(inputIds: ids, labels: labels, positions: positions, seqStart: starts)
        result.sequenceTags = sequenceTags
        return result
    }
}

extension CausalLM {
    /// The batch the layers run: `batch` itself, or with the virtual tokens put before each sequence.
    /// - Throws: `ModelError.badBatch` for a caller's id outside the vocabulary (the ids above it are the virtual tokens' own).
    func withVirtualTokens(_ batch: TokenBatch) throws -> TokenBatch {
        guard let virtualTokens else { return batch }
        try checkVocabulary(batch.inputIds)
        return try batch.prependingVirtualTokens(count: virtualTokens.count, firstId: Int32(config.vocabSize))  // allowed: vocab_size is checked to fit Int32 when config.json is read
    }

    /// Throws `ModelError.badBatch` naming the first of `ids` outside 0 ..< vocab_size.
    func checkVocabulary(_ ids: [Int32]) throws {
        if let (t, id) = ids.enumerated().first(where: { $0.element < 0 || Int($0.element) >= config.vocabSize }) {  // allowed: Int32 widens
            throw ModelError.badBatch("token \(t) has id \(id), outside the vocabulary 0..<\(config.vocabSize)")
        }
    }

    /// Checks `ids` against the vocabulary (and the virtual tokens' ids above it) and returns them
    /// as embed_tokens reads them (a virtual token reads row 0, then is overwritten) with the runs
    /// of virtual tokens.
    func embeddingIds(_ ids: [Int32]) throws -> (ids: [Int32], virtual: [VirtualRun]) {
        let vocab = config.vocabSize, virtualCount = virtualTokens?.count ?? 0
        var runs: [VirtualRun] = []
        var sanitized = ids
        for (t, id) in ids.enumerated() {
            let value = Int(id)  // allowed: Int32 widens
            if value >= 0 && value < vocab { continue }
            guard value >= vocab && value < vocab + virtualCount else {
                throw ModelError.badBatch("token \(t) has id \(id), outside the vocabulary 0..<\(vocab)")
            }
            sanitized[t] = 0
            let index = value - vocab
            if let last = runs.last, last.rows.upperBound == t, last.first + last.rows.count == index {
                runs[runs.count - 1] = VirtualRun(rows: last.rows.lowerBound..<(t + 1), first: last.first)
            } else {
                runs.append(VirtualRun(rows: t..<(t + 1), first: index))
            }
        }
        return (sanitized, runs)
    }

    /// Embeds `ids` [N] (as `embeddingIds` returned them, on the device) into `x` [N, C], then puts
    /// the virtual tokens' rows of the table in place.
    func embed(ids: Tensor, virtual: [VirtualRun], into x: Tensor) throws {
        try backend.embeddingForward(ids: ids, table: embedTokens, into: x)
        guard let table = virtualTokens?.embeddings, !virtual.isEmpty else { return }
        for run in virtual {
            try backend.copy(table.rows(run.first..<(run.first + run.rows.count)), into: x.rows(run.rows))
        }
    }

    /// Accumulates ∂L/∂table from `dX` [N, C] (∂L/∂ the embedding output) when the store holds
    /// the table's gradient.
    func virtualTokensBackward(_ virtual: [VirtualRun], dX: Tensor, gradients: GradientStore) throws {
        guard let dTable = gradients[VirtualTokens.gradientName] else { return }
        for run in virtual {
            try backend.axpy(1, dX.rows(run.rows), dTable.rows(run.first..<(run.first + run.rows.count)))
        }
    }
}

extension CausalLM {
    /// Puts layer `layer`'s prefix keys and values into the virtual tokens' rows of `k` and `v`
    /// [N, Hkv, D] (after the rotary embedding; nothing without a prefix).
    func placePrefix(layer: Int, virtual: [VirtualRun], k: Tensor, v: Tensor) throws {
        guard let prefix = virtualTokens?.prefix?[layer], !virtual.isEmpty else { return }
        let n = k.shape[0], kvDim = config.kvDim
        let kRows = k.reshaped([n, kvDim]), vRows = v.reshaped([n, kvDim])
        for run in virtual {
            let source = run.first..<(run.first + run.rows.count)
            try backend.copy(prefix.key.rows(source), into: kRows.rows(run.rows))
            try backend.copy(prefix.value.rows(source), into: vRows.rows(run.rows))
        }
    }

    /// Accumulates layer `layer`'s prefix gradients from the virtual tokens' rows of `dk` and `dv`
    /// [N, Hkv, D] (∂L/∂ the keys and values attention read, before the inverse rotary embedding)
    /// when the store holds them, and zeroes those rows: the virtual tokens' own projections reach nothing.
    func prefixBackward(layer: Int, virtual: [VirtualRun], dk: Tensor, dv: Tensor, gradients: GradientStore) throws {
        guard virtualTokens?.prefix != nil, !virtual.isEmpty else { return }
        let names = VirtualTokens.prefixGradientNames(layer: layer)
        let n = dk.shape[0], kvDim = config.kvDim
        let dkRows = dk.reshaped([n, kvDim]), dvRows = dv.reshaped([n, kvDim])
        for run in virtual {
            let target = run.first..<(run.first + run.rows.count)
            if let dKey = gradients[names.key] { try backend.axpy(1, dkRows.rows(run.rows), dKey.rows(target)) }
            if let dValue = gradients[names.value] { try backend.axpy(1, dvRows.rows(run.rows), dValue.rows(target)) }
            try backend.fill(dkRows.rows(run.rows), value: 0)
            try backend.fill(dvRows.rows(run.rows), value: 0)
        }
    }
}
