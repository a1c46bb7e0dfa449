import TailorAdapters

extension TrainRecipe {
    /// AdaLoRA's own keys (given without peft_type ADALORA they are an error).
    static let adaLoRAOnlyKeys = ["init_r", "target_r", "tinit", "tfinal", "deltaT", "beta1", "beta2", "orth_reg_weight", "total_step"]
    /// LoRA's keys AdaLoRA has no use for (its rank is init_r; lora_alpha and lora_dropout apply).
    static let loraKeysAdaLoRARefuses = loraOnlyKeys.filter { $0 != "lora_alpha" && $0 != "lora_dropout" }

    /// The AdaLoRA settings of this recipe: target_modules (peft's default for the architecture
    /// when not given), lora_alpha (peft's default 8 when not given), lora_dropout and
    /// modules_to_save from the shared keys, the rest from `adalora`.
    public var adaLoRAConfig: AdaLoRAConfig {
        var config = adalora
        config.targetModules = givenKeys.contains("target_modules") ? lora.targetModules : nil
        config.loraAlpha = givenKeys.contains("lora_alpha") ? lora.loraAlpha : 8
        config.loraDropout = givenKeys.contains("lora_dropout") ? lora.loraDropout : 0
        config.modulesToSave = lora.modulesToSave
        config.rankPattern = nil
        return config
    }

    /// AdaLoRA's keys only with ADALORA; AdaLoRA with neither a finetuning_type, LoRA keys other
    /// than lora_alpha / lora_dropout, 4-bit weights, a preference stage, an adapter to start from
    /// or a checkpoint to resume (not built yet), nor settings peft refuses.
    /// - Throws: `TrainingError.conflictingKeys` / `.invalidValue` naming the key.
    func validateAdaLoRA() throws {
        guard peftType == .adalora else {
            if let key = Self.adaLoRAOnlyKeys.first(where: givenKeys.contains) {
                throw TrainingError.conflictingKeys(key: key, other: "peft_type",
                                                    problem: "is an AdaLoRA setting, but peft_type is \(peftType.rawValue); set peft_type: ADALORA to train AdaLoRA, or remove \(key)")
            }
            return
        }
        func refuse(_ key: String, _ problem: String) -> TrainingError { .conflictingKeys(key: key, other: "peft_type", problem: problem) }
        if givenKeys.contains("finetuning_type") {
            throw refuse("finetuning_type", "is \(finetuningType.rawValue), which disagrees with peft_type ADALORA (LLaMA-Factory has no finetuning_type for AdaLoRA); remove finetuning_type to train AdaLoRA")
        }
        if let key = Self.loraKeysAdaLoRARefuses.first(where: givenKeys.contains) {
            throw refuse(key, key == "r"
                ? "is LoRA's rank, which AdaLoRA (peft_type ADALORA) does not use (peft ignores it); set init_r (the starting rank) and target_r instead"
                : "is a LoRA setting that AdaLoRA (peft_type ADALORA) does not take; remove it, or use peft_type LORA")
        }
        if let key = Self.ia3OnlyKeys.first(where: givenKeys.contains) {
            throw refuse(key, "is an IA³ setting, but peft_type is ADALORA; remove it, or use peft_type IA3")
        }
        if quantization.defaults != nil {
            throw refuse(quantization.defaults == .llamaFactory ? "quantization_bit" : "load_in_4bit",
                         "AdaLoRA over 4-bit frozen weights is not built yet; train AdaLoRA on an unquantized base, or LoRA (QLoRA) on this one")
        }
        if stage == .dpo || stage == .kto {
            throw TrainingError.conflictingKeys(key: "stage", other: "peft_type",
                                                problem: "\(stage.rawValue) with AdaLoRA is not built yet; use stage sft or pt, or peft_type LORA")
        }
        if adapterNameOrPath != nil {
            throw TrainingError.conflictingKeys(key: "adapter_name_or_path", other: "peft_type",
                                                problem: "training on from an AdaLoRA folder is not built yet (the rank allocator's scores are not saved); train a fresh AdaLoRA adapter, or merge this one and train on the merged model")
        }
        if resumeFromCheckpoint != nil {
            throw TrainingError.conflictingKeys(key: "resume_from_checkpoint", other: "peft_type",
                                                problem: "resuming AdaLoRA is not built yet (checkpoints hold the pruned adapter but not the rank allocator's scores); start the run again")
        }
        do { try adaLoRAConfig.check() } catch AdapterError.badOption(let name, let problem) {
            throw TrainingError.invalidValue(key: name, problem: problem)
        }
    }
}
