import TailorAdapters

extension TrainRecipe {
    /// The LoRA variants' keys (use_dora, rank_pattern, alpha_pattern, loraplus_lr_ratio,
    /// loraplus_lr_embedding) belong to LoRA: given with full fine-tuning they are an error, as
    /// are values no run can use.
    /// - Throws: `TrainingError.conflictingKeys` / `.invalidValue` naming the key.
    func validateLoRAVariants() throws {
        let loraOnly = ["use_dora", "rank_pattern", "alpha_pattern", "loraplus_lr_ratio", "loraplus_lr_embedding", "pissa_init", "pissa_convert"]
        if finetuningType != .lora, let key = loraOnly.first(where: { givenKeys.contains($0) }) {
            throw TrainingError.conflictingKeys(key: key, other: "finetuning_type",
                                                problem: "is a LoRA setting, but finetuning_type is \(finetuningType.rawValue), which trains every weight and has no adapter; remove \(key) or use finetuning_type lora")
        }
        if let ratio = training.loraPlusLRRatio, !(ratio > 0 && ratio.isFinite) {
            throw TrainingError.invalidValue(key: "loraplus_lr_ratio", problem: "must be a positive number (got \(ratio)); the LoRA+ paper uses 16")
        }
        if !(training.loraPlusLREmbedding >= 0 && training.loraPlusLREmbedding.isFinite) {
            throw TrainingError.invalidValue(key: "loraplus_lr_embedding", problem: "must be a learning rate of at least 0 (got \(training.loraPlusLREmbedding))")
        }
        do { try LoRAAdapters.check(lora) } catch AdapterError.badOption(let name, let problem) {
            throw TrainingError.invalidValue(key: name, problem: problem)
        }
        try validatePiSSAKeys()
    }
}
