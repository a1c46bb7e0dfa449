/// A training or scoring batch, flattened: rows are laid end to end into N tokens, and each row
/// may pack several sequences. No padding is needed; attention stays inside each sequence and
/// positions restart at 0 for each one.
public struct TokenBatch: Sendable, Equatable {
    /// Token ids [N].
    public let inputIds: [Int32]
    /// Labels [N], unshifted as in transformers (-100 = not trained on); position t is trained
    /// to predict labels[t + 1] of the same sequence.
    public let labels: [Int32]
    /// Position ids [N], restarting at 0 for each sequence.
    public let positions: [Int32]
    /// Index of the first token of each token's sequence [N].
    public let seqStart: [Int32]
    /// Markers an objective gives its sequences (e.g. KTO's desirable / undesirable / KL), one per
    /// sequence, or empty; the model never reads them.
    public var sequenceTags: [Int] = []

    public var tokenCount: Int { inputIds.count }

    /// A batch from sequences given as (ids, labels) pairs, laid end to end.
    public init(sequences: [(ids: [Int32], labels: [Int32])]) throws {
        var ids: [Int32] = [], labels: [Int32] = [], positions: [Int32] = [], starts: [Int32] = []
        for (index, sequence) in sequences.enumerated() {
            guard !sequence.ids.isEmpty else { throw ModelError.badBatch("sequence \(index) is empty") }
            guard sequence.labels.count == sequence.ids.count else {
                throw ModelError.badBatch("sequence \(index) has \(sequence.ids.count) ids but \(sequence.labels.count) labels")
            }
            let start = Int32(ids.count)  // allowed: a batch's token count: Int32 ids held in memory, far below 2^31 tokens (8 GiB)
            ids += sequence.ids
            labels += sequence.labels
            positions += (0..<Int32(sequence.ids.count)).map { $0 }  // allowed: a batch's token count: Int32 ids held in memory, far below 2^31 tokens (8 GiB)
            starts += Array(repeating: start, count: sequence.ids.count)
        }
        try self.init(inputIds: ids, labels: labels, positions: positions, seqStart: starts)
    }

    /// A batch from explicit arrays; checks that they agree.
    public init(inputIds: [Int32], labels: [Int32], positions: [Int32], seqStart: [Int32]) throws {
        let n = inputIds.count
        guard n > 0 else { throw ModelError.badBatch("no tokens") }
        guard labels.count == n, positions.count == n, seqStart.count == n else {
            throw ModelError.badBatch("inputIds (\(n)), labels (\(labels.count)), positions (\(positions.count)) and seqStart (\(seqStart.count)) differ in length")
        }
        for t in 0..<n {
            let s = Int(seqStart[t])  // allowed: Int32 widens
            let continues = t > 0 && s == Int(seqStart[t - 1]) && s < t  // allowed: Int32 widens
            guard s == t || continues else {
                throw ModelError.badBatch("seqStart[\(t)] = \(s): each token must start a sequence (\(t)) or continue the previous token's")
            }
            guard positions[t] >= 0 else { throw ModelError.badBatch("positions[\(t)] = \(positions[t]) is negative") }
        }
        self.inputIds = inputIds
        self.labels = labels
        self.positions = positions
        self.seqStart = seqStart
    }

    /// The sequence of each token [N], numbered from 0 in batch order (a new one starts at every
    /// token whose seqStart is itself).
    public var sequenceIndices: [Int] {
        var sequence = -1
        return (0..<tokenCount).map { t in
            if Int(seqStart[t]) == t { sequence += 1 }  // allowed: Int32 widens
            return sequence
        }
    }

    /// Sequences in the batch.
    public var sequenceCount: Int { (0..<tokenCount).reduce(0) { $0 + (Int(seqStart[$1]) == $1 ? 1 : 0) } }  // allowed: Int32 widens

    /// What each position predicts: labels[t + 1] when t + 1 is in the same sequence, else -100.
    public var shiftedTargets: [Int32] {
        (0..<tokenCount).map { t in
            t + 1 < tokenCount && seqStart[t + 1] == seqStart[t] ? labels[t + 1] : -100
        }
    }
}
