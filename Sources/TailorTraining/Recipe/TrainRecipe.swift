import TailorAdapters
import TailorData

/// Everything `tailor train` needs, resolved from a YAML file and flags with the names users know
/// from TrainingArguments, LoraConfig, TRL's SFTConfig and LLaMA-Factory.
public struct TrainRecipe: Sendable, Equatable {
    public enum FinetuningType: String, Sendable, CaseIterable { case lora, full }
    /// Where training computes: `device: auto | cpu | cuda` (TrainingArguments' `use_cpu` / `no_cuda` mean cpu).
    public enum Device: String, Sendable, CaseIterable { case auto, cpu, cuda }

    public var modelNameOrPath: String = ""
    /// LLaMA-Factory's `model_revision`: the hub branch, tag or commit of a hub id model.
    public var modelRevision: String = "main"
    /// Training data files (or folders/globs).
    public var datasets: [String] = []
    /// LLaMA-Factory's `dataset_dir`: where dataset_info.json resolves dataset names (nil: "data").
    public var datasetDir: String?
    /// How the datasets become samples: format, column and chat templates, system prompt,
    /// max_seq_length and truncation, masking; the options `tailor data` takes, shared with it.
    public var data = DatasetOptions(maxLength: TrainRecipe.defaultMaxSeqLength)
    /// LLaMA-Factory's `max_samples`: only the first N records of each dataset (nil: all).
    public var maxSamples: Int?
    public var validationFile: String?
    /// Seq2SeqTrainingArguments' `predict_with_generate`: each evaluation also answers the
    /// evaluation records' prompts and logs the generation metrics (stage sft).
    public var predictWithGenerate = false
    /// Evaluation records `predict_with_generate` answers, from the first (nil: all).
    public var evalMaxSamples: Int? = 64
    /// Most new tokens per `predict_with_generate` answer (LLaMA-Factory's generating argument).
    public var maxNewTokens = 128
    /// Fraction of the training data held out for evaluation (0 = none).
    public var validationSplit: Double = 0
    public var packing: Bool = false
    public var finetuningType: FinetuningType = .lora
    /// What the run minimises: SFT (sft, pt) or a preference loss (dpo, with `preference`).
    public var stage: Stage = .sft
    /// beta, loss_type, label_smoothing, precompute_ref_log_probs: read with stage dpo.
    public var preference = PreferenceSettings()
    public var lora = LoRAConfig(r: 8, loraAlpha: 16, targetModules: .allLinear)
    /// peft's `peft_type`: LORA (the default), IA3 (TrainRecipe+IA3.swift), ADALORA (TrainRecipe+AdaLoRA.swift)
    /// or PROMPT_TUNING (TrainRecipe+PromptTuning.swift).
    public var peftType: PeftType = .lora
    /// IA³'s own keys (feedforward_modules, init_ia3_weights); its target_modules and
    /// modules_to_save are the shared keys' (`ia3Config`).
    public var ia3 = IA3Config()
    /// AdaLoRA's own keys (init_r, target_r, tinit, tfinal, deltaT, beta1, beta2, orth_reg_weight,
    /// total_step); its target_modules, lora_alpha, lora_dropout and modules_to_save are the shared
    /// keys' (`adaLoRAConfig`).
    public var adalora = AdaLoRAConfig()
    /// Prompt tuning's keys (num_virtual_tokens, prompt_tuning_init, prompt_tuning_init_text,
    /// tokenizer_name_or_path; TrainRecipe+PromptTuning.swift).
    public var promptTuning = PromptTuningSettings()
    /// A peft adapter folder to start LoRA training from (LLaMA-Factory's `adapter_name_or_path`);
    /// its adapter_config.json decides the adapter's shape. nil = a fresh adapter.
    public var adapterNameOrPath: String?
    /// LLaMA-Factory's PiSSA keys (pissa_init, pissa_iter, pissa_convert); pissa_init sets
    /// `lora.initLoraWeights` unless init_lora_weights is given (TrainRecipe+PiSSA.swift).
    public var pissa = PiSSAKeys()
    public var training = TrainingArguments()
    public var resumeFromCheckpoint: String?
    public var device: Device = .cpu
    /// QLoRA's 4-bit frozen linears (`load_in_4bit`, `quantization_bit: 4` and their options); off by default.
    public var quantization = QuantizationSettings()
    /// On cuda, products with bf16/f16 weights take bf16 activations and the MLP's gate/up
    /// activations are kept as bf16 (TrainingArguments' `bf16: true`), or everything runs in fp32
    /// (`bf16: false`). The CPU always computes in fp32.
    public var bf16: Bool = true
    /// Canonical names of the keys set explicitly (by `RecipeKeys.apply`), to tell a value the
    /// user chose from a default (e.g. an `r` that disagrees with `adapterNameOrPath`'s adapter).
    public var givenKeys: Set<String> = []

    public init() {}

    /// TRL's default max_length.
    public static let defaultMaxSeqLength = 1024

    /// Tokens per sample and per packed row (`max_seq_length`); a recipe always has one.
    public var maxSeqLength: Int {
        get { data.maxLength ?? Self.defaultMaxSeqLength }
        set { data.maxLength = newValue }
    }
}
