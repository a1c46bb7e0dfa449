import TailorAdapters

/// A configuration value as YAML or a flag gives it.
public enum RecipeValue: Sendable, Equatable, CustomStringConvertible {
    case string(String)
    case number(Double)
    case bool(Bool)
    case list([String])
    case null

    public var description: String {
        switch self {
        case let .string(s): return s
        case let .number(n): return n.rounded() == n && abs(n) < 1e15 ? String(Int(n)) : String(n)
        case let .bool(b): return String(b)
        case let .list(l): return "[" + l.joined(separator: ", ") + "]"
        case .null: return "null"
        }
    }
}

/// Applies Hugging Face-named keys to a recipe, with the aliases that drifted between versions
/// and tools, warnings for keys that have no meaning here, and errors that suggest the nearest
/// valid name for keys nobody knows.
public struct RecipeKeys {
    /// Canonical name for each accepted spelling.
    public static let aliases: [String: String] = [
        "model": "model_name_or_path",
        "train_file": "dataset", "data_files": "dataset", "data_path": "dataset", "dataset_path": "dataset", "datasets": "dataset",
        "formatting": "dataset_format", "format": "dataset_format",
        "system": "system_prompt", "default_system": "system_prompt",
        "eval_file": "validation_file", "eval_dataset": "validation_file",
        "val_size": "validation_split", "validation_split_percentage": "validation_split",
        "max_length": "max_seq_length", "cutoff_len": "max_seq_length", "model_max_length": "max_seq_length",
        "lora_r": "r", "lora_rank": "r",
        "lora_target": "target_modules",
        "evaluation_strategy": "eval_strategy",
        "finetuning_method": "finetuning_type",
        "train_on_prompt": "train_on_inputs",
    ]

    /// Keys TrainingArguments/LLaMA-Factory know that mean nothing to Tailor: accepted with a warning.
    public static let ignored: [String: String] = [
        "report_to": "Tailor always writes metrics.jsonl and TensorBoard events",
        "dataloader_num_workers": "data is prepared before training on all cores",
        "dataloader_pin_memory": "not applicable on the CPU",
        "fp16": "Tailor computes in fp32, or bf16 with bf16: true on cuda", "tf32": "not applicable",
        "logging_dir": "TensorBoard events go to output_dir/runs", "run_name": "not used", "overwrite_output_dir": "outputs are written atomically",
        "do_train": "tailor train always trains", "do_eval": "set eval_strategy instead", "push_to_hub": "Tailor does not upload",
        "hub_model_id": "Tailor does not upload", "ddp_find_unused_parameters": "not applicable", "deepspeed": "not applicable",
        "torch_compile": "not applicable",
        "remove_unused_columns": "not applicable", "label_names": "not applicable", "load_best_model_at_end": "not implemented; the last model is saved",
        "metric_for_best_model": "not implemented", "greater_is_better": "not implemented", "logging_first_step": "not used",
        "save_safetensors": "Tailor always writes safetensors", "gradient_checkpointing_kwargs": "not used",
        "lazy_preprocess": "not used", "preprocessing_num_workers": "data is prepared on all cores", "overwrite_cache": "no cache",
        "plot_loss": "loss.png and loss.svg are always written", "stage": "set finetuning_type (sft is the default)",
        "trust_remote_code": "no code is run from model folders", "task_type": "CAUSAL_LM is the only task", "inference_mode": "not applicable",
        "dataset_text_field": "the format is detected", "disable_tqdm": "the progress bar is the console sink",
        "dataset_num_proc": "data is prepared on all cores",
    ]

    /// Every canonical key Tailor acts on.
    public static let known: [String] = [
        "model_name_or_path", "dataset", "dataset_format", "template", "system_prompt", "validation_file", "validation_split",
        "max_seq_length", "packing", "train_on_inputs", "finetuning_type", "r", "lora_alpha", "lora_dropout", "target_modules",
        "use_rslora", "layers_to_transform", "init_lora_weights", "bias", "modules_to_save", "ensure_weight_tying",
        "adapter_name_or_path", "output_dir", "num_train_epochs", "max_steps", "per_device_train_batch_size",
        "per_device_eval_batch_size", "gradient_accumulation_steps", "learning_rate", "weight_decay", "adam_beta1",
        "adam_beta2", "adam_epsilon", "max_grad_norm", "lr_scheduler_type", "warmup_steps", "warmup_ratio", "seed",
        "logging_steps", "eval_strategy", "eval_steps", "save_strategy", "save_steps", "save_total_limit",
        "gradient_checkpointing", "resume_from_checkpoint", "shuffle", "assistant_only_loss",
        "optim", "optim_args", "train_sampling_strategy", "group_by_length", "device", "use_cpu", "no_cuda", "bf16",
    ]

    /// Applies one key; returns a warning when the key is accepted but has no effect.
    public static func apply(_ rawKey: String, _ value: RecipeValue, to recipe: inout TrainRecipe) throws -> String? {
        let key = aliases[rawKey] ?? rawKey
        if let reason = ignored[key] {
            return "'\(rawKey)' is accepted but has no effect: \(reason)"
        }
        guard known.contains(key) else {
            let candidates = known + Array(aliases.keys) + Array(ignored.keys)
            let nearest = candidates.min { editDistance(rawKey, $0) < editDistance(rawKey, $1) } ?? ""
            throw TrainingError.badOption(name: rawKey, problem: "is not a known option; did you mean '\(nearest)'? (see tailor train --help)")
        }
        recipe.givenKeys.insert(key)
        var t = recipe.training
        switch key {
        case "model_name_or_path": recipe.modelNameOrPath = try string(key, value)
        case "dataset": recipe.datasets = try list(key, value)
        case "dataset_format": recipe.datasetFormat = try string(key, value)
        case "template": recipe.template = try string(key, value)
        case "system_prompt": recipe.systemPrompt = try string(key, value)
        case "validation_file": recipe.validationFile = try string(key, value)
        case "validation_split": recipe.validationSplit = try fraction(key, value)
        case "max_seq_length": recipe.maxSeqLength = try int(key, value, min: 2)
        case "packing": recipe.packing = try bool(key, value)
        case "device":
            guard let device = TrainRecipe.Device(rawValue: try string(key, value)) else {
                throw TrainingError.badOption(name: rawKey, problem: "must be one of auto, cpu, cuda (got \(value))")
            }
            recipe.device = device
        case "use_cpu", "no_cuda": if try bool(key, value) { recipe.device = .cpu }
        case "bf16": recipe.bf16 = try bool(key, value)
        case "train_on_inputs": recipe.trainOnInputs = try bool(key, value)
        case "assistant_only_loss": recipe.trainOnInputs = !(try bool(key, value))
        case "finetuning_type":
            guard let type = TrainRecipe.FinetuningType(rawValue: try string(key, value)) else {
                throw TrainingError.badOption(name: rawKey, problem: "must be 'lora' or 'full' (got \(value))")
            }
            recipe.finetuningType = type
        case "r": recipe.lora.r = try int(key, value, min: 1)
        case "lora_alpha": recipe.lora.loraAlpha = try number(key, value)
        case "lora_dropout": recipe.lora.loraDropout = try fraction(key, value)
        case "target_modules": recipe.lora.targetModules = try targets(value)
        case "use_rslora": recipe.lora.useRslora = try bool(key, value)
        case "layers_to_transform":
            recipe.lora.layersToTransform = try list(key, value).map { item in
                guard let index = Int(item) else { throw TrainingError.badOption(name: rawKey, problem: "must list layer numbers (got \(item))") }
                return index
            }
        case "init_lora_weights": recipe.lora.initLoraWeights = try loraInit(value)
        case "bias":
            guard let bias = LoRABias(rawValue: try string(key, value)) else {
                throw TrainingError.badOption(name: rawKey, problem: "must be none, all or lora_only (got \(value))")
            }
            recipe.lora.bias = bias
        case "modules_to_save": recipe.lora.modulesToSave = value == .null ? [] : try list(key, value)
        case "ensure_weight_tying": recipe.lora.ensureWeightTying = try bool(key, value)
        case "adapter_name_or_path": recipe.adapterNameOrPath = value == .null ? nil : try string(key, value)
        case "output_dir": t.outputDir = try string(key, value)
        case "num_train_epochs": t.numTrainEpochs = try number(key, value)
        case "max_steps": t.maxSteps = try int(key, value, min: -1)
        case "per_device_train_batch_size": t.perDeviceTrainBatchSize = try int(key, value, min: 1)
        case "per_device_eval_batch_size": t.perDeviceEvalBatchSize = try int(key, value, min: 1)
        case "gradient_accumulation_steps": t.gradientAccumulationSteps = try int(key, value, min: 1)
        case "learning_rate": t.learningRate = try number(key, value)
        case "weight_decay": t.weightDecay = try number(key, value)
        case "adam_beta1": t.adamBeta1 = try number(key, value)
        case "adam_beta2": t.adamBeta2 = try number(key, value)
        case "adam_epsilon": t.adamEpsilon = try number(key, value)
        case "max_grad_norm": t.maxGradNorm = try number(key, value)
        case "lr_scheduler_type":
            guard let kind = LRSchedule.Kind(rawValue: try string(key, value)) else {
                throw TrainingError.badOption(name: rawKey, problem: "must be one of \(LRSchedule.Kind.allCases.map(\.rawValue).joined(separator: ", ")) (got \(value))")
            }
            t.lrSchedulerType = kind
        case "warmup_steps":
            // transformers 5 folded warmup_ratio in: a float below 1 is a ratio.
            let steps = try number(key, value)
            if steps > 0 && steps < 1 { t.warmupRatio = steps; t.warmupSteps = 0 } else { t.warmupSteps = try int(key, value, min: 0) }
        case "warmup_ratio": t.warmupRatio = try fraction(key, value)
        case "seed": t.seed = UInt64(try int(key, value, min: 0))
        case "logging_steps": t.loggingSteps = try int(key, value, min: 1)
        case "eval_strategy": t.evalStrategy = try strategy(key, value)
        case "eval_steps": t.evalSteps = try int(key, value, min: 1)
        case "save_strategy": t.saveStrategy = try strategy(key, value)
        case "save_steps": t.saveSteps = try int(key, value, min: 1)
        case "save_total_limit": t.saveTotalLimit = value == .null ? nil : try int(key, value, min: 1)
        case "gradient_checkpointing": t.gradientCheckpointing = try bool(key, value)
        case "shuffle": t.shuffle = try bool(key, value)
        case "optim", "optim_args", "train_sampling_strategy", "group_by_length": try applyOptimAndSampling(key, rawKey, value, to: &t)
        case "resume_from_checkpoint": recipe.resumeFromCheckpoint = value == .null ? nil : try string(key, value)
        default: break
        }
        recipe.training = t
        return nil
    }

    // MARK: Value conversion

    static func string(_ key: String, _ value: RecipeValue) throws -> String {
        switch value {
        case let .string(s): return s
        case .number, .bool: return value.description
        default: throw TrainingError.badOption(name: key, problem: "must be a single value (got \(value))")
        }
    }

    static func list(_ key: String, _ value: RecipeValue) throws -> [String] {
        switch value {
        case let .list(items): return items
        case let .string(s):
            // "a,b" or a YAML flow list "[a, b]" written on the command line.
            let inner = s.hasPrefix("[") && s.hasSuffix("]") ? String(s.dropFirst().dropLast()) : s
            return inner.split(separator: ",").map { unquoted(String($0).trimmingSpaces) }.filter { !$0.isEmpty }
        case .number: return [value.description]
        default: throw TrainingError.badOption(name: key, problem: "must be a list (got \(value))")
        }
    }

    /// `text` without one pair of surrounding quotes ('a' or "a").
    static func unquoted(_ text: String) -> String {
        guard text.count >= 2, let first = text.first, first == "'" || first == "\"", text.last == first else { return text }
        return String(text.dropFirst().dropLast())
    }

    static func number(_ key: String, _ value: RecipeValue) throws -> Double {
        switch value {
        case let .number(n): return n
        case let .string(s): if let n = Double(s) { return n }
        default: break
        }
        throw TrainingError.badOption(name: key, problem: "must be a number (got \(value))")
    }

    static func int(_ key: String, _ value: RecipeValue, min: Int) throws -> Int {
        let n = try number(key, value)
        guard n.rounded() == n, n >= Double(min), n < 1e12 else {
            throw TrainingError.badOption(name: key, problem: "must be an integer of at least \(min) (got \(value))")
        }
        return Int(n)
    }

    static func fraction(_ key: String, _ value: RecipeValue) throws -> Double {
        let n = try number(key, value)
        guard (0...1).contains(n) else { throw TrainingError.badOption(name: key, problem: "must be between 0 and 1 (got \(value))") }
        return n
    }

    static func bool(_ key: String, _ value: RecipeValue) throws -> Bool {
        switch value {
        case let .bool(b): return b
        case let .string(s) where ["true", "yes", "1"].contains(s.lowercased()): return true
        case let .string(s) where ["false", "no", "0"].contains(s.lowercased()): return false
        case let .number(n): return n != 0
        default: throw TrainingError.badOption(name: key, problem: "must be true or false (got \(value))")
        }
    }

    static func strategy(_ key: String, _ value: RecipeValue) throws -> TrainingArguments.Strategy {
        // YAML 1.1 reads a bare `no` as false (tailor_config.yaml writes `eval_strategy: no`).
        if value == .bool(false) { return .no }
        guard let strategy = TrainingArguments.Strategy(rawValue: try string(key, value)) else {
            throw TrainingError.badOption(name: key, problem: "must be no, steps or epoch (got \(value))")
        }
        return strategy
    }

    /// init_lora_weights: true, false or gaussian (peft's other methods change the base weights too).
    static func loraInit(_ value: RecipeValue) throws -> LoRAInit {
        switch value {
        case let .bool(flag): return flag ? .kaiming : .linearDefault
        case let .string(text):
            switch text.lowercased() {
            case "true", "yes": return .kaiming
            case "false", "no": return .linearDefault
            case "gaussian": return .gaussian
            default: break
            }
        default: break
        }
        throw TrainingError.badOption(name: "init_lora_weights",
                                      problem: "must be true (kaiming-uniform A, zero B), gaussian (normal A, zero B) or false (no LoRA init); got \(value). PiSSA, OLoRA, LoftQ, EVA and CorDA are not implemented")
    }

    /// target_modules: a list of names, "all-linear" (LLaMA-Factory: "all"), or a regex string.
    static func targets(_ value: RecipeValue) throws -> TargetModules {
        switch value {
        case let .list(items): return .names(items)
        case let .string(s):
            if s == "all-linear" || s == "all" { return .allLinear }
            if s.contains(",") { return .names(s.split(separator: ",").map { String($0).trimmingSpaces }) }
            if s.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) { return .names([s]) }
            return .regex(s)
        default:
            throw TrainingError.badOption(name: "target_modules", problem: "must be a list of module names, 'all-linear' or a regular expression")
        }
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

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first?.isWhitespace == true { s = s.dropFirst() }
        while s.last?.isWhitespace == true { s = s.dropLast() }
        return String(s)
    }
}
