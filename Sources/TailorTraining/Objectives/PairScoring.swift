import Foundation
import TailorData
import TailorMetrics
import TailorModels
import TailorTokenizers

/// Preference pairs scored under a model's adapters with the base model as the reference: the
/// numbers a DPO run reports on held-back pairs (TRL's `rewards/*` and `logps/*`), for an adapter
/// trained any way — by stage dpo, or by SFT on the chosen replies — so that two adapters are
/// compared on the same pairs against the same reference. `tailor eval --metrics rewards` runs it.
///
/// Rewards are β·(log πadapter(reply) − log πbase(reply)), summed over the reply's tokens, as
/// `DPOObjective` computes them (one source: its `evaluate`); the base's own log-probabilities are
/// computed once and looked up for every adapter.
public struct PairScoring: Sendable {
    /// One pair per row: prompt + chosen, then prompt + rejected.
    public let rows: [TrainingRow]
    /// What encoding dropped or changed (pairs over max_length, prompts not a token prefix, ...).
    public let warnings: [String]
    public var beta: Double
    /// Pairs per forward.
    public var batchSize: Int

    /// The columns `score` fills for an adapter (`tailor eval --metrics rewards`'s); the base fills the two `logps/` ones.
    public static let columns = EvalMetric.rewards.columns

    /// Reads the preference records of `paths` (TRL's prompt / chosen / rejected, LLaMA-Factory's
    /// `conversations` + `chosen` + `rejected`) and encodes them as stage dpo does: the chat
    /// template of `tokenizer` (or `options.template`), each pair fitted to `options.maxLength`
    /// with TRL's keep_start.
    /// - Throws: `DataError` naming the record that is not a pair, or that cannot be encoded;
    ///   `TrainingError.unusableData` when no pair is left.
    public init(paths: [String], options: DatasetOptions, tokenizer: PretrainedTokenizer?, maxSamples: Int? = nil,
                beta: Double = 0.1, batchSize: Int = 4) throws {
        var loaded = try DatasetEncoder.load(paths: paths, options: options)
        try DatasetEncoder.checkPairs(loaded)
        if let maxSamples {
            loaded.conversations = Array(loaded.conversations.prefix(maxSamples))
            loaded.tokenizedPairs = Array(loaded.tokenizedPairs.prefix(maxSamples))
        }
        let encoded = try DatasetEncoder(options: options, tokenizer: tokenizer).encodePairs(loaded, truncation: .right)
        guard !encoded.pairs.isEmpty else {
            throw TrainingError.unusableData("no preference pair of \(paths.joined(separator: ", ")) is left to score (every one was dropped; see the warnings)"
                + (encoded.issues.isEmpty ? "" : ": " + summarize(encoded.issues).joined(separator: "; ")))
        }
        rows = encoded.pairs.map { TrainingRow([TrainingSample($0.chosenSample), TrainingSample($0.rejectedSample)]) }
        warnings = summarize(encoded.issues)
        self.beta = beta
        self.batchSize = max(1, batchSize)
    }

    /// The pairs' label log-probabilities under `model` as it is now: call it with no adapter
    /// active, for the base model's.
    public func reference(model: CausalLM) throws -> ReferenceLogProbs {
        try ReferenceLogProbs.compute(rows: rows, objective: layout, model: model, batchSize: batchSize)
    }

    /// The base model's row: the mean over pairs of its chosen and rejected log-probabilities
    /// (its rewards against itself are 0 by definition, so they are left out).
    public func baseScores(_ reference: ReferenceLogProbs) throws -> [String: Double] {
        var chosen = 0.0, rejected = 0.0
        for row in rows {
            let values = try reference.lookup(try layout.batch([row]))
            chosen += values.sums[0]
            rejected += values.sums[1]
        }
        let pairs = Double(rows.count)
        return ["logps/chosen": chosen / pairs, "logps/rejected": rejected / pairs]
    }

    /// The mean over pairs of every column, for `model` with its active adapter against `reference`.
    public func score(model: CausalLM, reference: ReferenceLogProbs) throws -> [String: Double] {
        let objective = DPOObjective(beta: beta, lossType: .sigmoid, reference: reference.reference)
        var sums: [String: Double] = [:]
        var pairs = 0.0
        for start in stride(from: 0, to: rows.count, by: batchSize) {
            let share = try objective.evaluate(try objective.batch(Array(rows[start..<min(start + batchSize, rows.count)])), model: model)
            for column in Self.columns { sums[column, default: 0] += share.metrics[column] ?? 0 }
            pairs += share.weight
        }
        return sums.mapValues { $0 / pairs }
    }

    /// The batch layout (chosen sequences, then rejected) of the pairs; never asked for a reference.
    private var layout: DPOObjective {
        DPOObjective(beta: beta, lossType: .sigmoid) { _, _ in
            throw TrainingError.internalError("the layout objective has no reference")
        }
    }
}
