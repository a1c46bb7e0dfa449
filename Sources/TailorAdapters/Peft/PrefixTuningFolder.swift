import Foundation
import TailorFormats
import TailorJSON
import TailorModels
import TailorTensor

/// Reading and writing a peft prefix-tuning folder: adapter_config.json with `peft_type:
/// "PREFIX_TUNING"` and adapter_model.safetensors holding `prompt_embeddings` [num_virtual_tokens,
/// num_layers · 2 · token_dim], where peft's token_dim is the model's key/value width (Hkv·D, for
/// grouped-query attention too). A folder trained with `prefix_projection` saves its encoder's
/// output in the same tensor (peft does not save the encoder), so it reads as a plain prefix.
public enum PrefixTuningFolder {
    public static let peftType = "PREFIX_TUNING"

    /// Whether `folder` holds a prefix-tuning adapter.
    public static func isPrefixTuning(folder: URL) -> Bool { (try? IA3AdapterFolder.peftType(folder: folder)) == peftType }

    /// Loads the folder's prefix for `model` without attaching it.
    /// - Throws: `AdapterError.adapterConfig` naming the field that does not fit this model,
    ///   `.adapterWeight` for a missing or mis-shaped `prompt_embeddings`.
    public static func load(folder: URL, for model: CausalLM) throws -> PrefixTuning {
        let config = try PromptLearningConfig(folder: folder, types: [peftType], model: model.config)
        let (file, count, c) = (config.file, config.numVirtualTokens, model.config)
        if let layers = try config.integer("num_layers"), layers != c.layerCount {
            throw AdapterError.adapterConfig(file: file, field: "num_layers", problem: "is \(layers), but this model has \(c.layerCount) layers; was the adapter made for another base model?")
        }
        if let tokenDim = try config.integer("token_dim"), tokenDim != c.kvDim {
            throw AdapterError.adapterConfig(file: file, field: "token_dim", problem: "is \(tokenDim), but this model's keys and values are \(c.kvDim) wide (num_key_value_heads × head_dim, peft's token_dim for prefix tuning); was the adapter made for another base model?")
        }
        let url = folder.appendingPathComponent(PeftAdapterLayout.weightsFile)
        let weights = try SafetensorsFile(url: url)
        let key = PrefixTuning.tensorName, shape = [count, c.layerCount * 2 * c.kvDim]
        guard let info = weights.info(key) else {
            throw AdapterError.adapterWeight(name: key, file: url.path, problem: "is missing; a prefix-tuning folder holds the layers' keys and values under that name")
        }
        guard info.shape == shape else {
            throw AdapterError.adapterWeight(name: key, file: url.path, problem: "has shape \(info.shape) but num_virtual_tokens \(count) and this model's \(c.layerCount) layers × 2 × \(c.kvDim) need \(shape); was the adapter made for another base model?")
        }
        if let other = weights.tensorNames.first(where: { $0 != key }) {
            throw AdapterError.adapterWeight(name: other, file: url.path, problem: "is not a prefix-tuning tensor (only \(key) is)")
        }
        return try PrefixTuning.fromPeftTable(try weights.floats(key), numVirtualTokens: count, model: model,
                                              encoderHiddenSize: try config.integer("encoder_hidden_size"),
                                              projected: config.root["prefix_projection"]?.boolValue ?? false)
    }
}

/// Writes prefix tuning as a peft adapter folder, loadable by `peft.PeftModel.from_pretrained`.
public enum PrefixTuningWriter {
    /// Writes `prefix` into `folder` (created if needed); each file is written atomically.
    public static func write(_ prefix: PrefixTuning, model: CausalLM, to folder: URL, baseModel: String, revision: String? = nil) throws {
        try PeftAdapterWriter.makeFolder(folder)
        let c = model.config
        let tensors = [SafetensorsWriter.Tensor(name: PrefixTuning.tensorName, shape: [prefix.numVirtualTokens, c.layerCount * 2 * c.kvDim],
                                                floats: try prefix.peftTable(backend: model.backend))]
        try SafetensorsWriter.write(tensors, metadata: ["format": "pt"], to: folder.appendingPathComponent(PeftAdapterLayout.weightsFile))
        var config = PromptLearningConfig.fields(peftType: PrefixTuningFolder.peftType, numVirtualTokens: prefix.numVirtualTokens,
                                                 model: c, baseModel: baseModel, revision: revision)
        // peft's token_dim and num_attention_heads for prefix tuning: the key/value width and heads.
        config["token_dim"] = .int(c.kvDim)
        config["num_attention_heads"] = .int(c.kvHeadCount)
        config["encoder_hidden_size"] = .int(prefix.encoderHiddenSize ?? c.kvDim)
        config["prefix_projection"] = .bool(prefix.projected)
        config["init_weights"] = .null
        try PeftAdapterWriter.writeJSON(.object(config), to: folder.appendingPathComponent(PeftAdapterLayout.configFile))
    }
}
