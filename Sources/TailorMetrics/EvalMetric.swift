/// The metrics `tailor eval` (and the trainer's predict_with_generate) computes, by the names
/// `--metrics` takes. Each name yields one or more columns, named so that no two definitions share
/// a name: `rouge-1` is LLaMA-Factory's (jieba + rouge_chinese), `rouge1` is Google rouge-score's.
public enum EvalMetric: String, Sendable, CaseIterable, Hashable {
    /// exp of the token-weighted mean loss over the labeled tokens.
    case ppl
    /// exp of transformers Trainer's eval_loss: the mean of per-batch mean losses.
    case evalPplTrainer = "eval_ppl_trainer"
    /// LLaMA-Factory's bleu-4 (NLTK sentence_bleu on characters, smoothing method 3).
    case bleu4 = "bleu-4"
    /// LLaMA-Factory's rouge-1 / rouge-2 / rouge-l (jieba words, rouge_chinese F).
    case rouge
    /// sacrebleu's corpus BLEU with the 13a and the zh tokenizers.
    case sacrebleu
    /// Google rouge-score's rouge1 / rouge2 / rougeL F-measures.
    case rougeScore = "rouge-score"
    /// Share of predictions equal to the reference answer (both stripped of surrounding whitespace).
    case exact
    /// Share of predictions containing every expected string (`tailor eval --contains`), else the reference answer.
    case contains
    /// DPO's implicit rewards of preference pairs against the base model (TRL's rewards/accuracies,
    /// rewards/margins, rewards/chosen, rewards/rejected, logps/chosen, logps/rejected): the score of
    /// preference data, which no other metric takes.
    case rewards

    /// The metrics `tailor eval` computes when `--metrics` is not given.
    public static let defaults: [EvalMetric] = [.ppl, .bleu4, .rouge, .sacrebleu, .rougeScore, .exact, .contains]

    /// The result columns, in table order.
    public var columns: [String] {
        switch self {
        case .ppl: return ["ppl"]
        case .evalPplTrainer: return ["eval_ppl_trainer"]
        case .bleu4: return ["bleu-4"]
        case .rouge: return ["rouge-1", "rouge-2", "rouge-l"]
        case .sacrebleu: return ["sacrebleu-13a", "sacrebleu-zh"]
        case .rougeScore: return ["rouge1", "rouge2", "rougeL"]
        case .exact: return ["exact"]
        case .contains: return ["contains"]
        case .rewards: return ["rewards/accuracies", "rewards/margins", "rewards/chosen", "rewards/rejected", "logps/chosen", "logps/rejected"]
        }
    }

    /// Whether the metric scores generated text (and so needs generation and reference answers).
    public var generates: Bool { self != .ppl && self != .evalPplTrainer && self != .rewards }

    /// Whether the metric scores preference pairs (prompt, chosen, rejected) rather than SFT records.
    public var scoresPairs: Bool { self == .rewards }

    /// Whether the metric needs jieba's dictionary.
    public var needsJieba: Bool { self == .bleu4 || self == .rouge }

    /// What the metric needs from each record, for error messages.
    public var needs: String {
        switch self {
        case .ppl, .evalPplTrainer: return "labeled tokens: an assistant reply (alpaca output, sharegpt gpt turn, messages assistant turn) to score"
        case .rewards: return "a preference pair: prompt / chosen / rejected (TRL), or conversations + chosen + rejected (LLaMA-Factory)"
        case .contains: return "expected strings (--contains TEXT, repeatable) or a reference answer (the record's last assistant reply)"
        default: return "a reference answer: the record's last assistant reply (alpaca output, sharegpt gpt turn, messages assistant turn)"
        }
    }

    /// `--metrics a,b,c` read; an unknown name throws, listing the known ones.
    public static func parse(_ list: String) throws -> [EvalMetric] {
        var result: [EvalMetric] = []
        for raw in list.split(separator: ",") {
            let name = raw.trimmingWhitespace()
            guard !name.isEmpty else { continue }
            guard let metric = EvalMetric(rawValue: name) else { throw MetricsError.unknownMetric(name) }
            if !result.contains(metric) { result.append(metric) }
        }
        return result
    }
}

extension Substring {
    func trimmingWhitespace() -> String {
        String(self.drop(while: { $0.isWhitespace }).reversed().drop(while: { $0.isWhitespace }).reversed())
    }
}

/// The generation metrics of a list of predictions against their references, as plain numbers per
/// column (percentages on 0–100, as each peer prints them).
public enum TextMetrics {
    /// One sample: what the model wrote, the reference answer, and the strings `contains` looks for.
    public struct Sample: Sendable {
        public var prediction: String
        public var reference: String
        public var expected: [String]

        public init(prediction: String, reference: String, expected: [String] = []) {
            self.prediction = prediction
            self.reference = reference
            self.expected = expected
        }
    }

    /// The columns of `metrics` that score text (perplexity is not here). With `jieba` nil the
    /// jieba metrics are left out (the caller says why); every other metric still runs.
    public static func score(_ samples: [Sample], metrics: [EvalMetric], jieba: Jieba?) -> [String: Double] {
        var result: [String: Double] = [:]
        let n = Double(max(samples.count, 1))
        for metric in metrics {
            switch metric {
            case .ppl, .evalPplTrainer, .rewards: continue
            case .bleu4, .rouge:
                guard let jieba, !samples.isEmpty else { continue }
                let mean = LlamaFactorySimilarity.mean(samples.map { LlamaFactorySimilarity.score(prediction: $0.prediction, label: $0.reference, jieba: jieba) })
                if metric == .bleu4 { result["bleu-4"] = mean.bleu4 } else {
                    result["rouge-1"] = mean.rouge1; result["rouge-2"] = mean.rouge2; result["rouge-l"] = mean.rougeL
                }
            case .sacrebleu:
                for tokenizer in SacreBLEU.Tokenizer.allCases {
                    result["sacrebleu-" + tokenizer.rawValue] = SacreBLEU.corpus(hypotheses: samples.map(\.prediction),
                                                                                 references: samples.map(\.reference), tokenizer: tokenizer).score
                }
            case .rougeScore:
                for kind in RougeScore.Kind.allCases {
                    let sum = samples.reduce(0.0) { $0 + RougeScore.score(kind, target: $1.reference, prediction: $1.prediction).fmeasure }
                    result[kind.rawValue] = 100 * sum / n
                }
            case .exact:
                result["exact"] = 100 * Double(samples.filter { exactMatch($0.prediction, $0.reference) }.count) / n
            case .contains:
                result["contains"] = 100 * Double(samples.filter { containsAll($0.prediction, $0.expected.isEmpty ? [$0.reference] : $0.expected) }.count) / n
            }
        }
        return result
    }

    /// Equal after stripping surrounding whitespace (Python's `strip()`), scalar by scalar.
    public static func exactMatch(_ prediction: String, _ reference: String) -> Bool {
        PythonText.strip(PythonText.scalars(prediction)) == PythonText.strip(PythonText.scalars(reference))
    }

    /// Whether `prediction` contains every string of `expected` (each stripped; an empty one always matches).
    public static func containsAll(_ prediction: String, _ expected: [String]) -> Bool {
        let text = PythonText.scalars(prediction)
        return expected.allSatisfy { needle in
            let n = PythonText.strip(PythonText.scalars(needle))
            guard !n.isEmpty else { return true }
            guard text.count >= n.count else { return false }
            for i in 0...(text.count - n.count) where text[i] == n[0] && Array(text[i..<(i + n.count)]) == n { return true }
            return false
        }
    }
}
