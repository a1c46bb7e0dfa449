/// Which modules get adapters, as peft's `target_modules` says it.
public enum TargetModules: Sendable, Equatable {
    /// Module names; a module matches when its name equals one or ends with "." + one.
    case names([String])
    /// A regular expression that must match the whole module name.
    case regex(String)
    /// Every Linear except the output layer (peft's "all-linear").
    case allLinear
}

extension TargetModules: CustomStringConvertible {
    /// As a recipe writes it: `all-linear`, `[q_proj, v_proj]`, `'.*\.q_proj'`.
    public var description: String {
        switch self {
        case .allLinear: return "all-linear"
        case let .names(names): return "[\(names.joined(separator: ", "))]"
        case let .regex(pattern): return "'\(pattern)'"
        }
    }
}

/// How A and B start (peft's `init_lora_weights`).
public enum LoRAInit: String, Sendable, Equatable, CaseIterable {
    /// `true`, the default: A kaiming-uniform (a = √5, so U(±1/√in)), B zero.
    case kaiming = "true"
    /// `"gaussian"`: A normal with std 1/r, B zero.
    case gaussian
    /// `false`: no LoRA init, both keep nn.Linear's default, A U(±1/√in) and B U(±1/√r),
    /// so the adapter changes the output from the start.
    case linearDefault = "false"
}

/// Which biases train beside LoRA (peft's `bias`).
public enum LoRABias: String, Sendable, Equatable, CaseIterable {
    /// No bias trains.
    case none
    /// Every bias of the model trains (peft's "all").
    case all
    /// The biases of the adapted Linears train (peft's "lora_only").
    case loraOnly = "lora_only"
}

/// LoRA hyperparameters with peft's LoraConfig meanings (`r`, `lora_alpha`, `use_rslora`, …).
public struct LoRAConfig: Sendable, Equatable {
    public var r: Int
    public var loraAlpha: Double
    public var loraDropout: Double
    public var targetModules: TargetModules
    public var useRslora: Bool
    /// Layer indices to adapt (peft's `layers_to_transform`); nil = all.
    public var layersToTransform: [Int]?
    /// peft's `init_lora_weights`.
    public var initLoraWeights: LoRAInit
    /// peft's `bias`.
    public var bias: LoRABias
    /// Modules trained as full f32 copies beside the adapters (peft's `modules_to_save`,
    /// e.g. ["embed_tokens", "lm_head"]); the frozen base keeps its own weights.
    public var modulesToSave: [String]
    /// peft's `ensure_weight_tying`: with tied embeddings, embed_tokens and lm_head in
    /// `modulesToSave` share one trained copy (false: each named one gets its own, untying them).
    public var ensureWeightTying: Bool

    public init(r: Int = 8, loraAlpha: Double = 8, loraDropout: Double = 0,
                targetModules: TargetModules = .names(["q_proj", "v_proj"]), useRslora: Bool = false,
                layersToTransform: [Int]? = nil, initLoraWeights: LoRAInit = .kaiming, bias: LoRABias = .none,
                modulesToSave: [String] = [], ensureWeightTying: Bool = false) {
        self.r = r
        self.loraAlpha = loraAlpha
        self.loraDropout = loraDropout
        self.targetModules = targetModules
        self.useRslora = useRslora
        self.layersToTransform = layersToTransform
        self.initLoraWeights = initLoraWeights
        self.bias = bias
        self.modulesToSave = modulesToSave
        self.ensureWeightTying = ensureWeightTying
    }

    /// lora_alpha / r, or lora_alpha / √r with rsLoRA.
    public var scaling: Float {
        Float(useRslora ? loraAlpha / Double(r).squareRoot() : loraAlpha / Double(r))
    }
}
