import TailorAdapters

extension TrainRecipe {
    /// The adapter method as peft's `peft_type` names it.
    public enum PeftType: String, Sendable, CaseIterable {
        case lora = "LORA"
        /// IA³ (peft's IA3Config): a learned vector per target Linear.
        case ia3 = "IA3"
        /// AdaLoRA (peft's AdaLoraConfig): an SVD-shaped update per target Linear whose ranks are pruned while training.
        case adalora = "ADALORA"
        /// Prompt tuning (peft's PromptTuningConfig): learned embeddings of virtual tokens put before every sequence.
        case promptTuning = "PROMPT_TUNING"
        /// Prefix tuning (peft's PrefixTuningConfig): learned keys and values in every layer put before every sequence's.
        case prefixTuning = "PREFIX_TUNING"
        /// P-tuning (peft's PromptEncoderConfig): the virtual tokens' embeddings computed by a trained MLP.
        case pTuning = "P_TUNING"

        /// Whether the method puts virtual tokens before every sequence (prompt, prefix or P-tuning).
        public var isPromptLearning: Bool { self == .promptTuning || self == .prefixTuning || self == .pTuning }
    }

    /// LoRA's keys, which an IA³ run has no use for (given with peft_type IA3 they are an error).
    static let loraOnlyKeys = ["r", "lora_alpha", "lora_dropout", "use_rslora", "layers_to_transform", "init_lora_weights", "bias",
                               "ensure_weight_tying", "use_dora", "rank_pattern", "alpha_pattern", "loraplus_lr_ratio",
                               "loraplus_lr_embedding"]
    /// IA³'s own keys (given without peft_type IA3 they are an error).
    static let ia3OnlyKeys = ["feedforward_modules", "init_ia3_weights"]

    /// The IA³ settings of this recipe: target_modules (peft's default for the architecture when
    /// not given) and modules_to_save from the shared keys, feedforward_modules and init_ia3_weights from `ia3`.
    public var ia3Config: IA3Config {
        IA3Config(targetModules: givenKeys.contains("target_modules") ? lora.targetModules : nil,
                  feedforwardModules: ia3.feedforwardModules, initIA3Weights: ia3.initIA3Weights, modulesToSave: lora.modulesToSave)
    }

    /// Whether tailor_config.yaml leaves out key `name` for this recipe: LoRA's own keys and
    /// finetuning_type in an IA³ run, those AdaLoRA does not take in an AdaLoRA run (read back,
    /// either would disagree with peft_type).
    func omits(_ name: String) -> Bool {
        switch peftType {
        case .lora: return false
        case .ia3: return name == "finetuning_type" || Self.loraOnlyKeys.contains(name)
        case .adalora: return name == "finetuning_type" || Self.loraKeysAdaLoRARefuses.contains(name)
        case .promptTuning, .prefixTuning, .pTuning: return ["finetuning_type", "target_modules", "modules_to_save", "lora_alpha", "lora_dropout"].contains(name)
            || Self.loraOnlyKeys.contains(name)
        }
    }

    /// peft_type's keys: IA³'s keys only with IA3, LoRA's only without; IA³ with neither a
    /// finetuning_type (LLaMA-Factory has none for it), 4-bit weights, a preference stage, nor
    /// settings peft refuses.
    /// - Throws: `TrainingError.conflictingKeys` / `.invalidValue` naming the key.
    func validateIA3() throws {
        guard peftType == .ia3 else {
            if peftType == .lora, let key = Self.ia3OnlyKeys.first(where: givenKeys.contains) {
                throw TrainingError.conflictingKeys(key: key, other: "peft_type",
                                                    problem: "is an IA³ setting, but peft_type is LORA (the default); set peft_type: IA3 to train IA³, or remove \(key)")
            }
            return
        }
        if let key = Self.adaLoRAOnlyKeys.first(where: givenKeys.contains) {
            throw TrainingError.conflictingKeys(key: key, other: "peft_type",
                                                problem: "is an AdaLoRA setting, but peft_type is IA3; set peft_type: ADALORA to train AdaLoRA, or remove \(key)")
        }
        if givenKeys.contains("finetuning_type") {
            throw TrainingError.conflictingKeys(key: "finetuning_type", other: "peft_type",
                                                problem: "is \(finetuningType.rawValue), which disagrees with peft_type IA3 (LLaMA-Factory has no finetuning_type for IA³); remove finetuning_type to train IA³, or peft_type to train \(finetuningType.rawValue)")
        }
        if let key = Self.loraOnlyKeys.first(where: givenKeys.contains) {
            throw TrainingError.conflictingKeys(key: key, other: "peft_type",
                                                problem: "is a LoRA setting, but peft_type IA3 trains one IA³ vector per target Linear, which has no \(key); remove it, or use peft_type LORA")
        }
        if quantization.defaults != nil {
            throw TrainingError.conflictingKeys(key: quantization.defaults == .llamaFactory ? "quantization_bit" : "load_in_4bit", other: "peft_type",
                                                problem: "IA³ over 4-bit frozen weights is not built yet; train IA³ on an unquantized base, or LoRA (QLoRA) on this one")
        }
        if stage == .dpo || stage == .kto {
            throw TrainingError.conflictingKeys(key: "stage", other: "peft_type",
                                                problem: "\(stage.rawValue) with IA³ is not built yet (its reference model is the base under a disabled LoRA adapter); use stage sft or pt, or peft_type LORA")
        }
        do { try ia3Config.check() } catch AdapterError.badOption(let name, let problem) {
            throw TrainingError.invalidValue(key: name, problem: problem)
        }
    }
}

extension RecipeKeys {
    /// peft_type: LORA, IA3, ADALORA, PROMPT_TUNING, PREFIX_TUNING or P_TUNING, in any letter case (peft's PeftType values are upper case).
    static func peftType(_ value: RecipeValue, _ key: String) throws -> TrainRecipe.PeftType {
        let text = try value.text(key)
        guard let type = TrainRecipe.PeftType(rawValue: text.uppercased()) else {
            let others = ["LOHA", "LOKR", "OFT", "BOFT", "VERA", "MULTITASK_PROMPT_TUNING"]
            if text.uppercased() == "BOTTLENECK" {
                throw TrainingError.invalidValue(key: key, problem: "is BOTTLENECK (bottleneck adapters, from LLM-Adapters' fork of peft), which Tailor does not train yet (docs/peft-methods.md says why); use LORA, which trains a similar share of the same layers")
            }
            let problem = others.contains(text.uppercased())
                ? "is \(text), a peft method Tailor does not train yet; use LORA, IA3, ADALORA, PROMPT_TUNING, PREFIX_TUNING or P_TUNING"
                : "must be LORA, IA3, ADALORA, PROMPT_TUNING, PREFIX_TUNING or P_TUNING (got \(text))"
            throw TrainingError.invalidValue(key: key, problem: problem)
        }
        return type
    }
}
