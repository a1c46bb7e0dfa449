/// The resolved recipe as YAML with Hugging Face key names (saved with each run as
/// tailor_config.yaml, and printed by --dry-run); `tailor train` reads it back unchanged.
public enum RecipeYAML {
    public static func render(_ r: TrainRecipe) -> String {
        let t = r.training
        var lines: [(String, String)] = [
            ("model_name_or_path", quote(r.modelNameOrPath)),
            ("dataset", "[" + r.datasets.map(quote).joined(separator: ", ") + "]"),
        ]
        if let format = r.datasetFormat { lines.append(("dataset_format", quote(format))) }
        if let template = r.template { lines.append(("template", quote(template))) }
        if let system = r.systemPrompt { lines.append(("system_prompt", quote(system))) }
        if let file = r.validationFile { lines.append(("validation_file", quote(file))) }
        lines += [
            ("validation_split", "\(r.validationSplit)"),
            ("max_seq_length", "\(r.maxSeqLength)"),
            ("packing", "\(r.packing)"),
            ("train_on_inputs", "\(r.trainOnInputs)"),
            ("finetuning_type", r.finetuningType.rawValue),
        ]
        if r.finetuningType == .lora {
            if let adapter = r.adapterNameOrPath { lines.append(("adapter_name_or_path", quote(adapter))) }
            let targets: String
            switch r.lora.targetModules {
            case .allLinear: targets = "all-linear"
            case let .names(names): targets = "[" + names.joined(separator: ", ") + "]"
            case let .regex(pattern): targets = quote(pattern)
            }
            lines += [("r", "\(r.lora.r)"), ("lora_alpha", "\(r.lora.loraAlpha)"), ("lora_dropout", "\(r.lora.loraDropout)"),
                      ("target_modules", targets), ("use_rslora", "\(r.lora.useRslora)")]
            if let layers = r.lora.layersToTransform { lines.append(("layers_to_transform", "\(layers)")) }
            lines += [("init_lora_weights", r.lora.initLoraWeights.rawValue), ("bias", r.lora.bias.rawValue)]
            if !r.lora.modulesToSave.isEmpty {
                lines.append(("modules_to_save", "[" + r.lora.modulesToSave.joined(separator: ", ") + "]"))
                lines.append(("ensure_weight_tying", "\(r.lora.ensureWeightTying)"))
            }
        }
        lines += [
            ("output_dir", quote(t.outputDir)), ("num_train_epochs", "\(t.numTrainEpochs)"), ("max_steps", "\(t.maxSteps)"),
            ("per_device_train_batch_size", "\(t.perDeviceTrainBatchSize)"), ("per_device_eval_batch_size", "\(t.perDeviceEvalBatchSize)"),
            ("gradient_accumulation_steps", "\(t.gradientAccumulationSteps)"), ("learning_rate", "\(t.learningRate)"),
            ("weight_decay", "\(t.weightDecay)"), ("optim", t.optim.rawValue), ("adam_beta1", "\(t.adamBeta1)"), ("adam_beta2", "\(t.adamBeta2)"),
            ("adam_epsilon", "\(t.adamEpsilon)"),
        ]
        if let optimArgs = t.optimArgs { lines.append(("optim_args", quote(optimArgs))) }
        lines += [
            ("max_grad_norm", "\(t.maxGradNorm)"), ("lr_scheduler_type", t.lrSchedulerType.rawValue),
            ("warmup_steps", "\(t.warmupSteps)"), ("warmup_ratio", "\(t.warmupRatio)"), ("seed", "\(t.seed)"),
            ("logging_steps", "\(t.loggingSteps)"), ("eval_strategy", t.evalStrategy.rawValue),
        ]
        if let steps = t.evalSteps { lines.append(("eval_steps", "\(steps)")) }
        lines += [("save_strategy", t.saveStrategy.rawValue), ("save_steps", "\(t.saveSteps)")]
        if let limit = t.saveTotalLimit { lines.append(("save_total_limit", "\(limit)")) }
        lines += [("gradient_checkpointing", "\(t.gradientCheckpointing)"), ("train_sampling_strategy", t.sampling.rawValue)]
        if let resume = r.resumeFromCheckpoint { lines.append(("resume_from_checkpoint", quote(resume))) }
        lines += [("device", r.device.rawValue), ("bf16", "\(r.bf16)")]
        return lines.map { "\($0.0): \($0.1)\n" }.joined()
    }

    /// A double-quoted YAML string.
    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
