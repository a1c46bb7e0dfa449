/// One recipe key, described once: its Hugging Face name and the other spellings it goes by, the
/// type of its value, a one-line help, the group it belongs to, and how it reads into and out of
/// a `TrainRecipe`. `RecipeKeys.table` lists them all; parsing (YAML and --flags), the nearest-name
/// suggestion, the keys accepted without effect, tailor_config.yaml and `tailor train --help` are
/// derived from that table. The default is the value of a fresh `TrainRecipe()`, so it is written
/// once, in the struct that holds it.
public struct RecipeKey: Sendable {
    /// The headings of `tailor train --help`; tailor_config.yaml writes the keys in the same order.
    public enum Group: String, Sendable, CaseIterable {
        case model = "Model"
        case data = "Data"
        case method = "Method"
        case lora = "LoRA adapter (finetuning_type lora)"
        case ia3 = "IA³ adapter (peft_type IA3)"
        case adalora = "AdaLoRA adapter (peft_type ADALORA)"
        case promptTuning = "Prompt, prefix and P-tuning (peft_type PROMPT_TUNING, PREFIX_TUNING, P_TUNING)"
        case preference = "Preference training (stage dpo or kto)"
        case training = "Training"
        case optimizer = "Optimizer and learning-rate schedule"
        case checkpoints = "Logging, evaluation and checkpoints"
        case device = "Device"
        /// Keys transformers or LLaMA-Factory know that mean nothing in Tailor.
        case ignored = "Accepted with a warning, no effect"

        /// Whether the group's keys mean something for `recipe` (the LoRA keys only with
        /// finetuning_type lora); tailor_config.yaml writes only those.
        public func applies(to recipe: TrainRecipe) -> Bool {
            switch self {
            case .lora: return recipe.finetuningType == .lora
            case .ia3: return recipe.peftType == .ia3
            case .adalora: return recipe.peftType == .adalora
            case .promptTuning: return recipe.peftType.isPromptLearning
            case .preference: return recipe.stage == .dpo || recipe.stage == .kto
            case .ignored: return false
            default: return true
            }
        }
    }

    /// What a key's value is.
    public enum ValueType: Sendable, Equatable {
        case bool
        /// An integer of at least `min`.
        case integer(min: Int)
        case number
        /// A number from 0 to 1.
        case fraction
        case text
        case list
        /// One of these names.
        case choice([String])
        /// Forms described in words (e.g. target_modules: all-linear | names | regex).
        case forms(String)
        /// A key accepted with a warning; `reason` says why it has no effect.
        case ignored(reason: String)

        /// The values it takes, as `tailor train --help` lists them after the help (nil when the
        /// help says it: forms are described in the help's words).
        var shown: String? {
            if case let .choice(names) = self { return names.joined(separator: " | ") }
            return nil
        }
    }

    /// The canonical (Hugging Face) name, written to tailor_config.yaml.
    public let name: String
    /// Other accepted spellings (older transformers, TRL, LLaMA-Factory).
    public let aliases: [String]
    public internal(set) var group: Group
    public let type: ValueType
    /// One line for `tailor train --help`.
    public let help: String
    /// What to give when a run lacks this key; nil when it is optional.
    public let required: String?
    /// The help's default when the value is unset (nil), e.g. "logging_steps" for eval_steps.
    let unset: String?
    /// Sets the value; `spelling` is the name the user wrote, for errors.
    let read: @Sendable (_ value: RecipeValue, _ spelling: String, _ recipe: inout TrainRecipe) throws -> Void
    /// The value as YAML text; nil when it is unset.
    let yaml: @Sendable (TrainRecipe) -> String?
    /// Whether tailor_config.yaml writes the key for this recipe (false for a second spelling of
    /// a value another key writes, e.g. shuffle beside train_sampling_strategy).
    let written: @Sendable (TrainRecipe) -> Bool
    /// True when a required key has no value.
    let isMissing: @Sendable (TrainRecipe) -> Bool

    init(_ name: String, aliases: [String] = [], type: ValueType, help: String, required: String? = nil, unset: String? = nil,
         read: @escaping @Sendable (RecipeValue, String, inout TrainRecipe) throws -> Void,
         yaml: @escaping @Sendable (TrainRecipe) -> String?,
         written: @escaping @Sendable (TrainRecipe) -> Bool = { _ in true },
         isMissing: @escaping @Sendable (TrainRecipe) -> Bool = { _ in false }) {
        self.name = name
        self.aliases = aliases
        self.group = .training
        self.type = type
        self.help = help
        self.required = required
        self.unset = unset
        self.read = read
        self.yaml = yaml
        self.written = written
        self.isMissing = isMissing
    }

    /// Why the key has no effect, for keys accepted with a warning.
    public var ignoredBecause: String? {
        if case let .ignored(reason) = type { return reason }
        return nil
    }

    /// Every accepted spelling, the canonical name first.
    public var spellings: [String] { [name] + aliases }

    /// The default as the help shows it: the value of a fresh recipe, or what unset means.
    public var defaultText: String? {
        guard ignoredBecause == nil else { return nil }
        guard let text = yaml(TrainRecipe()) else { return unset ?? "none" }
        if let number = Double(text), number.rounded() == number, abs(number) < 1e15, text.contains(".") {
            return String(Int(number))  // 3.0 -> 3  // allowed: whole and below 1e15 < 2^63, checked a line above
        }
        return RecipeValue.unquoted(text)
    }
}
