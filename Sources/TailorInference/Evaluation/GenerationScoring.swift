import Foundation
import TailorData
import TailorMetrics
import TailorModels

/// The generation metrics of a model as it is now on a fixed set of records: what a training run's
/// `predict_with_generate` logs at each evaluation, with the same prompts, decoding and scoring as
/// `tailor eval` (`Evaluator.predictions`, `TextMetrics`).
public struct GenerationScoring {
    public let model: InferenceModel
    /// The records answered: each with a prompt and a reference reply.
    public let samples: [EvalSample]
    public var parameters: GenerationParameters
    public var batchSize: Int
    public let metrics: [EvalMetric]
    public let jieba: Jieba?

    /// The metrics predict_with_generate logs: LLaMA-Factory's (with jieba) and sacrebleu's and
    /// rouge-score's (without it).
    public static let trainingMetrics: [EvalMetric] = [.bleu4, .rouge, .sacrebleu, .rougeScore]

    /// - Throws: `EvalError.noSamples` when no record has a reference reply to compare with.
    public init(model: InferenceModel, samples: [EvalSample], parameters: GenerationParameters, batchSize: Int = 8,
                metrics: [EvalMetric] = trainingMetrics, jieba: Jieba?) throws {
        let answerable = samples.filter { $0.reference != nil }
        guard !answerable.isEmpty else { throw EvalError.noSamples(paths: Array(Set(samples.map(\.source.file))).sorted()) }
        self.model = model
        self.samples = answerable
        self.parameters = parameters
        self.batchSize = max(1, batchSize)
        self.metrics = jieba == nil ? metrics.filter { !$0.needsJieba } : metrics
        self.jieba = jieba
    }

    /// Greedy (or `parameters`') answers to every sample, scored against the references.
    public func score() throws -> [String: Double] {
        let evaluator = Evaluator(model: model)
        let predictions = try evaluator.predictions(samples, parameters: parameters, batchSize: batchSize)
        return Evaluator.score(predictions, metrics: metrics, expected: [], jieba: jieba)
    }

    /// The greedy decoding `tailor eval` uses: the folder's end-of-sequence ids, no sampling,
    /// penalties or n-gram blocking, `maxNewTokens` new tokens at most, prompts cut to fit.
    public static func greedy(_ defaults: GenerationParameters, maxNewTokens: Int) throws -> GenerationParameters {
        var parameters = defaults
        parameters.maxNewTokens = maxNewTokens
        parameters.doSample = false
        parameters.topK = 0
        parameters.repetitionPenalty = 1
        parameters.noRepeatNgramSize = 0
        parameters.truncatePrompt = true
        try parameters.validate()
        return parameters
    }
}
