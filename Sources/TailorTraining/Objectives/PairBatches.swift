import TailorModels

/// The micro-batch layout every pairwise preference objective shares: the P chosen sequences, then
/// the P rejected ones, pair i being sequences i and P + i (TRL's concatenated forward).
enum PairBatches {
    /// Rows of (chosen, rejected) as one batch: every chosen sequence first.
    /// - Throws: `TrainingError.internalError` for a row that is not one pair.
    static func batch(_ rows: [TrainingRow]) throws -> TokenBatch {
        guard rows.allSatisfy({ $0.samples.count == 2 }) else {
            throw TrainingError.internalError("a preference micro-batch needs rows of two samples (chosen, rejected)")
        }
        let ordered = rows.map { $0.samples[0] } + rows.map { $0.samples[1] }
        return try TokenBatch(sequences: ordered.map { ($0.ids, $0.labels) })
    }

    /// The step's micro-batch count, which a pairwise loss (a mean per micro-batch, as Trainer
    /// averages a loss that does not count its items) is divided by under gradient accumulation.
    /// - Throws: `TrainingError.unusableData` for a micro-batch that is not whole pairs.
    static func normalizer(of microBatches: [TokenBatch], step: Int) throws -> Double {
        for (index, batch) in microBatches.enumerated() {
            let sequences = batch.sequenceCount
            guard sequences >= 2, sequences % 2 == 0 else {
                throw TrainingError.unusableData("step \(step), micro-batch \(index + 1): \(sequences) sequences; a preference batch holds chosen then rejected replies, two per pair")
            }
        }
        guard !microBatches.isEmpty else { throw TrainingError.unusableData("step \(step) has no micro-batches") }
        return Double(microBatches.count)
    }
}
