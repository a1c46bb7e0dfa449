/// Training options with transformers.TrainingArguments' meanings (Swift names here; the CLI and
/// YAML use the Hugging Face spellings).
public struct TrainingArguments: Sendable, Equatable {
    public enum Strategy: String, Sendable, CaseIterable { case no, steps, epoch }
    /// train_sampling_strategy: the order of training rows in each epoch.
    public enum Sampling: String, Sendable, CaseIterable {
        /// A seeded permutation per epoch (transformers' RandomSampler).
        case random
        /// File order.
        case sequential
        /// transformers' LengthGroupedSampler over a seeded permutation (see `LengthGrouping`).
        case groupByLength = "group_by_length"
    }

    public var outputDir: String = "output"
    /// Replace another run's checkpoints in outputDir instead of refusing to start (transformers 4's
    /// `overwrite_output_dir`, which v5 dropped; Tailor keeps it with this meaning).
    public var overwriteOutputDir: Bool = false
    public var numTrainEpochs: Double = 3
    /// When > 0, overrides numTrainEpochs.
    public var maxSteps: Int = -1
    public var perDeviceTrainBatchSize: Int = 8
    public var perDeviceEvalBatchSize: Int = 8
    public var gradientAccumulationSteps: Int = 1
    public var learningRate: Double = 5e-5
    public var weightDecay: Double = 0
    /// The optimizer (transformers' `optim`).
    public var optim: OptimizerName = .adamwTorch
    /// transformers' `optim_args`, e.g. "momentum=0.9,nesterov=True" (read for sgd).
    public var optimArgs: String? = nil
    /// LoRA+ (LLaMA-Factory's `loraplus_lr_ratio`, peft's `create_loraplus_optimizer`): lora_B and
    /// every 1-D tensor train at learning_rate × this ratio; nil: off (see `LoRAPlus`).
    public var loraPlusLRRatio: Double? = nil
    /// LoRA+'s learning rate for LoRA on Embedding layers (peft's `loraplus_lr_embedding`, 1e-6).
    public var loraPlusLREmbedding: Double = 1e-6
    public var adamBeta1: Double = 0.9
    public var adamBeta2: Double = 0.999
    public var adamEpsilon: Double = 1e-8
    public var maxGradNorm: Double = 1
    public var lrSchedulerType: LRSchedule.Kind = .linear
    public var warmupSteps: Int = 0
    public var warmupRatio: Double = 0
    public var seed: UInt64 = 42
    public var loggingSteps: Int = 500
    public var evalStrategy: Strategy = .no
    public var evalSteps: Int? = nil
    /// Evaluate once before the first step (transformers' `eval_on_start`), whatever eval_strategy says.
    public var evalOnStart: Bool = false
    public var saveStrategy: Strategy = .steps
    public var saveSteps: Int = 500
    public var saveTotalLimit: Int? = nil
    public var gradientCheckpointing: Bool = false
    /// Seconds a data-parallel collective waits for the other ranks before the run stops naming the
    /// failure (transformers' `ddp_timeout`, 1800).
    public var ddpTimeout: Double = 1800
    /// ZeRO sharding of a data-parallel run (`deepspeed: ds_config.json` or `fsdp: shard_grad_op`).
    public var sharding = ShardingSettings()
    /// The DeepSpeed JSON file `sharding` was read from, or FSDP's words: written back into tailor_config.yaml.
    public var deepspeed: String?
    public var fsdp: String?
    /// The order of training rows in each epoch (transformers' `train_sampling_strategy`).
    public var sampling: Sampling = .random

    /// Shuffle the training rows each epoch; false keeps file order. Setting it true keeps
    /// group_by_length (which shuffles too).
    public var shuffle: Bool {
        get { sampling != .sequential }
        set { sampling = newValue ? (sampling == .sequential ? .random : sampling) : .sequential }
    }

    /// transformers 4's `group_by_length` (5 spells it train_sampling_strategy="group_by_length").
    public var groupByLength: Bool {
        get { sampling == .groupByLength }
        set { sampling = newValue ? .groupByLength : (sampling == .groupByLength ? .random : sampling) }
    }

    public init() {}

    /// Checks values that would make a run meaningless; names the option.
    public func validate() throws {
        func positive(_ name: String, _ value: Int) throws {
            guard value > 0 else { throw TrainingError.invalidValue(key: name, problem: "must be a positive integer (got \(value))") }
        }
        try positive("per_device_train_batch_size", perDeviceTrainBatchSize)
        try positive("per_device_eval_batch_size", perDeviceEvalBatchSize)
        try positive("gradient_accumulation_steps", gradientAccumulationSteps)
        try positive("logging_steps", loggingSteps)
        if saveStrategy == .steps { try positive("save_steps", saveSteps) }
        guard learningRate > 0, learningRate.isFinite else {  // checked before the model loads (TrainRecipe.validate)
            throw TrainingError.invalidValue(key: "learning_rate", problem: "must be a positive number (got \(learningRate))")
        }
        guard maxSteps > 0 || numTrainEpochs > 0 else {
            throw TrainingError.conflictingKeys(key: "num_train_epochs", other: "max_steps", problem: "must be positive when max_steps is not set")
        }
        guard (0...1).contains(warmupRatio) else {
            throw TrainingError.invalidValue(key: "warmup_ratio", problem: "must be between 0 and 1 (got \(warmupRatio))")
        }
        guard warmupSteps >= 0 else { throw TrainingError.invalidValue(key: "warmup_steps", problem: "must not be negative") }
        if let limit = saveTotalLimit, limit < 1 {
            throw TrainingError.invalidValue(key: "save_total_limit", problem: "must be at least 1 (got \(limit))")
        }
        try sharding.validate(against: self)
        guard ddpTimeout > 0 else {
            throw TrainingError.invalidValue(key: "ddp_timeout", problem: "must be a positive number of seconds (got \(ddpTimeout))")
        }
        try validateOptimizer()
    }
}
