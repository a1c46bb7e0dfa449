/// The files of a peft adapter folder, as `PeftModel.save_pretrained` writes them and
/// `PeftModel.from_pretrained` reads them, and the names of the tensors in its weights file.
/// Layout only: what the tensors and fields mean for a model is TailorAdapters' business.
///
///     adapter_config.json          the settings (`PeftAdapterConfigKey`)
///     adapter_model.safetensors    base_model.model.<module>.lora_A.weight [r, in]
///                                  base_model.model.<module>.lora_B.weight [out, r]
///                                  base_model.model.<module>.lora_magnitude_vector [out] (DoRA)
///                                  base_model.model.<module>.ia3_l [out, 1] or [1, in] (peft_type IA3)
///                                  base_model.model.<module>.lora_A [r, in], .lora_E [r, 1], .lora_B [out, r]
///                                  (peft_type ADALORA: no `.weight`)
///                                  base_model.model.<parameter> (full tensors: biases, modules_to_save)
public enum PeftAdapterLayout {
    /// The settings file.
    public static let configFile = "adapter_config.json"
    /// The weights file.
    public static let weightsFile = "adapter_model.safetensors"
    /// What every key of the weights file starts with; the model's own name for the tensor follows.
    public static let keyPrefix = "base_model.model."
    /// The suffix of an adapted module's A [r, in] after its module name.
    public static let loraASuffix = ".lora_A.weight"
    /// The suffix of an adapted module's B [out, r] after its module name.
    public static let loraBSuffix = ".lora_B.weight"
    /// The suffix of a DoRA module's magnitude vector [out] after its module name (peft saves it without `.weight`).
    public static let magnitudeSuffix = ".lora_magnitude_vector"
    /// The suffix of an IA³ module's vector after its module name: [out, 1], or [1, in] for a
    /// feed-forward module (peft saves it without `.weight`).
    public static let ia3Suffix = ".ia3_l"
    /// The suffixes of an AdaLoRA module's A [r, in], E [r, 1] and B [out, r] after its module
    /// name (peft saves them without `.weight`).
    public static let adaLoRAASuffix = ".lora_A", adaLoRAESuffix = ".lora_E", adaLoRABSuffix = ".lora_B"
    /// What stands between an adapted module's name and its own parameters (`...q_proj.base_layer.bias`).
    public static let baseLayer = ".base_layer"

    /// The weights file's key for the tensor the model calls `name` ("model.layers.0.self_attn.q_proj.lora_A.weight").
    public static func key(_ name: String) -> String { keyPrefix + name }
}

/// The fields of adapter_config.json (peft's `LoraConfig`) that Tailor writes or checks, by their
/// names in the file: the file's schema. Values are JSON as peft writes them.
public enum PeftAdapterConfigKey: String, CaseIterable, Sendable {
    /// "LORA" (an IA³ folder says "IA3"; TailorAdapters' IA3AdapterFolder reads its fields).
    case peftType = "peft_type"
    /// "CAUSAL_LM".
    case taskType = "task_type"
    /// The base model: a hub id or a folder.
    case baseModelNameOrPath = "base_model_name_or_path"
    /// The rank, an integer.
    case r
    /// A number; the scaling is lora_alpha / r (or / √r with use_rslora).
    case loraAlpha = "lora_alpha"
    /// A number in [0, 1).
    case loraDropout = "lora_dropout"
    /// A list of module names, "all-linear", or a regular expression (a string).
    case targetModules = "target_modules"
    /// null, an integer, or a list of layer indices.
    case layersToTransform = "layers_to_transform"
    /// "none", "all" or "lora_only".
    case bias
    /// A boolean.
    case useRslora = "use_rslora"
    /// true, false or a string naming an initialisation ("gaussian", "pissa", ...).
    case initLoraWeights = "init_lora_weights"
    /// null or a list of module names.
    case modulesToSave = "modules_to_save"
    /// A boolean.
    case ensureWeightTying = "ensure_weight_tying"
    /// A boolean.
    case inferenceMode = "inference_mode"
    /// null or a revision of the base model.
    case revision
    /// A boolean.
    case fanInFanOut = "fan_in_fan_out"
    /// A boolean.
    case useDora = "use_dora"
    /// An object: module name → rank.
    case rankPattern = "rank_pattern"
    /// An object: module name → lora_alpha.
    case alphaPattern = "alpha_pattern"
    /// null or a list of layer ranges.
    case layerReplication = "layer_replication"
    /// A boolean.
    case useQalora = "use_qalora"
    /// A boolean.
    case loraBias = "lora_bias"
    /// null, a list of token ids, or an object: module name → token ids.
    case trainableTokenIndices = "trainable_token_indices"
    /// null or a list of token ids.
    case aloraInvocationTokens = "alora_invocation_tokens"
    /// null or a list of parameter names.
    case targetParameters = "target_parameters"
    /// null or an object.
    case arrowConfig = "arrow_config"
    /// A boolean.
    case useBdlora = "use_bdlora"
}
