import Foundation
import TailorData
import TailorMetrics
import TailorModels

/// Perplexity over labeled tokens, as training scores them.
public struct Perplexity: Sendable, Equatable {
    /// Σ −log p over every labeled token.
    public var lossSum: Double
    public var labeledTokens: Int
    /// Each batch's mean loss (transformers Trainer averages these into eval_loss).
    public var batchMeans: [Double]

    /// The token-weighted mean loss.
    public var meanLoss: Double { labeledTokens > 0 ? lossSum / Double(labeledTokens) : .nan }
    /// exp of the token-weighted mean loss.
    public var ppl: Double { exp(meanLoss) }
    /// transformers Trainer's eval_loss: the mean of the per-batch means.
    public var trainerLoss: Double { batchMeans.isEmpty ? .nan : batchMeans.reduce(0, +) / Double(batchMeans.count) }
    /// exp of Trainer's eval_loss.
    public var trainerPpl: Double { exp(trainerLoss) }
}

/// One generated answer beside its prompt and reference, in LLaMA-Factory's
/// generated_predictions.jsonl shape (`prompt`, `predict`, `label`).
public struct Prediction: Sendable, Equatable {
    /// The rendered prompt text (the chat template's output, special tokens included).
    public var prompt: String
    public var predict: String
    public var label: String
    /// The last user turn (for reports; not written to generated_predictions.jsonl).
    public var question: String = ""
}

/// Runs the evaluation of one model (base or adapter, whichever `InferenceModel` has active).
public struct Evaluator {
    public let model: InferenceModel

    public init(model: InferenceModel) { self.model = model }

    /// Perplexity of `samples` in batches of `batchSize` (records with no labeled tokens are skipped,
    /// as the trainer's collator would give them no loss; a batch of only such records adds no mean).
    public func perplexity(_ samples: [EvalSample], batchSize: Int) throws -> Perplexity {
        let scored = samples.compactMap(\.encoded).filter { !$0.isFullyMasked }
        var result = Perplexity(lossSum: 0, labeledTokens: 0, batchMeans: [])
        for start in stride(from: 0, to: scored.count, by: max(batchSize, 1)) {
            let members = scored[start..<min(start + max(batchSize, 1), scored.count)]
            let loss = try model.model.loss(TokenBatch(sequences: members.map(\.sequence)))
            result.lossSum += loss.lossSum
            result.labeledTokens += loss.labelCount
            if loss.labelCount > 0 { result.batchMeans.append(loss.loss) }
        }
        return result
    }

    /// Answers to every sample's prompt, generated in batches through the chat template.
    public func predictions(_ samples: [EvalSample], parameters: GenerationParameters, batchSize: Int,
                            onBatch: (Int) -> Void = { _ in }) throws -> [Prediction] {
        var out: [Prediction] = []
        for start in stride(from: 0, to: samples.count, by: max(batchSize, 1)) {
            let batch = Array(samples[start..<min(start + max(batchSize, 1), samples.count)])
            let prompts = try batch.map { try model.chatPrompt($0.prompt) }
            let results = try model.generator.generate(prompts: prompts, parameters: parameters, adapter: .current)
            for (offset, result) in results.enumerated() {
                let question = batch[offset].prompt.last { $0.role == "user" }?.content.stringValue ?? ""
                out.append(Prediction(prompt: model.tokenizer.tokenizer.decode(prompts[offset]), predict: result.text,
                                      label: batch[offset].reference ?? "", question: question))
            }
            onBatch(out.count)
        }
        return out
    }

    /// The generation metrics of `predictions` (see `TextMetrics.score`).
    public static func score(_ predictions: [Prediction], metrics: [EvalMetric], expected: [String], jieba: Jieba?) -> [String: Double] {
        TextMetrics.score(predictions.map { TextMetrics.Sample(prediction: $0.predict, reference: $0.label, expected: expected) },
                          metrics: metrics, jieba: jieba)
    }

    /// Throws `EvalError.missingReference` when a generation metric is asked and a sample has no
    /// reference answer (`contains` with `expected` strings needs none), or perplexity is asked
    /// and no sample has labeled tokens.
    public static func checkInputs(_ samples: [EvalSample], metrics: [EvalMetric], expected: [String]) throws {
        for metric in metrics {
            if metric.generates {
                if metric == .contains && !expected.isEmpty { continue }
                let missing = samples.filter { $0.reference == nil }.map(\.source.description)
                if !missing.isEmpty { throw EvalError.missingReference(metric: metric.rawValue, needs: metric.needs, records: missing) }
            } else if !samples.contains(where: { $0.labeledTokens > 0 }) {
                throw EvalError.missingReference(metric: metric.rawValue, needs: metric.needs, records: samples.map(\.source.description))
            }
        }
    }
}
