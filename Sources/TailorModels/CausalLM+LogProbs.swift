import TailorTensor

/// The label log-probabilities of each sequence of a batch: what every training objective is a
/// function of (SFT: −Σ over all / label tokens; DPO, ORPO, SimPO, KTO: per-sequence sums).
public struct SequenceLogProbs: Sendable, Equatable {
    /// Σ log p(label) over each sequence's label tokens, in the batch's sequence order.
    public var sums: [Double]
    /// Label tokens of each sequence.
    public var counts: [Int]
    /// Each sequence's label log-probabilities, in position order (`counts[s]` of them; zeros where only the
    /// sums are known, as for a precomputed reference).
    public var tokens: [[Float]]
    /// Σ over each sequence's label positions of the mean logit over the vocabulary (what TRL's
    /// `logits/chosen` and `logits/rejected` average per token); zeros where unknown, as for a
    /// precomputed reference.
    public var logitSums: [Double]

    public init(sums: [Double], counts: [Int], tokens: [[Float]]? = nil, logitSums: [Double]? = nil) {
        self.sums = sums
        self.counts = counts
        self.tokens = tokens ?? counts.map { [Float](repeating: 0, count: $0) }
        self.logitSums = logitSums ?? [Double](repeating: 0, count: sums.count)
    }

    /// Each sequence's mean log-probability per label token (0 for a sequence without labels).
    public var means: [Double] { zip(sums, counts).map { $1 > 0 ? $0 / Double($1) : 0 } }
}

/// What `labelLogProbs` keeps for the backward: the batch (checked against the one given back),
/// its device copy, and where each sequence's labeled rows are.
struct PendingLogProbs {
    let batch: TokenBatch
    let device: DeviceBatch
    let targets: [Int32]
    /// Token positions with a label, in order.
    let labeled: [Int]
    /// For each sequence, the range of `labeled` indices that are its rows (contiguous: a
    /// sequence's tokens are contiguous in the batch).
    let sequenceRows: [Range<Int>]
}

extension CausalLM {
    /// Forward through the model and the per-sequence sums of label log-probabilities; the
    /// activations stay in the workspace for `backwardLabelLogProbs(_:weights:gradients:)`, which
    /// must come next for the gradient (any other forward in between discards them).
    /// Logits are computed only at label positions, `lossChunkRows` rows at a time.
    public func labelLogProbs(_ batch: TokenBatch) throws -> SequenceLogProbs {
        let (targets, labeled, device, ws, expanded) = try forwardToFinalNorm(batch)
        let sequenceOfToken = expanded.sequenceIndices                    // [N]
        let sequences = (sequenceOfToken.last ?? -1) + 1
        var rows = [Range<Int>](repeating: 0..<0, count: sequences)
        var counts = [Int](repeating: 0, count: sequences)
        for (index, t) in labeled.enumerated() {
            let s = sequenceOfToken[t]
            rows[s] = counts[s] == 0 ? index..<(index + 1) : rows[s].lowerBound..<(index + 1)
            counts[s] += 1
        }
        let meanLogits = try backend.empty([max(1, labeled.count), 1], dtype: .f32)            // [L, 1]
        let rowLosses = try chunkedCrossEntropy(hidden: ws.normed, labeled: labeled, targets: targets,  // [L] −log p
                                                scales: .uniform(0), dHidden: nil, gradients: GradientStore(),
                                                meanLogits: meanLogits)
        let rowMeans = labeled.isEmpty ? [] : try backend.download(meanLogits)                      // [L]
        let sums = rows.map { range in -range.reduce(0.0) { $0 + Double(rowLosses[$1]) } }
        let logitSums = rows.map { range in range.reduce(0.0) { $0 + Double(rowMeans[$1]) } }
        pendingLogProbs = PendingLogProbs(batch: batch, device: device, targets: targets, labeled: labeled, sequenceRows: rows)
        return SequenceLogProbs(sums: sums, counts: counts, tokens: rows.map { range in range.map { -rowLosses[$0] } },
                                logitSums: logitSums)
    }

    /// Accumulates into `gradients` the gradient of Σₛ weights[s] · logpₛ, where logpₛ is the
    /// sum `labelLogProbs(batch)` returned for sequence s: an objective's ∂loss/∂logpₛ per
    /// sequence. `batch` must be the batch of the `labelLogProbs` call just before.
    /// - Throws: `ModelError.badBatch` when no such forward is pending, the batch differs, or
    ///   `weights` does not have one value per sequence.
    public func backwardLabelLogProbs(_ batch: TokenBatch, weights: [Float], gradients: GradientStore) throws {
        guard let pending = pendingLogProbs, pending.batch == batch else {
            throw ModelError.badBatch("backwardLabelLogProbs needs labelLogProbs of the same batch just before it (no other forward in between)")
        }
        guard weights.count == pending.sequenceRows.count else {
            throw ModelError.badBatch("\(weights.count) weights for a batch of \(pending.sequenceRows.count) sequences")
        }
        try backwardLabelLogProbs(batch, tokenWeights: zip(weights, pending.sequenceRows).map { [Float](repeating: $0, count: $1.count) },
                                  gradients: gradients)
    }

    /// Accumulates into `gradients` the gradient of Σₛ Σₖ tokenWeights[s][k] · log p(label k of
    /// sequence s): per-token weights, for objectives whose terms weigh a sequence's tokens apart
    /// (ORPO's NLL over a whole chosen sequence beside its reply's mean). `tokenWeights[s]` has
    /// `counts[s]` entries, in the order `labelLogProbs(batch).tokens[s]` gave them.
    /// - Throws: `ModelError.badBatch` as the per-sequence form does, and for a count that differs.
    public func backwardLabelLogProbs(_ batch: TokenBatch, tokenWeights: [[Float]], gradients: GradientStore) throws {
        guard let pending = pendingLogProbs, pending.batch == batch else {
            throw ModelError.badBatch("backwardLabelLogProbs needs labelLogProbs of the same batch just before it (no other forward in between)")
        }
        guard tokenWeights.count == pending.sequenceRows.count,
              zip(tokenWeights, pending.sequenceRows).allSatisfy({ $0.count == $1.count }) else {
            throw ModelError.badBatch("the token weights do not have one value per label token of each of the batch's \(pending.sequenceRows.count) sequences")
        }
        pendingLogProbs = nil
        let ws = try workspace(tokens: pending.device.ids.count)  // the batch's tokens, virtual ones included
        guard !pending.labeled.isEmpty else { return }
        // Row r carries CE = −log p, so its gradient scale is minus its token's weight.
        var rowScales = [Float](repeating: 0, count: pending.labeled.count)
        for (s, range) in pending.sequenceRows.enumerated() {
            for (k, r) in range.enumerated() { rowScales[r] = -tokenWeights[s][k] }
        }
        try backend.fill(ws.dNormed, value: 0)
        _ = try chunkedCrossEntropy(hidden: ws.normed, labeled: pending.labeled, targets: pending.targets,
                                    scales: .perRow(rowScales), dHidden: ws.dNormed, gradients: gradients)
        try backwardFromFinalNorm(pending.device, ws, gradients: gradients)
    }
}
