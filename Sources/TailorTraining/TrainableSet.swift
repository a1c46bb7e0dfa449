import Foundation
import TailorAdapters
import TailorFormats
import TailorModels
import TailorTensor

/// What a run trains: LoRA, IA³, AdaLoRA adapters, prompt, prefix or P-tuning (or a prefix's projection) on a frozen base, or (some of) the model's own parameters.
public enum TrainableSet: @unchecked Sendable {
    case lora(LoRAAdapters)
    /// IA³ vectors (peft_type IA3) on a frozen base.
    case ia3(IA3Adapters)
    /// AdaLoRA updates (peft_type ADALORA) on a frozen base, with their rank allocator.
    case adalora(AdaLoRAAdapters)
    /// Prompt tuning (peft_type PROMPT_TUNING): the virtual tokens' table on a frozen base.
    case promptTuning(PromptTuning)
    /// Prefix tuning (peft_type PREFIX_TUNING): every layer's prefix keys and values on a frozen base.
    case prefixTuning(PrefixTuning)
    /// An encoder that computes the virtual tokens, on a frozen base: P-tuning's prompt encoder
    /// (peft_type P_TUNING) or prefix tuning's projection (PREFIX_TUNING with prefix_projection).
    case encoder(any VirtualTokenEncoder)
    case full([TrainableParameter])

    public var parameters: [TrainableParameter] {
        switch self {
        case let .lora(adapters): return adapters.parameters
        case let .ia3(adapters): return adapters.parameters
        case let .adalora(adapters): return adapters.parameters
        // Trainer puts the table in its weight-decay group (it is neither a bias nor a norm).
        case let .promptTuning(prompt): return [TrainableParameter(name: VirtualTokens.gradientName, value: prompt.table, weightDecay: true)]
        case let .prefixTuning(prefix): return prefix.trainableTensors.map { TrainableParameter(name: $0.name, value: $0.value, weightDecay: true) }
        case let .encoder(encoder): return encoder.parameters
        case let .full(parameters): return parameters
        }
    }

    /// Whether the run trains adapters (the base stays as it was).
    public var isAdapter: Bool {
        switch self {
        case .lora, .ia3, .adalora, .promptTuning, .prefixTuning, .encoder: return true
        case .full: return false
        }
    }

    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.value.count } }

    /// Name of the weights file inside a checkpoint or output folder.
    var weightsFile: String {
        switch self {
        case .lora, .ia3, .adalora, .promptTuning, .prefixTuning, .encoder: return PeftAdapterLayout.weightsFile
        case .full: return "model.safetensors"
        }
    }

    /// Key of a parameter inside `weightsFile`.
    func key(_ name: String) -> String {
        switch self {
        case let .lora(adapters): return adapters.peftKey(name)
        case let .ia3(adapters): return adapters.peftKey(name)
        case let .adalora(adapters): return adapters.peftKey(name)
        case .promptTuning, .prefixTuning, .encoder, .full: return name
        }
    }

    /// Writes the trained weights: a peft adapter folder, or a full HF model folder (tensor by
    /// tensor in each one's dtype, sharded above transformers' default `max_shard_size`, as
    /// `Trainer` saves it).
    public func save(model: CausalLM, baseFolder: URL?, baseName: String, baseRevision: String? = nil, to folder: URL) throws {
        switch self {
        case let .lora(adapters):
            try PeftAdapterWriter.write(adapters, backend: model.backend, to: folder, baseModel: baseName, revision: baseRevision)
        case let .ia3(adapters):
            try IA3AdapterWriter.write(adapters, backend: model.backend, to: folder, baseModel: baseName, revision: baseRevision)
        case let .adalora(adapters):
            try AdaLoRAAdapterWriter.write(adapters, backend: model.backend, to: folder, baseModel: baseName, revision: baseRevision)
        case let .promptTuning(prompt):
            try PromptTuningWriter.write(prompt, model: model, to: folder, baseModel: baseName, revision: baseRevision)
        case let .prefixTuning(prefix):
            try PrefixTuningWriter.write(prefix, model: model, to: folder, baseModel: baseName, revision: baseRevision)
        case let .encoder(encoder):
            try encoder.write(model: model, to: folder, baseModel: baseName, revision: baseRevision)
        case .full:
            try ModelFolderWriter.write(model, baseFolder: baseFolder, to: folder)
        }
    }

    /// Loads every trainable tensor's values from a folder `save` wrote, checking names and shapes
    /// (a full model's weights may be sharded).
    public func load(from folder: URL, backend: Backend) throws {
        var url = folder.appendingPathComponent(weightsFile)
        let index = folder.appendingPathComponent(weightsFile + ".index.json")
        if !isAdapter && !FileManager.default.fileExists(atPath: url.path) && FileManager.default.fileExists(atPath: index.path) {
            url = index
        }
        let file: SafetensorsCheckpoint
        do { file = try SafetensorsCheckpoint(url) } catch {
            throw TrainingError.adapterWeight(name: weightsFile, file: folder.path, problem: "cannot be read: \(error)")
        }
        if case let .prefixTuning(prefix) = self {
            // peft's one table, split into the layers' tensors.
            let key = PrefixTuning.tensorName, shape = [prefix.numVirtualTokens, prefix.parameterCount / prefix.numVirtualTokens]
            guard file.info(key)?.shape == shape else {
                throw TrainingError.adapterWeight(name: key, file: url.path, problem: "is missing or not \(shape); was this checkpoint written for another model or adapter?")
            }
            try prefix.load(peftTable: try file.floats(key), backend: backend)
            return
        }
        for parameter in parameters {
            let key = key(parameter.name)
            guard let info = file.info(key) else {
                throw TrainingError.adapterWeight(name: key, file: url.path, problem: "is missing; was this checkpoint written for another model or adapter?")
            }
            guard info.shape == parameter.value.shape else {
                throw TrainingError.adapterWeight(name: key, file: url.path,
                                                  problem: "has shape \(info.shape) but the model needs \(parameter.value.shape); was this checkpoint written for another model or adapter?")
            }
            let values = try backend.upload(try file.floats(key), shape: parameter.value.shape, dtype: .f32)
            try backend.copy(values, into: parameter.value)
        }
    }
}
