import TailorModels

/// AdaLoRA settings with peft 0.21's AdaLoraConfig meanings (`init_r`, `target_r`, `tinit`,
/// `tfinal`, `deltaT`, `beta1`, `beta2`, `orth_reg_weight`, `total_step`, `rank_pattern`, and the
/// LoraConfig fields that apply: `target_modules`, `lora_alpha`, `lora_dropout`, `modules_to_save`).
///
/// AdaLoRA puts an SVD-shaped update beside each target Linear, y += dropout(x)·(A ⊙ E)ᵀ·Bᵀ ·
/// lora_alpha / (ranknum + 1e-5), with A [r, in], E [r, 1], B [out, r] and ranknum = init_r
/// (peft keeps it fixed), and prunes the least important singular values (entries of E) over
/// training until `target_r` per module remain on average (`AdaLoRARankAllocator`).
public struct AdaLoRAConfig: Sendable, Equatable {
    /// The Linears that get an update; nil: peft's default for the architecture
    /// (`TRANSFORMERS_MODELS_TO_ADALORA_TARGET_MODULES_MAPPING`: q_proj and v_proj).
    public var targetModules: TargetModules?
    /// The rank every module starts with (peft's default 12).
    public var initR: Int
    /// The average rank per module at the end of the budget schedule (peft's default 8).
    public var targetR: Int
    /// Steps before the budget starts to fall (the warm-up; peft's default 0).
    public var tinit: Int
    /// Steps at the end with the final ranks fixed (peft's default 0).
    public var tfinal: Int
    /// Steps between two budget allocations while the budget falls (peft's default 1).
    public var deltaT: Int
    /// EMA factor of the sensitivity |p · ∂L/∂p| (peft's default 0.85).
    public var beta1: Double
    /// EMA factor of its uncertainty (peft's default 0.85).
    public var beta2: Double
    /// Weight of the orthogonal regulariser ‖AAᵀ − I‖_F, ‖BᵀB − I‖_F added to the loss (peft's default 0.5).
    public var orthRegWeight: Double
    /// The run's total optimizer steps, which the budget schedule needs (peft requires it; a
    /// training run fills it from its step count when not given).
    public var totalStep: Int?
    /// peft's LoraConfig lora_alpha (default 8): the update's scale before the division by ranknum.
    public var loraAlpha: Double
    /// Dropout on the update's input during training.
    public var loraDropout: Double
    /// Modules trained as full f32 copies beside the updates (e.g. ["lm_head"]).
    public var modulesToSave: [String]
    /// The kept singular values of each module after the final allocation (module name →
    /// one flag per row of init_r), as adapter_config.json records it; nil before.
    public var rankPattern: [String: [Bool]]?

    public init(targetModules: TargetModules? = nil, initR: Int = 12, targetR: Int = 8, tinit: Int = 0, tfinal: Int = 0,
                deltaT: Int = 1, beta1: Double = 0.85, beta2: Double = 0.85, orthRegWeight: Double = 0.5, totalStep: Int? = nil,
                loraAlpha: Double = 8, loraDropout: Double = 0, modulesToSave: [String] = [], rankPattern: [String: [Bool]]? = nil) {
        self.targetModules = targetModules
        self.initR = initR
        self.targetR = targetR
        self.tinit = tinit
        self.tfinal = tfinal
        self.deltaT = deltaT
        self.beta1 = beta1
        self.beta2 = beta2
        self.orthRegWeight = orthRegWeight
        self.totalStep = totalStep
        self.loraAlpha = loraAlpha
        self.loraDropout = loraDropout
        self.modulesToSave = modulesToSave
        self.rankPattern = rankPattern
    }

    /// peft's default target modules for the architecture, nil where peft has none (it then asks for target_modules).
    public static func defaultTargetModules(for architecture: Architecture) -> [String]? {
        switch architecture {
        case .llama, .qwen2, .qwen3: return ["q_proj", "v_proj"]
        case .mistral: return nil
        }
    }

    /// These settings with peft's defaults filled in for `architecture`.
    /// - Throws: `AdapterError.badOption` for target_modules when peft has no default for the architecture.
    public func resolved(for architecture: Architecture) throws -> AdaLoRAConfig {
        var copy = self
        if copy.targetModules == nil {
            guard let names = Self.defaultTargetModules(for: architecture) else {
                throw AdapterError.badOption(name: "target_modules", problem: "is needed: peft has no AdaLoRA default for \(architecture.rawValue) models; give target_modules, e.g. [q_proj, v_proj]")
            }
            copy.targetModules = .names(names)
        }
        return copy
    }

    /// The update's scale, lora_alpha / (ranknum + 1e-5) with ranknum = init_r, in f32 as peft computes it
    /// (lora_alpha 0 or less: peft's scaling is r instead of lora_alpha).
    public var scale: Float {
        let scaling = loraAlpha > 0 ? Float(loraAlpha) : Float(initR)
        return scaling / (Float(initR) + 1e-5)
    }

    /// The module selection, as a LoRAConfig that picks the same Linears and full copies (its LoRA fields unused).
    var selection: LoRAConfig {
        LoRAConfig(r: max(initR, 1), loraAlpha: loraAlpha, targetModules: targetModules ?? .allLinear, modulesToSave: modulesToSave)
    }

    /// Checks what peft's AdaLoraConfig and RankAllocator check, and that target_r is at most init_r.
    /// `total_step` is checked only when given (`checkSchedule` requires it).
    /// - Throws: `AdapterError.badOption` naming the key.
    public func check() throws {
        guard initR > 0 else { throw AdapterError.badOption(name: "init_r", problem: "must be a positive integer (got \(initR))") }
        guard targetR >= 0 else { throw AdapterError.badOption(name: "target_r", problem: "must be 0 or more (got \(targetR))") }
        guard targetR <= initR else {
            throw AdapterError.badOption(name: "target_r", problem: "is \(targetR), more than init_r \(initR): AdaLoRA only removes ranks, so the target average rank must be at most the initial one; lower target_r or raise init_r")
        }
        guard tinit >= 0 else { throw AdapterError.badOption(name: "tinit", problem: "must be 0 or more (got \(tinit))") }
        guard tfinal >= 0 else { throw AdapterError.badOption(name: "tfinal", problem: "must be 0 or more (got \(tfinal))") }
        guard deltaT > 0 else { throw AdapterError.badOption(name: "deltaT", problem: "must be a positive integer (got \(deltaT))") }
        for (name, value) in [("beta1", beta1), ("beta2", beta2)] where !(value > 0 && value < 1) {
            throw AdapterError.badOption(name: name, problem: "must be strictly between 0 and 1, as peft's RankAllocator asserts (got \(value))")
        }
        guard orthRegWeight >= 0 else {
            throw AdapterError.badOption(name: "orth_reg_weight", problem: "should be greater than or equal to 0, as peft says (got \(orthRegWeight))")
        }
        try LoRAAdapters.checkDropout(loraDropout)
        if let totalStep { try checkSchedule(totalStep: totalStep) }
    }

    /// peft's schedule checks for a run of `totalStep` steps: total_step > 0 and tinit < total_step − tfinal.
    public func checkSchedule(totalStep: Int) throws {
        guard totalStep > 0 else {
            throw AdapterError.badOption(name: "total_step", problem: "must be a positive integer (got \(totalStep)); AdaLoRA's budget schedule needs the run's total optimizer steps")
        }
        guard tinit < totalStep - tfinal else {
            throw AdapterError.badOption(name: "tinit", problem: "(\(tinit)) with tfinal (\(tfinal)) leaves no budgeting phase in total_step \(totalStep) steps: peft requires tinit < total_step - tfinal; decrease tfinal or tinit, or train longer")
        }
    }
}
