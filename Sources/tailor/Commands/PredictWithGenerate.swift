import Foundation
import TailorData
import TailorInference
import TailorMetrics
import TailorModels
import TailorTokenizers
import TailorTraining

/// `predict_with_generate: true` wired into a training run: at each evaluation the model being
/// trained answers the evaluation records' prompts (TailorInference's generation, which the trainer
/// does not import) and the answers are scored as `tailor eval` scores them.
enum PredictWithGenerate {
    /// The metrics closure for `run`, and a line saying what it answers.
    static func metrics(for run: TrainingRun) throws -> (metrics: (CausalLM) throws -> [String: Double], summary: String) {
        let recipe = run.recipe
        let inference = try InferenceModel(folder: run.modelFolder, model: run.model)
        let samples = try evaluationSamples(recipe: recipe, tokenizer: inference.tokenizer,
                                            sources: Set(run.data.eval.flatMap(\.samples).compactMap(\.source)))
        var jieba: Jieba? = nil
        var left = ""
        switch JiebaFetch.load(explicit: nil, log: { printError($0) }) {
        case let .success(found): jieba = found
        case let .failure(why): left = "; bleu-4 and rouge-1/2/l left out: \(why)"
        }
        let scoring = try GenerationScoring(model: inference, samples: samples,
                                            parameters: try GenerationScoring.greedy(inference.defaults, maxNewTokens: recipe.maxNewTokens),
                                            batchSize: recipe.training.perDeviceEvalBatchSize, jieba: jieba)
        let names = scoring.metrics.flatMap(\.columns).map { "eval_" + $0 }.joined(separator: ", ")
        return ({ _ in try scoring.score() },
                "predict_with_generate: \(scoring.samples.count) evaluation prompts answered at each evaluation (greedy, max_new_tokens \(recipe.maxNewTokens)), logged as \(names)\(left)")
    }

    /// The evaluation records with their prompts and reference replies: eval_dataset's, or the
    /// training records validation_split held out (`sources`), the first eval_max_samples.
    static func evaluationSamples(recipe: TrainRecipe, tokenizer: PretrainedTokenizer, sources: Set<SourceLocation>) throws -> [EvalSample] {
        let items = recipe.validationFile.map { [$0] } ?? recipe.datasets
        var samples: [EvalSample] = []
        for dataset in try DatasetRegistry.resolve(items, folder: recipe.datasetDir ?? "data") {
            var options = recipe.data
            if options.format == .auto, let format = dataset.format { options.format = format }
            samples += try EvalSample.load(paths: [dataset.path], options: options, tokenizer: tokenizer)
        }
        if recipe.validationFile == nil { samples = samples.filter { sources.contains($0.source) } }
        samples = samples.filter { $0.reference != nil }
        if let limit = recipe.evalMaxSamples { samples = Array(samples.prefix(limit)) }
        return samples
    }
}
