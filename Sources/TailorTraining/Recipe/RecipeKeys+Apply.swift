/// Reading keys into a recipe, with what the table derives: every accepted spelling, the keys
/// accepted without effect, and the nearest name for a key nobody knows.
extension RecipeKeys {
    /// The table entry for each accepted spelling (canonical names and aliases).
    static let bySpelling: [String: RecipeKey] = {
        var entries: [String: RecipeKey] = [:]
        for key in table {
            for spelling in key.spellings {
                precondition(entries[spelling] == nil, "RecipeKeys.table spells '\(spelling)' twice")
                entries[spelling] = key
            }
        }
        return entries
    }()

    /// Canonical name for each alias.
    public static let aliases: [String: String] = Dictionary(uniqueKeysWithValues: table.flatMap { key in
        key.aliases.map { ($0, key.name) }
    })

    /// Keys TrainingArguments/LLaMA-Factory know that mean nothing to Tailor, with the reason
    /// given in the warning.
    public static let ignored: [String: String] = Dictionary(uniqueKeysWithValues: table.compactMap { key in
        key.ignoredBecause.map { (key.name, $0) }
    })

    /// Every canonical key Tailor acts on, in table order.
    public static let known: [String] = table.filter { $0.ignoredBecause == nil }.map(\.name)

    /// The entry a spelling names, or nil.
    public static func entry(_ spelling: String) -> RecipeKey? { bySpelling[spelling] }

    /// Applies one key; returns a warning when the key is accepted but has no effect.
    /// - Throws: `TrainingError.unknownKey` with the nearest accepted spelling, `.wrongValueType`
    ///   or `.invalidValue` naming the key as it was written.
    public static func apply(_ spelling: String, _ value: RecipeValue, to recipe: inout TrainRecipe) throws -> String? {
        guard let key = bySpelling[spelling] else {
            throw TrainingError.unknownKey(spelling, nearest: nearest(to: spelling))
        }
        if let reason = key.ignoredBecause {
            return "'\(spelling)' is accepted but has no effect: \(reason)"
        }
        recipe.givenKeys.insert(key.name)
        try key.read(value, spelling, &recipe)
        return nil
    }

    /// Applies `pairs` in order (a YAML file's, then the flags'); returns the warnings.
    public static func apply(_ pairs: [(String, RecipeValue)], to recipe: inout TrainRecipe) throws -> [String] {
        try pairs.compactMap { try apply($0.0, $0.1, to: &recipe) }
    }

    /// The accepted spelling closest to `spelling` (edit distance; the table's order breaks ties).
    static func nearest(to spelling: String) -> String {
        var best = "", bestDistance = Int.max
        for candidate in table.flatMap(\.spellings) {
            let distance = editDistance(spelling, candidate)
            if distance < bestDistance { (best, bestDistance) = (candidate, distance) }
        }
        return best
    }

    /// Levenshtein distance, for suggestions.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...max(b.count, 1) where j <= b.count {
                current[j] = Swift.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}

extension TrainRecipe {
    /// Checks what no run could start with: a required key without a value, keys that contradict
    /// each other, training values no run can use (`TrainingArguments.validate`: a learning rate
    /// that is not positive ...), so `--dry-run` reports them before any model loads. Values are
    /// also checked as they are read (`RecipeKeys.apply`).
    /// - Throws: `TrainingError.missingKey`, `.conflictingKeys` or `.invalidValue`.
    public func validate() throws {
        try checkRequiredKeys()
        try training.validate()
        if quantization.defaults != nil && finetuningType != .lora {
            throw TrainingError.conflictingKeys(key: quantization.defaults == .llamaFactory ? "quantization_bit" : "load_in_4bit",
                                                other: "finetuning_type",
                                                problem: "4-bit frozen weights train adapters only (QLoRA): use finetuning_type lora, or leave the quantization out to fully fine-tune")
        }
        if adapterNameOrPath != nil && finetuningType != .lora {
            throw TrainingError.conflictingKeys(key: "adapter_name_or_path", other: "finetuning_type",
                                                problem: "needs finetuning_type lora (got \(finetuningType.rawValue)); to fully fine-tune an adapted model, merge the adapter first (tailor merge)")
        }
        try validateLoRAVariants()
        try validateIA3()
        try validateAdaLoRA()
        try validatePromptTuning()
        if predictWithGenerate {
            guard stage == .sft else {
                throw TrainingError.conflictingKeys(key: "predict_with_generate", other: "stage",
                                                    problem: "answers prompts of SFT records; stage \(stage.rawValue) evaluates its own metrics (set predict_with_generate: false)")
            }
            guard training.evalStrategy != .no, validationFile != nil || validationSplit > 0 else {
                throw TrainingError.conflictingKeys(key: "predict_with_generate", other: training.evalStrategy == .no ? "eval_strategy" : "eval_dataset",
                                                    problem: "generates at each evaluation: set eval_strategy (steps or epoch) and evaluation records (eval_dataset, or val_size / validation_split)")
            }
        }
        if stage == .kto {
            if training.perDeviceTrainBatchSize < 2 {
                throw TrainingError.invalidValue(key: "per_device_train_batch_size",
                                                 problem: "must be at least 2 for stage kto: its KL estimate pairs each prompt with another example's completion in the batch (as TRL's KTOTrainer requires)")
            }
            if training.sampling != .sequential && (givenKeys.contains("train_sampling_strategy") || givenKeys.contains("shuffle")
                                                     || givenKeys.contains("group_by_length")) {
                throw TrainingError.conflictingKeys(key: "train_sampling_strategy", other: "stage",
                                                    problem: "must be sequential for stage kto: the KL completions are drawn from each batch in file order before training, as TRL's KTOTrainer requires")
            }
            guard preference.beta > 0, preference.beta.isFinite else {
                throw TrainingError.invalidValue(key: "beta", problem: "must be a positive number (got \(preference.beta)); TRL's default is 0.1")
            }
        }
        if stage == .dpo {
            guard preference.beta > 0, preference.beta.isFinite else {
                throw TrainingError.invalidValue(key: "beta", problem: "must be a positive number (got \(preference.beta)); TRL's default is 0.1")
            }
            if preference.losses.contains(.robust), !(0..<0.5).contains(preference.labelSmoothing) {
                throw TrainingError.invalidValue(key: "label_smoothing", problem: "must lie in [0, 0.5) for loss_type robust (got \(preference.labelSmoothing))")
            }
            if preference.losses.contains(.exoPair), !(preference.labelSmoothing > 0 && preference.labelSmoothing < 1) {
                throw TrainingError.invalidValue(key: "label_smoothing", problem: "must lie in (0, 1) for loss_type exo_pair (got \(preference.labelSmoothing)); the EXO paper uses 1e-3")
            }
            if preference.ftx != 0 {
                guard preference.ftx > 0, preference.ftx.isFinite else {
                    throw TrainingError.invalidValue(key: "pref_ftx", problem: "must be a number of at least 0 (got \(preference.ftx))")
                }
                guard preference.usesReference else {
                    throw TrainingError.conflictingKeys(key: "pref_ftx", other: "loss_type",
                                                        problem: "adds an NLL term to DPO's losses; loss_type \(preference.loss.rawValue) has its own (\(preference.loss == .simpo ? "cpo_alpha" : "ORPO's NLL, weight 1")): remove pref_ftx")
                }
            }
            if let weights = preference.lossWeights, weights.count != preference.losses.count {
                throw TrainingError.conflictingKeys(key: "loss_weights", other: "loss_type",
                                                    problem: "has \(weights.count) weights for \(preference.losses.count) losses; give one per loss")
            }
        }
    }

    /// What the run will do that its values may not mean: `max_steps: 0` (as in transformers, only a
    /// value above 0 counts, so the run trains num_train_epochs).
    public var warnings: [String] {
        var result: [String] = []
        if stage == .dpo, preference.loss == .simpo, !givenKeys.contains("cpo_alpha") {
            result.append("loss_type simpo adds cpo_alpha \(preference.cpoAlpha) × the NLL of the chosen replies, as TRL's CPOTrainer does"
                          + " by default; LLaMA-Factory's pref_loss simpo has no such term: set cpo_alpha: 0 for pure SimPO")
        }
        result += training.sharding.warnings
        if peftType == .pTuning, pTuningEncoder == .mlp, let key = ["encoder_num_layers", "encoder_dropout"].first(where: givenKeys.contains) {
            result.append("\(key) is read only by the LSTM prompt encoder (encoder_reparameterization_type LSTM); the MLP one always has"
                          + " 2 hidden layers and no dropout, as in peft, so \(key) changes nothing here")
        }
        if givenKeys.contains("max_steps") && training.maxSteps == 0 {
            result.append("max_steps: 0 means unset (only a value above 0 limits the steps, as in transformers), so the run trains"
                          + " num_train_epochs \(training.numTrainEpochs) epochs; give a positive max_steps, or -1 to say unset")
        }
        return result
    }

    /// Checks that the keys a run cannot do without have values (the table's required keys).
    /// - Throws: `TrainingError.missingKey` naming the first missing key and what to give.
    public func checkRequiredKeys() throws {
        for key in RecipeKeys.table {
            if let hint = key.required, key.isMissing(self) { throw TrainingError.missingKey(key.name, hint: hint) }
        }
    }
}
