import ArgumentParser
import Foundation
import TailorCUDA
import TailorHub
import TailorModels
import TailorTraining

struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Estimate each method's memory by part and recommend a recipe that fits this machine's RAM or GPU.",
        discussion: """
        Reads only the model's config.json (a hub id fetches config.json alone, before any
        weight), and tables full fine-tuning, LoRA and QLoRA, each without and with gradient
        checkpointing: weights by dtype, gradients, optimizer states, adapters, activations,
        the chunked cross-entropy's loss chunk (never [tokens, vocab] logits) and the
        process's runtime, with the KV cache generation needs. The numbers are the ones
        `tailor train --dry-run` prints (one estimator), within 15% of the peak RSS measured
        on the CPU (BENCHMARKS.md). The budget is MemAvailable from /proc/meminfo, or with
        --device cuda the GPU's free memory (--gpu-memory plans for a GPU that is not here).
        The recommendation fills at most 85% of it: the method asked for or the next lighter
        one that fits (full, then LoRA, then QLoRA), the largest micro-batch, gradient
        accumulation to --global-batch, checkpointing only where needed. --output writes it
        as a recipe for `tailor train plan.yaml`.
        """
    )

    @Argument(help: ArgumentHelp("A recipe YAML to plan (its model, method, stage, lengths, batch and LoRA keys); flags override it.", valueName: "recipe.yaml"))
    var recipe: String?

    @Option(help: "The model: a Hugging Face model folder, its config.json, or a hub id ORG/NAME (only config.json is fetched).")
    var model: String?

    @Option(help: "A built-in model shape instead of --model: \(ModelPresets.names.joined(separator: ", ")) (f32 weights, as tailor bench makes them).")
    var preset: String?

    @Option(help: "lora, qlora or full (default: lora, or qlora where lora does not fit). One that does not fit falls back to a lighter one.")
    var method: MemoryEstimate.Method?

    @Option(help: "sft or dpo (a dpo micro-batch runs chosen and rejected sequences). Default: sft.")
    var stage: String?

    @Option(parsing: .unconditional, help: "Tokens per sequence (max_seq_length). Default: 1024.")
    var seq: Int?

    @Option(parsing: .unconditional, help: "Rows per micro-batch (per_device_train_batch_size). Default: the largest that fits, up to --global-batch.")
    var batch: Int?

    @Option(name: .customLong("global-batch"), parsing: .unconditional, help: "Rows per optimizer step to reach with gradient accumulation.")
    var globalBatch: Int = 16

    @Option(name: .customLong("gradient-checkpointing"), help: "true or false. Default: off where the run fits without it.")
    var gradientCheckpointing: Bool?

    @Option(name: .customLong("r"), parsing: .unconditional, help: "LoRA rank (lora_alpha stays twice the rank unless the recipe sets it). Default: 8.")
    var rank: Int?

    @Option(help: "cpu (this machine's RAM) or cuda (the GPU's memory).")
    var device: PlanDevice = .cpu

    @Option(name: .customLong("gpu-memory"), help: "With --device cuda: plan for a GPU of this many GB (needed where no GPU is present).")
    var gpuMemory: Double?

    @Option(help: "Plan for this many GB instead of the memory found.")
    var memory: Double?

    @Option(help: "A data file for the recipe's dataset key. Repeatable.")
    var dataset: [String] = []

    @Option(help: "Write the recommended recipe here as YAML, for `tailor train FILE`.")
    var output: String?

    @OptionGroup var hub: HubOptions

    func validate() throws {
        if let seq, seq <= 0 { throw ValidationError("--seq must be a positive number of tokens (got \(seq))") }
        if let batch, batch <= 0 { throw ValidationError("--batch must be a positive number of rows (got \(batch))") }
        guard globalBatch > 0 else { throw ValidationError("--global-batch must be a positive number of rows (got \(globalBatch))") }
        if let rank, rank <= 0 { throw ValidationError("--r must be a positive LoRA rank (got \(rank))") }
        if let stage, !["sft", "pt", "dpo"].contains(stage) { throw ValidationError("--stage must be sft or dpo (got '\(stage)')") }
        for (name, value) in [("--gpu-memory", gpuMemory), ("--memory", memory)] {
            if let value, !(value > 0) { throw ValidationError("\(name) must be a positive number of GB (got \(value))") }
        }
        if model != nil && preset != nil { throw ValidationError("give --model or --preset, not both") }
    }

    func run() async throws {
        var base = TrainRecipe()
        if let recipe { _ = try RecipeKeys.apply(try TrainCommand.readYAML(recipe), to: &base) }
        let planned = try await planModel(recipe: base)
        var request = MemoryPlan.Request(model: planned, budget: try budget())
        request.device = device == .cuda ? .cuda : .cpu
        request.method = method ?? (recipe == nil ? nil : base.finetuningType == .full ? .full : base.quantization.fourBit != nil ? .qlora : .lora)
        request.stage = try stage.map { try Self.stage($0) } ?? base.stage
        request.seq = seq ?? base.maxSeqLength
        request.batch = batch ?? (base.givenKeys.contains("per_device_train_batch_size") ? base.training.perDeviceTrainBatchSize : nil)
        request.globalBatch = globalBatch
        request.checkpointing = gradientCheckpointing
            ?? (base.givenKeys.contains("gradient_checkpointing") ? base.training.gradientCheckpointing : nil)
        request.lora = base.lora
        if let rank {
            request.lora.r = rank
            if !base.givenKeys.contains("lora_alpha") { request.lora.loraAlpha = Double(2 * rank) }
        }
        request.optimizerStates = base.training.optimizerStatesPerParameter
        request.optimizerStateBytes = base.training.optimizerStateBytes
        request.datasets = dataset.isEmpty ? base.datasets : dataset
        let plan = try MemoryPlan(request)
        for line in plan.lines { print(line) }
        if let output {
            let yaml = try plan.yaml()
            do { try yaml.write(toFile: output, atomically: true, encoding: .utf8) } catch {
                throw ValidationError("--output \(output): cannot write (\(error.localizedDescription))")
            }
            print("wrote \(output): tailor train \(output)\(request.datasets.isEmpty ? " --dataset FILE" : "")")
        }
    }

    /// The model from --preset, --model or the recipe's model_name_or_path: config.json only.
    func planModel(recipe: TrainRecipe) async throws -> PlanModel {
        if let preset { return try PlanModel.preset(preset) }
        guard let spec = model ?? (recipe.modelNameOrPath.isEmpty ? nil : recipe.modelNameOrPath) else {
            throw ValidationError("give --model (a model folder, its config.json or a hub id ORG/NAME), --preset or a recipe with model_name_or_path")
        }
        if !FileManager.default.fileExists(atPath: spec) && ModelArgument.looksLikeHubID(spec) {
            let id = try RepoID(spec)
            let revision = model == nil ? recipe.modelRevision : hub.revision
            let snapshot = try await ModelArgument.download(id, revision: revision, include: ["config.json"], offline: hub.offline, requireConfig: true)
            printError("model: \(id) at commit \(snapshot.commit): config.json only (\(snapshot.folder.path))")
            return try PlanModel.load(snapshot.folder, nameOrPath: spec)
        }
        return try PlanModel.load(URL(fileURLWithPath: spec))
    }

    /// RAM from /proc/meminfo, the GPU's free memory, or the size given.
    func budget() throws -> MemoryBudget {
        let gb = { (value: Double) in Int((value * 1e9).rounded()) }  // allowed: validate() keeps the sizes positive; GB values are far below Int.max
        switch device {
        case .cpu:
            if let memory { return MemoryBudget(kind: .ram, available: gb(memory), source: "--memory") }
            guard let ram = MemoryBudget.ram() else { throw ValidationError("cannot read /proc/meminfo: give --memory GB") }
            return ram
        case .cuda:
            if let size = gpuMemory ?? memory { return MemoryBudget(kind: .gpu, available: gb(size), total: gb(size), source: "--gpu-memory") }
            let gpu: DriverDevice
            do { gpu = try DriverDevice() } catch {
                throw ValidationError("--device cuda: no CUDA device is present (\(error)); give --gpu-memory GB to plan for one")
            }
            let info = try gpu.memoryInfo()
            return MemoryBudget(kind: .gpu, available: info.free, total: info.total, source: "cuMemGetInfo on \(gpu.name)")
        }
    }

    static func stage(_ name: String) throws -> TrainRecipe.Stage {
        guard let stage = TrainRecipe.Stage(rawValue: name), [.sft, .pt, .dpo].contains(stage) else {
            throw ValidationError("--stage must be sft or dpo (got '\(name)')")
        }
        return stage
    }
}

/// `tailor plan --device`: where the run's memory is.
enum PlanDevice: String, ExpressibleByArgument, CaseIterable { case cpu, cuda }

extension MemoryEstimate.Method: ExpressibleByArgument {}
