/// Which modules get adapters, as peft's `target_modules` says it.
public enum TargetModules: Sendable, Equatable {
    /// Module names; a module matches when its name equals one or ends with "." + one.
    case names([String])
    /// A regular expression that must match the whole module name.
    case regex(String)
    /// Every Linear except the output layer (peft's "all-linear").
    case allLinear
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

    public init(r: Int = 8, loraAlpha: Double = 8, loraDropout: Double = 0,
                targetModules: TargetModules = .names(["q_proj", "v_proj"]), useRslora: Bool = false,
                layersToTransform: [Int]? = nil) {
        self.r = r
        self.loraAlpha = loraAlpha
        self.loraDropout = loraDropout
        self.targetModules = targetModules
        self.useRslora = useRslora
        self.layersToTransform = layersToTransform
    }

    /// lora_alpha / r, or lora_alpha / √r with rsLoRA.
    public var scaling: Float {
        Float(useRslora ? loraAlpha / Double(r).squareRoot() : loraAlpha / Double(r))
    }
}
