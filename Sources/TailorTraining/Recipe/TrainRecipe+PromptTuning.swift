import TailorAdapters

/// peft's PromptTuningConfig and PrefixTuningConfig keys (`peft_type: PROMPT_TUNING | PREFIX_TUNING`).
public struct PromptTuningSettings: Sendable, Equatable {
    /// `num_virtual_tokens` (required with PROMPT_TUNING and PREFIX_TUNING, as peft has no default).
    public var numVirtualTokens: Int?
    /// `prompt_tuning_init`, as peft names its values.
    public enum Initialization: String, Sendable, CaseIterable {
        case random = "RANDOM", text = "TEXT", sampleVocab = "SAMPLE_VOCAB"
    }

    /// `prompt_tuning_init`: RANDOM (peft's default), TEXT or SAMPLE_VOCAB.
    public var initialization = Initialization.random
    /// `prompt_tuning_init_text`: TEXT's text.
    public var initText: String?
    /// `tokenizer_name_or_path`: the tokenizer folder TEXT tokenizes with (the model's own when unset).
    public var tokenizerNameOrPath: String?
    /// `prefix_projection` (PREFIX_TUNING): the prefix computed while training by peft's PrefixEncoder
    /// (Embedding, Linear, Tanh, Linear); false trains the prefix as it is.
    public var prefixProjection = false
    /// `encoder_hidden_size` (P_TUNING, PREFIX_TUNING with prefix_projection): the encoder's width
    /// (peft: its token_dim when unset, the model's hidden_size for P-tuning, the key/value width for a prefix).
    public var encoderHiddenSize: Int?
    /// `encoder_reparameterization_type` (P_TUNING): MLP (peft's default) or LSTM.
    public var encoderReparameterizationType = "MLP"
    /// `encoder_num_layers` (P_TUNING with LSTM): the LSTM's layers (peft's default 2; the MLP always has 2).
    public var encoderNumLayers = 2
    /// `encoder_dropout` (P_TUNING with LSTM): dropout between the LSTM's layers (only 0, peft's default, is built).
    public var encoderDropout = 0.0

    public init() {}
}

extension TrainRecipe {
    /// Prompt tuning's own keys (given without peft_type PROMPT_TUNING they are an error).
    static let promptTuningOnlyKeys = ["prompt_tuning_init", "prompt_tuning_init_text", "tokenizer_name_or_path"]
    /// Prefix tuning's own keys (given without peft_type PREFIX_TUNING they are an error).
    static let prefixTuningOnlyKeys = ["prefix_projection"]
    /// P-tuning's own keys (given without peft_type P_TUNING they are an error).
    static let pTuningOnlyKeys = ["encoder_reparameterization_type", "encoder_num_layers", "encoder_dropout"]
    /// The prompt encoders' width, read by P_TUNING and PREFIX_TUNING (an error with other peft types).
    static let encoderKeys = ["encoder_hidden_size"]

    /// The prompt-tuning settings of this recipe, as the adapter layer takes them (TEXT's text as given).
    public var promptTuningConfig: PromptTuningConfig {
        let initialization: PromptTuningConfig.Initialization
        switch promptTuning.initialization {
        case .text: initialization = .text(promptTuning.initText ?? "")
        case .sampleVocab: initialization = .sampleVocab
        case .random: initialization = .random
        }
        return PromptTuningConfig(numVirtualTokens: promptTuning.numVirtualTokens ?? 0, initialization: initialization,
                                  tokenizerNameOrPath: promptTuning.initialization == .text ? (promptTuning.tokenizerNameOrPath ?? modelNameOrPath) : nil)
    }

    /// Prompt tuning's keys only with PROMPT_TUNING; PROMPT_TUNING with num_virtual_tokens, TEXT
    /// with its text, and none of the adapter keys of the Linear methods (it adapts no Linear),
    /// finetuning_type, 4-bit weights or a preference stage (not built yet).
    /// - Throws: `TrainingError.conflictingKeys` / `.invalidValue` / `.missingKey` naming the key.
    func validatePromptTuning() throws {
        for (keys, types, method) in [(Self.promptTuningOnlyKeys, [PeftType.promptTuning], "prompt-tuning"),
                                      (Self.prefixTuningOnlyKeys, [.prefixTuning], "prefix-tuning"),
                                      (Self.pTuningOnlyKeys, [.pTuning], "P-tuning"),
                                      (Self.encoderKeys, [.pTuning, .prefixTuning], "prompt-encoder"),
                                      (["num_virtual_tokens"], [.promptTuning, .prefixTuning, .pTuning], "prompt-learning")]
        where !types.contains(peftType) {
            let type = types[0]
            if let key = keys.first(where: givenKeys.contains) {
                throw TrainingError.conflictingKeys(key: key, other: "peft_type",
                                                    problem: "is a \(method) setting, but peft_type is \(peftType.rawValue); set peft_type: \(type.rawValue), or remove \(key)")
            }
        }
        guard peftType.isPromptLearning else { return }
        if peftType == .pTuning {
            try validatePromptEncoder()
        }
        if let size = promptTuning.encoderHiddenSize, size < 1 {
            throw TrainingError.invalidValue(key: "encoder_hidden_size", problem: "must be at least 1 (got \(size))")
        }
        if hasPromptEncoder {
            let (method, instead) = peftType == .pTuning ? ("P_TUNING", "peft_type PROMPT_TUNING") : ("prefix_projection", "PREFIX_TUNING without prefix_projection")
            for (key, given) in [("adapter_name_or_path", adapterNameOrPath != nil), ("resume_from_checkpoint", resumeFromCheckpoint != nil)] where given {
                throw TrainingError.conflictingKeys(key: key, other: peftType == .pTuning ? "peft_type" : "prefix_projection",
                                                    problem: "cannot go on with \(method): its folders hold the encoder's output, not the encoder (as peft saves them); start a fresh run, or train the saved table as \(instead)")
            }
        }
        func refuse(_ key: String, _ problem: String) -> TrainingError { .conflictingKeys(key: key, other: "peft_type", problem: problem) }
        if givenKeys.contains("finetuning_type") {
            throw refuse("finetuning_type", "is \(finetuningType.rawValue), which disagrees with peft_type \(peftType.rawValue) (LLaMA-Factory has no finetuning_type for prompt or prefix tuning); remove finetuning_type")
        }
        let linearKeys = Self.loraOnlyKeys + Self.ia3OnlyKeys + Self.adaLoRAOnlyKeys + ["target_modules", "modules_to_save"]
        if let key = linearKeys.first(where: givenKeys.contains) {
            throw refuse(key, "adapts Linear modules, but peft_type \(peftType.rawValue) trains only the virtual tokens; remove \(key), or use peft_type LORA, IA3 or ADALORA")
        }
        // A folder to start from says how many virtual tokens it holds.
        guard let count = promptTuning.numVirtualTokens ?? (adapterNameOrPath == nil ? nil : 1) else {
            throw TrainingError.missingKey("num_virtual_tokens", hint: "peft_type \(peftType.rawValue) needs the number of virtual tokens put before every sequence (peft's examples use 8 to 30)")
        }
        guard count >= 1 else { throw TrainingError.invalidValue(key: "num_virtual_tokens", problem: "must be at least 1 (got \(count))") }
        if promptTuning.initialization == .text {
            guard let text = promptTuning.initText, !text.isEmpty else {
                throw TrainingError.missingKey("prompt_tuning_init_text", hint: "prompt_tuning_init TEXT starts the virtual tokens from this text's token embeddings")
            }
        } else if givenKeys.contains("prompt_tuning_init_text") || givenKeys.contains("tokenizer_name_or_path") {
            throw TrainingError.conflictingKeys(key: givenKeys.contains("prompt_tuning_init_text") ? "prompt_tuning_init_text" : "tokenizer_name_or_path",
                                                other: "prompt_tuning_init", problem: "is read only with prompt_tuning_init TEXT (got \(promptTuning.initialization.rawValue)), as peft refuses it otherwise")
        }
        if quantization.defaults != nil {
            throw refuse(quantization.defaults == .llamaFactory ? "quantization_bit" : "load_in_4bit",
                         "\(peftType.rawValue) over 4-bit frozen weights is not built yet; use an unquantized base, or train LoRA (QLoRA) on this one")
        }
        if stage == .dpo || stage == .kto {
            throw TrainingError.conflictingKeys(key: "stage", other: "peft_type",
                                                problem: "\(stage.rawValue) with \(peftType.rawValue) is not built yet; use stage sft or pt, or peft_type LORA")
        }
    }
}

extension TrainRecipe {
    /// Whether the virtual tokens are computed by an encoder that trains (P_TUNING; PREFIX_TUNING with prefix_projection).
    public var hasPromptEncoder: Bool { peftType == .pTuning || (peftType == .prefixTuning && promptTuning.prefixProjection) }

    /// P-tuning's encoder type: MLP or LSTM, at least one layer, no dropout between the LSTM's layers (not built).
    func validatePromptEncoder() throws {
        let type = promptTuning.encoderReparameterizationType.uppercased()
        guard type == "MLP" || type == "LSTM" else {
            throw TrainingError.invalidValue(key: "encoder_reparameterization_type", problem: "is \(promptTuning.encoderReparameterizationType); peft's prompt encoders are MLP and LSTM")
        }
        guard promptTuning.encoderNumLayers >= 1 else {
            throw TrainingError.invalidValue(key: "encoder_num_layers", problem: "must be at least 1 (got \(promptTuning.encoderNumLayers))")
        }
        if type == "LSTM", promptTuning.encoderDropout != 0 {
            throw TrainingError.conflictingKeys(key: "encoder_dropout", other: "encoder_reparameterization_type",
                                                problem: "is \(promptTuning.encoderDropout); dropout between the LSTM's layers is not built (peft's default is 0); set 0 or remove it")
        }
    }

    /// P-tuning's encoder as the adapter layer takes it.
    public var pTuningEncoder: PTuning.Encoder {
        promptTuning.encoderReparameterizationType.uppercased() == "LSTM" ? .lstm(layers: promptTuning.encoderNumLayers) : .mlp
    }
}
