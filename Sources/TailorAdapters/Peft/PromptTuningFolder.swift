import Foundation
import TailorFormats
import TailorJSON
import TailorModels
import TailorTensor

/// Reading and writing a peft prompt-tuning folder: adapter_config.json with `peft_type:
/// "PROMPT_TUNING"` and adapter_model.safetensors holding one tensor, `prompt_embeddings`
/// [num_virtual_tokens, token_dim], as `save_pretrained` writes it and `PeftModel.from_pretrained`
/// reads it. A P-tuning folder (`P_TUNING`) saves the same tensor (its prompt encoder's output,
/// the encoder itself is not saved), so it reads as prompt tuning for generation.
public enum PromptTuningFolder {
    /// The peft types whose saved folder is a table of virtual-token embeddings.
    public static let peftTypes = ["PROMPT_TUNING", "P_TUNING"]

    /// Whether `folder` holds a prompt-tuning (or P-tuning) adapter.
    public static func isPromptTuning(folder: URL) -> Bool {
        guard let type = try? IA3AdapterFolder.peftType(folder: folder) else { return false }
        return peftTypes.contains(type)
    }

    /// Loads the folder's table for `model` without attaching it.
    /// - Throws: `AdapterError.adapterConfig` naming the field that does not fit this model,
    ///   `.adapterWeight` for a missing or mis-shaped `prompt_embeddings`.
    public static func load(folder: URL, for model: CausalLM) throws -> PromptTuning {
        let config = try PromptLearningConfig(folder: folder, types: peftTypes, model: model.config)
        let (root, file, count) = (config.root, config.file, config.numVirtualTokens)
        let c = model.config.hiddenSize
        if let tokenDim = try config.integer("token_dim"), tokenDim != c {
            throw AdapterError.adapterConfig(file: file, field: "token_dim", problem: "is \(tokenDim), but this model's hidden_size is \(c); was the adapter made for another base model?")
        }
        var initialization = PromptTuningConfig.Initialization.random
        switch root["prompt_tuning_init"]?.stringValue {
        case "TEXT"?: initialization = .text(root["prompt_tuning_init_text"]?.stringValue ?? "")
        case "SAMPLE_VOCAB"?: initialization = .sampleVocab
        default: break
        }
        let settings = PromptTuningConfig(numVirtualTokens: count, initialization: initialization,
                                          tokenizerNameOrPath: root["tokenizer_name_or_path"]?.stringValue)
        let url = folder.appendingPathComponent(PeftAdapterLayout.weightsFile)
        let weights = try SafetensorsFile(url: url)
        let key = PromptTuning.tensorName
        guard let info = weights.info(key) else {
            throw AdapterError.adapterWeight(name: key, file: url.path, problem: "is missing; a prompt-tuning folder holds the virtual tokens' embeddings under that name")
        }
        guard info.shape == [count, c] else {
            throw AdapterError.adapterWeight(name: key, file: url.path, problem: "has shape \(info.shape) but num_virtual_tokens \(count) and this model's hidden_size \(c) need [\(count), \(c)]; was the adapter made for another base model?")
        }
        if let other = weights.tensorNames.first(where: { $0 != key }) {
            throw AdapterError.adapterWeight(name: other, file: url.path, problem: "is not a prompt-tuning tensor (only \(key) is); modules_to_save beside prompt tuning is not built")
        }
        let table = try model.backend.upload(try weights.floats(key), shape: [count, c], dtype: .f32)
        return PromptTuning(config: settings, table: table)
    }
}

/// The fields every peft prompt-learning adapter_config.json shares (PROMPT_TUNING, P_TUNING,
/// PREFIX_TUNING), read and checked against a model: peft_type among `types`, num_virtual_tokens
/// present and fitting the context, num_transformer_submodules 1.
struct PromptLearningConfig {
    let root: JSONObject
    let file: String
    let numVirtualTokens: Int

    init(folder: URL, types: [String], model: ModelConfig) throws {
        (root, file) = try IA3AdapterFolder.root(folder: folder)
        guard let type = root["peft_type"]?.stringValue, types.contains(type) else {
            throw AdapterError.adapterConfig(file: file, field: "peft_type",
                                             problem: "is \(root["peft_type"]?.text(.python) ?? "missing"); this reader takes \(types.map { "\"\($0)\"" }.joined(separator: " or "))")
        }
        guard let count = try Self.integer(root, "num_virtual_tokens", file: file) else {
            throw AdapterError.adapterConfig(file: file, field: "num_virtual_tokens", problem: "is missing; peft writes the number of virtual tokens there")
        }
        numVirtualTokens = count
        if let submodules = try Self.integer(root, "num_transformer_submodules", file: file), submodules != 1 {
            throw AdapterError.adapterConfig(file: file, field: "num_transformer_submodules", problem: "is \(submodules); a causal LM has 1 (an encoder-decoder adapter has 2)")
        }
        do { try PromptTuningConfig(numVirtualTokens: count).check(for: model) } catch AdapterError.badOption(let field, let problem) {
            throw AdapterError.adapterConfig(file: file, field: field, problem: problem)
        }
    }

    /// The fields peft writes for every prompt-learning method of a causal LM (the method's own,
    /// token_dim and num_attention_heads among them, are the caller's).
    static func fields(peftType: String, numVirtualTokens: Int, model: ModelConfig, baseModel: String, revision: String?) -> JSONObject {
        [
            "peft_type": .string(peftType),
            "task_type": "CAUSAL_LM",
            "auto_mapping": .null,
            "base_model_name_or_path": .string(baseModel),
            "revision": revision.map { .string($0) } ?? .null,
            "inference_mode": true,
            "modules_to_save": .null,
            "num_virtual_tokens": .int(numVirtualTokens),
            "num_layers": .int(model.layerCount),
            "num_transformer_submodules": 1,
        ]
    }

    /// Field `field` as a whole number, or nil when it is absent or null.
    func integer(_ field: String) throws -> Int? { try Self.integer(root, field, file: file) }

    static func integer(_ root: JSONObject, _ field: String, file: String) throws -> Int? {
        guard let value = root[field], !value.isNull else { return nil }
        guard let number = value.intValue else {
            throw AdapterError.adapterConfig(file: file, field: field, problem: "is \(value.text(.python)); it must be a whole number")
        }
        return number
    }
}

/// Writes prompt tuning as a peft adapter folder, loadable by `peft.PeftModel.from_pretrained`.
public enum PromptTuningWriter {
    /// Writes `prompt` into `folder` (created if needed); each file is written atomically.
    /// - Parameters:
    ///   - baseModel: `base_model_name_or_path` (a hub id or the base folder).
    ///   - revision: `revision`, the hub revision of the base; nil writes null.
    public static func write(_ prompt: PromptTuning, model: CausalLM, to folder: URL, baseModel: String, revision: String? = nil) throws {
        try PeftAdapterWriter.makeFolder(folder)
        let table = prompt.table
        let tensors = [SafetensorsWriter.Tensor(name: PromptTuning.tensorName, shape: table.shape, floats: try model.backend.download(table))]
        try SafetensorsWriter.write(tensors, metadata: ["format": "pt"], to: folder.appendingPathComponent(PeftAdapterLayout.weightsFile))
        try PeftAdapterWriter.writeJSON(configObject(prompt.config, model: model.config, baseModel: baseModel, revision: revision),
                                        to: folder.appendingPathComponent(PeftAdapterLayout.configFile))
    }

    /// Writes P-tuning as peft saves it: the encoder's output as `prompt_embeddings` (peft saves no
    /// encoder), with PromptEncoderConfig's fields.
    public static func write(_ encoder: PTuning, model: CausalLM, to folder: URL, baseModel: String, revision: String? = nil) throws {
        try encoder.refresh(backend: model.backend)
        try PeftAdapterWriter.makeFolder(folder)
        let tensors = [SafetensorsWriter.Tensor(name: PromptTuning.tensorName, shape: encoder.table.shape,
                                                floats: try model.backend.download(encoder.table))]
        try SafetensorsWriter.write(tensors, metadata: ["format": "pt"], to: folder.appendingPathComponent(PeftAdapterLayout.weightsFile))
        guard case var .object(config) = configObject(encoder.asPromptTuning.config, model: model.config, baseModel: baseModel, revision: revision) else { return }
        for key in ["prompt_tuning_init", "prompt_tuning_init_text", "tokenizer_name_or_path", "tokenizer_kwargs"] { config[key] = nil }
        config["peft_type"] = "P_TUNING"
        config["encoder_reparameterization_type"] = .string(encoder.encoder.peftName)
        config["encoder_hidden_size"] = .int(encoder.encoderHiddenSize)
        config["encoder_num_layers"] = .int(encoder.encoder.layerCount)
        config["encoder_dropout"] = .double(0)
        try PeftAdapterWriter.writeJSON(.object(config), to: folder.appendingPathComponent(PeftAdapterLayout.configFile))
    }

    /// adapter_config.json's fields, as peft's PromptTuningConfig writes them for a causal LM.
    static func configObject(_ config: PromptTuningConfig, model: ModelConfig, baseModel: String, revision: String?) -> JSONValue {
        var text = JSONValue.null
        if case .text(let value) = config.initialization { text = .string(value) }  // TEXT's text
        var fields = PromptLearningConfig.fields(peftType: "PROMPT_TUNING", numVirtualTokens: config.numVirtualTokens, model: model,
                                                 baseModel: baseModel, revision: revision)
        fields["token_dim"] = .int(model.hiddenSize)
        fields["num_attention_heads"] = .int(model.headCount)
        fields["prompt_tuning_init"] = .string(config.initialization.peftName)
        fields["prompt_tuning_init_text"] = text
        fields["tokenizer_name_or_path"] = config.tokenizerNameOrPath.map { .string($0) } ?? .null
        fields["tokenizer_kwargs"] = .null
        return .object(fields)
    }
}
