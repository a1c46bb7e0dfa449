/// Everything `tailor train` needs, resolved from a YAML file and flags with the names users know
/// from TrainingArguments, LoraConfig, TRL's SFTConfig and LLaMA-Factory.
public struct TrainRecipe: Sendable, Equatable {
    public enum FinetuningType: String, Sendable { case lora, full }

    public var modelNameOrPath: String = ""
    /// Training data files (or folders/globs).
    public var datasets: [String] = []
    /// Dataset format override (alpaca, sharegpt, messages, preference, text); nil = detect.
    public var datasetFormat: String?
    /// Built-in template name overriding the model's chat template.
    public var template: String?
    public var systemPrompt: String?
    public var validationFile: String?
    /// Fraction of the training data held out for evaluation (0 = none).
    public var validationSplit: Double = 0
    public var maxSeqLength: Int = 1024
    public var packing: Bool = false
    /// Train on prompt tokens too (TRL's assistant_only_loss = false).
    public var trainOnInputs: Bool = false
    public var finetuningType: FinetuningType = .lora
    public var lora = LoRAConfig(r: 8, loraAlpha: 16, targetModules: .allLinear)
    public var training = TrainingArguments()
    public var resumeFromCheckpoint: String?

    public init() {}
}
