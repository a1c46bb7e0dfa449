extension RecipeKeys {
    /// optim, optim_args, and the sampling keys of both transformers generations:
    /// train_sampling_strategy (5.x) and group_by_length (4.x, LLaMA-Factory).
    static func applyOptimAndSampling(_ key: String, _ rawKey: String, _ value: RecipeValue,
                                      to t: inout TrainingArguments) throws {
        switch key {
        case "optim":
            let name = try string(key, value)
            guard let optim = OptimizerName(rawValue: name) else {
                throw TrainingError.badOption(name: rawKey,
                                              problem: "'\(name)' is not an optimizer Tailor implements; use one of \(OptimizerName.supportedList)")
            }
            t.optim = optim
        case "optim_args":
            if value == .null { t.optimArgs = nil; return }
            let text = try string(key, value)
            _ = try OptimArgs.parse(text)  // the form now; the keys once optim is known (TrainingArguments.validate)
            t.optimArgs = text
        case "group_by_length":
            t.groupByLength = try bool(key, value)
        default:
            let name = try string(key, value)
            guard let sampling = TrainingArguments.Sampling(rawValue: name) else {
                let known = TrainingArguments.Sampling.allCases.map(\.rawValue).joined(separator: ", ")
                throw TrainingError.badOption(name: rawKey,
                                              problem: "'\(name)' is not supported; use one of \(known) (batch_rebalance balances data-parallel ranks, which Tailor does not run)")
            }
            t.sampling = sampling
        }
    }
}
