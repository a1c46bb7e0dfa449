import Foundation
import TailorAdapters
import TailorModels
import TailorTensor

/// A recipe run end to end, for any program (`tailor train` is one): the model on the backend
/// the recipe's device chose, its data, the adapter (fresh or from adapter_name_or_path) or the
/// full set of weights to train, then tailor_config.yaml, the trainer with the file sinks, and
/// resume. Like all library code it prints nothing: what a caller shows comes from its properties,
/// and progress from the sinks it adds.
///
///     let compute = try TrainingBackend.choose(recipe.device, accelerator: nil)
///     let run = try TrainingRun(recipe: recipe, modelFolder: folder, compute: compute)
///     let summary = try run.train(extraSinks: [ConsoleProgressSink.standardError()])
public final class TrainingRun {
    /// The recipe as run: with adapter_name_or_path, the adapter's r, lora_alpha and targets.
    public private(set) var recipe: TrainRecipe
    public let compute: TrainingBackend
    public let modelFolder: URL
    public let model: CausalLM
    public let data: TrainingData
    public let trainable: TrainableSet

    /// Loads the model from `modelFolder` (a Hugging Face folder; a caller that accepts GGUF
    /// files converts them first), prepares the data and attaches what trains.
    /// - Throws: `TrainingError` for a recipe that cannot run (see `TrainRecipe.validate`), and
    ///   the errors of loading the model, the data or the adapter.
    public init(recipe: TrainRecipe, modelFolder: URL, compute: TrainingBackend) throws {
        try recipe.validate()
        var recipe = recipe
        self.compute = compute
        self.modelFolder = modelFolder
        model = try CausalLM.load(folder: modelFolder, backend: compute.backend)
        model.savedActivationDType = compute.savedActivationDType(bf16: recipe.bf16)
        data = try TrainingData.prepare(recipe: recipe, modelFolder: modelFolder)
        switch recipe.finetuningType {
        case .lora:
            if let path = recipe.adapterNameOrPath {
                let start = try AdapterStart(folder: URL(fileURLWithPath: path), model: model, settings: recipe.lora,
                                             given: recipe.givenKeys)
                recipe.lora = start.config
                trainable = .lora(try start.attach(to: model))
            } else {
                trainable = .lora(try LoRAAdapters.attach(to: model, config: recipe.lora, seed: recipe.training.seed))
            }
        case .full:
            trainable = .full(try FullFineTuning.prepare(model))
        }
        self.recipe = recipe
    }

    /// Tokens in one micro-batch at most, for memory estimates.
    public var tokensPerMicroBatch: Int {
        recipe.training.perDeviceTrainBatchSize * (recipe.packing ? recipe.maxSeqLength : min(recipe.maxSeqLength, data.longestSample))
    }

    /// The sinks every run writes to output_dir: metrics.jsonl, TensorBoard events in runs/,
    /// loss.png + loss.svg, and trainer_state.json.
    public static func fileSinks(outputDir: URL, args: TrainingArguments) -> [TrainingSink] {
        let logging = args.loggingSteps
        return [
            MetricsJSONLSink(path: outputDir.appendingPathComponent("metrics.jsonl").path, loggingSteps: logging),
            TensorBoardSink(logDir: outputDir.appendingPathComponent("runs").path, loggingSteps: logging),
            LossPlotSink(folder: outputDir.path, loggingSteps: logging),
            TrainerStateSink(settings: .init(loggingSteps: logging, evalSteps: args.evalSteps, saveSteps: args.saveSteps,
                                             trainBatchSize: args.perDeviceTrainBatchSize)),
        ]
    }

    /// Writes tailor_config.yaml into output_dir, then trains to the last step with `extraSinks`
    /// (first, e.g. a console progress sink) and the file sinks, from resume_from_checkpoint when set.
    @discardableResult
    public func train(extraSinks: [TrainingSink] = []) throws -> TrainingSummary {
        let outputDir = URL(fileURLWithPath: recipe.training.outputDir)
        do {
            try FileManager.default.createDirectory(at: outputDir, withIntermediateDirectories: true)
            try RecipeYAML.render(recipe).write(to: outputDir.appendingPathComponent("tailor_config.yaml"), atomically: true, encoding: .utf8)
        } catch {
            throw TrainingError.unwritableFolder(key: "output_dir", path: outputDir.path, reason: error.localizedDescription)
        }
        let trainer = try Trainer(model: model, trainable: trainable, rows: data.train, eval: data.eval, args: recipe.training,
                                  baseName: recipe.modelNameOrPath)
        trainer.baseFolder = modelFolder
        trainer.sinks = extraSinks + Self.fileSinks(outputDir: outputDir, args: recipe.training)
        let resume = try recipe.resumeFromCheckpoint.map { try Checkpoint.resolve($0, outputDir: outputDir) }
        if let resume {
            // trainer_state.json goes on from the checkpoint's log_history, as Trainer's does.
            let saved = resume.appendingPathComponent("trainer_state.json")
            if FileManager.default.fileExists(atPath: saved.path) {
                for case let state as TrainerStateSink in trainer.sinks { try state.restore(from: saved) }
            }
        }
        return try trainer.train(resumeFrom: resume)
    }
}
