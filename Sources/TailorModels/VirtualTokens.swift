import TailorTensor

/// Learned embeddings of P virtual tokens that the model puts before every sequence (peft's prompt
/// tuning and P-tuning): sequence s of a batch runs as [v₀ … v_{P−1}, s₀ … s_{n−1}] with positions
/// 0 ..< P + n and no label on the virtual tokens, so attention, masking, packing (each packed
/// sequence gets them) and the KV cache take them like any other token.
///
/// Inside the model a virtual token i has the id `vocabSize + i`; only its embedding differs: the
/// row i of `table` instead of a row of embed_tokens. Callers never see those ids: batches and
/// decode steps are given and answered without them.
public final class VirtualTokens: @unchecked Sendable {
    /// [P, C]: the virtual tokens' input embeddings (trained as they are, or computed by a prompt encoder).
    public var table: Tensor

    /// The name of `table`'s gradient in a `GradientStore` (peft's saved tensor name).
    public static let gradientName = "prompt_embeddings"

    public init(table: Tensor) {
        precondition(table.rank == 2 && table.rowCount > 0, "virtual tokens are a [P, C] table")
        self.table = table
    }

    /// P.
    public var count: Int { table.rowCount }
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
    func withVirtualTokens(_ batch: TokenBatch) throws -> TokenBatch {
        guard let virtualTokens else { return batch }
        return try batch.prependingVirtualTokens(count: virtualTokens.count, firstId: Int32(config.vocabSize))  // allowed: vocab_size is checked to fit Int32 when config.json is read
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
        guard let table = virtualTokens?.table, !virtual.isEmpty else { return }
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
