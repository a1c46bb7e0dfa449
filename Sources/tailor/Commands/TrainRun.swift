import Foundation
import TailorAdapters
import TailorCUDA
import TailorModels
import TailorTensor
import TailorTraining

/// `tailor train`'s pipeline: model, data, adapter, trainer, sinks.
struct TrainRun {
    let recipe: TrainRecipe
    let dryRun: Bool

    func run() throws {
        var recipe = self.recipe
        if recipe.adapterNameOrPath != nil && recipe.finetuningType != .lora {
            throw TrainingError.badOption(name: "adapter_name_or_path", problem: "needs finetuning_type lora (got \(recipe.finetuningType.rawValue)); to fully fine-tune an adapted model, merge the adapter first (tailor merge)")
        }
        let (backend, note) = try DeviceOptions.backend(recipe.device, matmul: recipe.bf16 ? .halfInputs : .fp32)
        if let note { printError(note) }
        say("device: \(backend.name)")
        let modelFolder = try GGUFImport.modelFolder(for: recipe.modelNameOrPath)
        let model = try CausalLM.load(folder: modelFolder, backend: backend)
        model.savedActivationDType = DeviceOptions.savedActivationDType(backend, bf16: recipe.bf16)
        let data = try TrainingData.prepare(recipe: recipe, modelFolder: modelFolder)
        for warning in data.warnings { printError("warning: \(warning)") }

        let trainable: TrainableSet
        switch recipe.finetuningType {
        case .lora:
            if let path = recipe.adapterNameOrPath {
                let start = try AdapterStart(folder: URL(fileURLWithPath: path), model: model, settings: recipe.lora,
                                             given: recipe.givenKeys)
                recipe.lora = start.config
                trainable = .lora(try start.attach(to: model))
                say("adapter: starting from \(path) (r \(start.config.r), lora_alpha \(fmt(start.config.loraAlpha, 1)))"
                    + (recipe.resumeFromCheckpoint != nil ? "; resume_from_checkpoint is set, so the checkpoint's values replace the adapter's" : ""))
            } else {
                trainable = .lora(try LoRAAdapters.attach(to: model, config: recipe.lora, seed: recipe.training.seed))
            }
        case .full: trainable = .full(try FullFineTuning.prepare(model))
        }
        let total = model.config.parameterCount
        let share = 100 * Double(trainable.parameterCount) / Double(total)
        if dryRun { say("trainable params: \(trainable.parameterCount) || all params: \(total) || trainable%: \(fmt(share, 4))") }
        let rowsPerStep = recipe.training.perDeviceTrainBatchSize
        let tokensPerMicroBatch = rowsPerStep * (recipe.packing ? recipe.maxSeqLength : min(recipe.maxSeqLength, data.longestSample))
        let estimate = MemoryEstimate(model: model, trainable: trainable, tokens: tokensPerMicroBatch,
                                      checkpointing: recipe.training.gradientCheckpointing,
                                      optimizerStates: recipe.training.optimizerStatesPerParameter)
        say("estimated peak memory: \(estimate.summary)")
        say("data: \(data.train.count) training rows (\(data.trainSampleCount) samples, \(data.trainLabelTokens) label tokens), \(data.eval.count) evaluation samples")
        if dryRun {
            say("resolved options:")
            print(RecipeYAML.render(recipe), terminator: "")
            return
        }
        let outputDir = URL(fileURLWithPath: recipe.training.outputDir)
        try FileManager.default.createDirectory(at: outputDir, withIntermediateDirectories: true)
        try RecipeYAML.render(recipe).write(to: outputDir.appendingPathComponent("tailor_config.yaml"), atomically: true, encoding: .utf8)
        let trainer = try Trainer(model: model, trainable: trainable, rows: data.train, eval: data.eval, args: recipe.training,
                                  baseName: recipe.modelNameOrPath)
        trainer.baseFolder = modelFolder
        trainer.sinks = TrainSinks.make(outputDir: outputDir, args: recipe.training)
        let resume = try recipe.resumeFromCheckpoint.map { try Checkpoint.resolve($0, outputDir: outputDir) }
        let summary = try trainer.train(resumeFrom: resume)
        say("trained \(summary.steps) steps in \(fmt(summary.seconds, 1)) s, \(fmt(summary.tokensPerSecond, 1)) tokens/s (\(fmt(summary.labelTokensPerSecond, 1)) label tokens/s), final loss \(fmt(summary.finalLoss, 4)), peak RSS \(fmt(Double(peakResidentBytes()) / 1e9, 2)) GB\(DeviceOptions.deviceMemoryReport(backend).map { ", " + $0 } ?? ""); wrote \(summary.outputDir)")
    }
}

/// A line on standard output, flushed at once so it keeps its place among the progress lines.
func say(_ line: String) {
    print(line)
    fflush(nil)  // all output streams
}
