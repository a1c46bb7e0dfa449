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
    /// The quantized GGUF file whose ggml blocks the frozen weights are (`ggufBlocksPlan`); nil: the
    /// weights come from `modelFolder`.
    public let ggufBlocks: URL?
    public let model: CausalLM
    public let data: TrainingData
    public let trainable: TrainableSet
    /// Asked to stop (from any thread, e.g. on SIGINT), `train` saves a checkpoint after the
    /// current step and throws `TrainingError.interrupted`.
    public let stopRequest = StopRequest()
    /// predict_with_generate's metrics at each evaluation (`Trainer.generationMetrics`); nil: none.
    public var generationMetrics: ((CausalLM) throws -> [String: Double])?
    /// Device memory in use now, sampled into the system series (`SystemSampler.deviceBytes`); nil on the CPU.
    public var deviceBytes: (() -> Int)?
    /// The GPU's utilisation now (`SystemSampler.deviceUtilization`); nil on the CPU or without NVML.
    public var deviceUtilization: (() -> (gpu: Int, memory: Int)?)?
    /// The ranks of a data-parallel run (every rank makes its own TrainingRun with the same recipe),
    /// or the world of one. Only rank 0 checks, locks and writes output_dir.
    public let communicator: Communicator
    /// output_dir's lock, held from before the model loads until `train` ends.
    private var lock: OutputFolder.Lock?
    /// With pissa_convert: the adapter's A and B right after its PiSSA / OLoRA init, which the
    /// converted adapter subtracts.
    var initialFactors: [String: [Float]]?

    /// Checks output_dir (`OutputFolder.check`) and, with `lockOutput`, takes its lock and repairs
    /// what a run killed while saving left there; then loads the model from `modelFolder` (a
    /// Hugging Face folder; a caller that accepts GGUF files converts them first), prepares the
    /// data and attaches what trains. A dry run passes `lockOutput: false` and writes nothing.
    /// - Throws: `TrainingError` for a recipe that cannot run (see `TrainRecipe.validate`), an
    ///   output_dir that cannot be used or is in use (`.folderInUse`), and the errors of loading
    ///   the model, the data or the adapter.
    /// - Parameter data: this recipe's data, already prepared (a sweep's earlier run whose recipe
    ///   `encodesSameData(as:)` this one); nil prepares it.
    /// - Parameter ggufBlocks: a quantized GGUF file whose weights load as their ggml blocks (when
    ///   `ggufBlocksPlan` says the run can train on them); `modelFolder` then holds its config and tokenizer
    ///   (`GGUFImport.filesFolder`).
    public init(recipe: TrainRecipe, modelFolder: URL, compute: TrainingBackend, lockOutput: Bool = true, data prepared: TrainingData? = nil,
                communicator: Communicator = SingleProcess(), ggufBlocks: URL? = nil) throws {
        try recipe.validate()
        var recipe = recipe
        if recipe.stage == .kto { recipe.training.sampling = .sequential }  // TRL's KTOTrainer requires it (validate refuses another given one)
        // peft's prepare_model_for_kbit_training(use_gradient_checkpointing=True), which every QLoRA recipe calls.
        if recipe.quantization.fourBit != nil, !recipe.givenKeys.contains("gradient_checkpointing") { recipe.training.gradientCheckpointing = true }
        self.compute = compute
        self.modelFolder = modelFolder
        self.ggufBlocks = ggufBlocks
        self.communicator = communicator
        let outputDir = URL(fileURLWithPath: recipe.training.outputDir)
        if communicator.isMain {
            try OutputFolder.checkWritable(outputDir)
            if lockOutput {
                lock = try OutputFolder.Lock(outputDir)
                Checkpoint.recover(outputDir: outputDir)
            }
            try OutputFolder.check(outputDir, recipe: recipe, modelFolder: modelFolder)
        }
        if let ggufBlocks {
            let plan = try Self.ggufBlocksPlan(recipe, compute: compute, gguf: ggufBlocks)
            guard plan.trainsOnBlocks else {
                throw TrainingError.invalidValue(key: "model_name_or_path", problem: "\(ggufBlocks.path): this run cannot train on the file's"
                    + " ggml blocks (\(plan.why)); import it first (tailor import gguf FILE --output DIR) and train that folder")
            }
            model = try CausalLM.load(gguf: ggufBlocks, backend: compute.backend, blocks: GGUFBlockWeights(decoding: recipe.lora.modulesToSave))
        } else {
            model = try CausalLM.load(folder: modelFolder, backend: compute.backend, quantization: recipe.quantization.fourBit,
                                      rounding: Self.productRounding(recipe, compute: compute))
        }
        model.savedActivationDType = compute.savedActivationDType(bf16: recipe.bf16)
        data = try prepared ?? TrainingData.prepare(recipe: recipe, modelFolder: modelFolder)
        switch recipe.finetuningType {
        case .lora where recipe.peftType == .ia3:
            trainable = .ia3(try Self.attachIA3(&recipe, model: model))
        case .lora where recipe.peftType == .adalora:
            trainable = .adalora(try Self.attachAdaLoRA(&recipe, model: model))
        case .lora where recipe.peftType == .promptTuning:
            trainable = .promptTuning(try Self.attachPromptTuning(&recipe, model: model, modelFolder: modelFolder))
        case .lora where recipe.hasPromptEncoder:
            trainable = .encoder(try Self.attachPromptEncoder(recipe, model: model))
        case .lora where recipe.peftType == .prefixTuning:
            trainable = .prefixTuning(try Self.attachPrefixTuning(&recipe, model: model))
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
        if recipe.pissa.convert, case let .lora(adapters) = trainable {
            initialFactors = try adapters.initialFactors(backend: model.backend)
        }
        self.recipe = recipe
    }

    /// How a bf16 run on a CPU with bf16 products loads an f32 folder's frozen product weights:
    /// rounded to bf16 once (`ProductWeightRounding`), for adapter training whose adapters start
    /// from no decomposition of the base (PiSSA and OLoRA read the f32 weights), keeping the
    /// modules_to_save modules as stored. nil: every weight as stored.
    static func productRounding(_ recipe: TrainRecipe, compute: TrainingBackend) -> ProductWeightRounding? {
        guard recipe.bf16, !compute.isAccelerator, recipe.finetuningType == .lora else { return nil }
        switch recipe.lora.initLoraWeights {
        case .kaiming, .gaussian, .linearDefault: return TrainingBackend.productRounding(for: compute.backend, keep: recipe.lora.modulesToSave)
        default: return nil
        }
    }

    /// What the run will do that its settings may not mean: `TrainRecipe.warnings`, and rows longer
    /// than the model's max_position_embeddings (positions its pretraining never saw).
    public var warnings: [String] {
        var result = recipe.warnings
        let limit = model.config.maxPositionEmbeddings
        let longest = max(data.train.flatMap(\.samples).map(\.ids.count).max() ?? 0,
                          data.eval.flatMap(\.samples).map(\.ids.count).max() ?? 0)
        if longest > limit {
            result.append("rows of up to \(longest) tokens (max_seq_length \(recipe.maxSeqLength)) are longer than the model's"
                          + " max_position_embeddings \(limit): positions past \(limit) were never trained, so the model may not learn"
                          + " or answer well there; lower max_seq_length (cutoff_len) to \(limit) unless the model is meant to go past it")
        }
        if recipe.training.optim.isPaged && !compute.isAccelerator {
            result.append("optim \(recipe.training.optim.rawValue): on the CPU there is nothing to page, so the states stay in host memory"
                          + " (bitsandbytes does the same there); the numbers are those of "
                          + (recipe.training.optim.bitsAndBytesBits == 8 ? "adamw_8bit" : "bitsandbytes' 32-bit AdamW"))
        }
        return result
    }

    /// Tokens in one micro-batch at most, for memory estimates: a preference micro-batch of B pairs
    /// holds 2B sequences (`PairBatches`: the chosen, then the rejected).
    public var tokensPerMicroBatch: Int {
        let sequences = recipe.training.perDeviceTrainBatchSize * (recipe.stage == .dpo ? 2 : 1)
        return sequences * (recipe.packing ? recipe.maxSeqLength : min(recipe.maxSeqLength, data.longestSample))
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
    /// (first, e.g. a console progress sink) and the file sinks, from resume_from_checkpoint when set
    /// (trainer_state.json and the loss curve go on from the checkpoint's history). With
    /// overwrite_output_dir and no resume, first removes what another run left (`OutputFolder.clearPreviousRun`).
    /// Releases output_dir's lock when it returns or throws.
    @discardableResult
    public func train(extraSinks: [TrainingSink] = []) throws -> TrainingSummary {
        defer { lock?.release() }
        let outputDir = URL(fileURLWithPath: recipe.training.outputDir)
        let main = communicator.isMain
        if main && recipe.training.overwriteOutputDir && recipe.resumeFromCheckpoint == nil {
            try OutputFolder.clearPreviousRun(in: outputDir)
        }
        if main {
            do {
                try FileManager.default.createDirectory(at: outputDir, withIntermediateDirectories: true)
                try RecipeYAML.render(recipe).write(to: outputDir.appendingPathComponent("tailor_config.yaml"), atomically: true, encoding: .utf8)
            } catch {
                throw TrainingError.unwritableFolder(key: "output_dir", path: outputDir.path, reason: error.localizedDescription)
            }
        }
        let trainer = try Trainer(model: model, trainable: trainable, rows: data.train, eval: data.eval, args: recipe.training,
                                  baseName: recipe.modelNameOrPath,
                                  objective: try objective(outputDir: outputDir, resuming: recipe.resumeFromCheckpoint != nil),
                                  communicator: communicator)
        trainer.agreement = RecipeYAML.render(recipe)
        trainer.baseFolder = modelFolder
        if recipe.givenKeys.contains("model_revision") { trainer.baseRevision = recipe.modelRevision }
        trainer.stopRequest = stopRequest
        trainer.generationMetrics = generationMetrics
        trainer.systemSampler.deviceBytes = deviceBytes
        trainer.systemSampler.deviceUtilization = deviceUtilization
        trainer.sinks = main ? extraSinks + Self.fileSinks(outputDir: outputDir, args: recipe.training) : []
        try communicator.barrier(label: "rank 0's preparation of output_dir")  // its repairs and clean-up come before any rank reads it
        let resume = try recipe.resumeFromCheckpoint.map { try Checkpoint.resolve($0, outputDir: outputDir) }
        if resume == nil && main { try writePiSSAInitial(outputDir: outputDir) }
        if let resume, main {
            // trainer_state.json goes on from the checkpoint's log_history, as Trainer's does, and the
            // loss curve from its points.
            let saved = resume.appendingPathComponent("trainer_state.json")
            if FileManager.default.fileExists(atPath: saved.path) {
                for case let state as TrainerStateSink in trainer.sinks {
                    try state.restore(from: saved)
                    let points = state.lossPoints, margins = state.points(of: LossPlotSink.marginKey)
                    for case let plot as LossPlotSink in trainer.sinks {
                        plot.restore(train: points.train, eval: points.eval, margins: margins.train, evalMargins: margins.eval)
                    }
                }
            }
        }
        let summary = try trainer.train(resumeFrom: resume)
        if main { try writePiSSAConverted(outputDir: outputDir) }
        return summary
    }
}
