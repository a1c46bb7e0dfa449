import TailorAdapters

extension StepRunner {
    /// Wires AdaLoRA into each step as peft and transformers.Trainer run it: the orthogonal
    /// regulariser added to every micro-batch's loss (AdaLoraModel.forward), and the rank
    /// allocation after each optimizer step, before the gradients are zeroed (a callback's
    /// `on_optimizer_step` calling `update_and_allocate(state.global_step)`: the step number less
    /// one). total_step, when the config has none, is the run's step count.
    /// - Throws: `TrainingError.invalidValue` for a schedule that leaves no budgeting phase, or no
    ///   total step count (neither total_step nor a run with an end); `.conflictingKeys` with ZeRO
    ///   stage 2 (each rank holds only its own gradients).
    public func train(adaLoRA adapters: AdaLoRAAdapters, totalSteps: Int, seed: UInt64 = 42) throws {
        if adapters.config.totalStep == nil {
            guard totalSteps < Int.max else {
                throw TrainingError.invalidValue(key: "total_step", problem: "is needed: AdaLoRA's budget schedule needs the run's total optimizer steps, and this run has no end (num_train_epochs without a finite step count); set total_step or max_steps")
            }
            adapters.setTotalStep(totalSteps)
        }
        if let sharded = optimizer as? ShardedOptimizer, sharded.stage >= 2 {
            throw TrainingError.conflictingKeys(key: "peft_type", other: "deepspeed",
                                                problem: "ADALORA's rank allocation reads every adapter gradient after each step, which ZeRO stage 2 leaves on one rank each; use ZeRO stage 1 or plain data parallelism with AdaLoRA")
        }
        let allocator: AdaLoRARankAllocator
        do { allocator = try AdaLoRARankAllocator(adapters: adapters) } catch AdapterError.badOption(let name, let problem) {
            throw TrainingError.invalidValue(key: name, problem: problem)
        }
        let backend = model.backend
        regularizer = { gradients in try adapters.addOrthogonalRegularizer(gradients: gradients, backend: backend) }
        afterOptimizerStep = { step, gradients in
            try allocator.update(step: step - 1, gradients: gradients, backend: backend)
        }
        if adapters.hasDropout {
            beforeMicroBatch = { step, micro in
                adapters.setDropoutKey(StepRunner.dropoutKey(seed: seed, step: step, micro: micro))
            }
        }
    }
}
