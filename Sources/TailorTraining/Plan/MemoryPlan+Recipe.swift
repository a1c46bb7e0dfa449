import TailorModels

extension MemoryPlan {
    /// The recommended run as a recipe, built from the recipe key table (`RecipeKeys.apply`) so that
    /// `tailor train` reads it as written: model_name_or_path, dataset (when given), stage,
    /// finetuning_type, quantization_bit, r, lora_alpha, per_device_train_batch_size,
    /// gradient_accumulation_steps, gradient_checkpointing, max_seq_length, bf16 and device.
    /// - Throws: `TrainingError.nothingToTrain` when nothing fits.
    public func recipe() throws -> TrainRecipe {
        guard let r = recommendation else {
            throw TrainingError.nothingToTrain("no method fits in \(request.budget.summary); see the plan's notes")
        }
        var pairs: [(String, RecipeValue)] = []
        if let model = request.model.nameOrPath { pairs.append(("model_name_or_path", .string(model))) }
        if !request.datasets.isEmpty { pairs.append(("dataset", .list(request.datasets))) }
        if request.stage != .sft { pairs.append(("stage", .string(request.stage.rawValue))) }
        pairs.append(("finetuning_type", .string(r.method == .full ? "full" : "lora")))
        if r.method == .qlora { pairs.append(("quantization_bit", .number(4))) }
        if r.method != .full {
            pairs.append(("r", .number(Double(request.lora.r))))
            pairs.append(("lora_alpha", .number(request.lora.loraAlpha)))
        }
        pairs += [("per_device_train_batch_size", .number(Double(r.batch))), ("gradient_accumulation_steps", .number(Double(r.accumulation))),
                  ("gradient_checkpointing", .bool(r.checkpointing)), ("max_seq_length", .number(Double(r.seq))),
                  ("bf16", .bool(request.device == .cuda)), ("device", .string(request.device.rawValue))]
        var recipe = TrainRecipe()
        _ = try RecipeKeys.apply(pairs, to: &recipe)
        return recipe
    }

    /// The recipe as YAML for `tailor train`: only the keys the plan decides, with a header comment
    /// naming what is left to give.
    public func yaml() throws -> String {
        let recipe = try recipe()
        var header = "# tailor plan for \(request.model.label): \(MemoryEstimate.gigabytes(recommendation?.estimate.total ?? 0))"
            + " estimated peak of \(request.budget.summary)\n"
        if request.model.nameOrPath == nil { header += "# a preset has no weights: set model_name_or_path to a model folder or hub id of this shape\n" }
        if request.datasets.isEmpty { header += "# give the data: dataset: [FILE] here, or tailor train plan.yaml --dataset FILE\n" }
        return header + RecipeYAML.render(recipe, keys: recipe.givenKeys)
    }
}
