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
public enum LoRAInit: Sendable, Equatable, Hashable {
    /// `true`, the default: A kaiming-uniform (a = √5, so U(±1/√in)), B zero.
    case kaiming
    /// `"gaussian"`: A normal with std 1/r, B zero.
    case gaussian
    /// `false`: no LoRA init, both keep nn.Linear's default, A U(±1/√in) and B U(±1/√r),
    /// so the adapter changes the output from the start.
    case linearDefault
    /// `"pissa"`: A and B from the top-r singular triplets of W (exact SVD), W ← W − scaling·B·A
    /// (LoRA+PiSSA.swift).
    case pissa
    /// `"pissa_niter_K"`: PiSSA from torch.svd_lowrank's randomized SVD with K power iterations.
    case pissaNiter(Int)
    /// `"olora"`: A and B from the QR of W (B = Q[:, :r], A = R[:r]), W ← W − scaling·B·A.
    case olora

    /// peft's value as text: "true", "gaussian", "false", "pissa", "pissa_niter_K", "olora".
    public var name: String {
        switch self {
        case .kaiming: return "true"
        case .gaussian: return "gaussian"
        case .linearDefault: return "false"
        case .pissa: return "pissa"
        case let .pissaNiter(iterations): return "pissa_niter_\(iterations)"
        case .olora: return "olora"
        }
    }

    /// Whether the init changes the base weights (PiSSA, OLoRA): the adapter then needs the
    /// adjusted base, which peft recomputes from the original one when it loads the folder.
    public var adjustsBase: Bool {
        switch self {
        case .pissa, .pissaNiter, .olora: return true
        case .kaiming, .gaussian, .linearDefault: return false
        }
    }

    /// The init peft's `init_lora_weights` text names, or nil when it names none Tailor builds.
    /// "pissa_niter_K" needs a whole K ≥ 1 (`niterProblem` says what is wrong with another K).
    public init?(name: String) {
        switch name {
        case "true": self = .kaiming
        case "false": self = .linearDefault
        case "gaussian": self = .gaussian
        case "pissa": self = .pissa
        case "olora": self = .olora
        default:
            guard let iterations = Self.niter(name), iterations >= 1 else { return nil }
            self = .pissaNiter(iterations)
        }
    }

    /// K of "pissa_niter_K" when K is a whole number, else nil.
    static func niter(_ name: String) -> Int? {
        let prefix = "pissa_niter_"
        guard name.hasPrefix(prefix) else { return nil }
        let digits = name.dropFirst(prefix.count)
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber) else { return nil }
        return Int(digits)  // allowed: a String parse (optional)
    }

    /// What is wrong with a name that starts like PiSSA's but is not one Tailor builds, or nil.
    public static func niterProblem(_ name: String) -> String? {
        guard name.hasPrefix("pissa") || name.hasPrefix("olora") else { return nil }
        if let iterations = niter(name), iterations < 1 {
            return "pissa_niter_\(iterations) runs no power iteration of the randomized SVD (its r-dimensional random projection alone is not PiSSA's principal subspace); use pissa_niter_K with K ≥ 1 (LLaMA-Factory's default pissa_iter is 16), or pissa for the exact SVD"
        }
        return "'\(name)' is not a PiSSA/OLoRA init; peft names them pissa, pissa_niter_K (K a whole number of power iterations, e.g. pissa_niter_16) and olora"
    }
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
    /// peft's `use_dora`: each adapted Linear also trains a magnitude vector [out] (DoRA), its
    /// output row o scaled by magnitude[o] / ‖W + scaling·B·A‖ of row o (the norm held constant
    /// in the backward, as peft detaches it).
    public var useDora: Bool
    /// peft's `rank_pattern`: (pattern, r) in the file's order; a module takes the r of the first
    /// pattern that matches the end of its name (`ModulePattern`), else `r`.
    public var rankPattern: [(pattern: String, value: Int)]
    /// peft's `alpha_pattern`: (pattern, lora_alpha), matched as `rankPattern`.
    public var alphaPattern: [(pattern: String, value: Double)]

    public init(r: Int = 8, loraAlpha: Double = 8, loraDropout: Double = 0,
                targetModules: TargetModules = .names(["q_proj", "v_proj"]), useRslora: Bool = false,
                layersToTransform: [Int]? = nil, initLoraWeights: LoRAInit = .kaiming, bias: LoRABias = .none,
                modulesToSave: [String] = [], ensureWeightTying: Bool = false, useDora: Bool = false,
                rankPattern: [(pattern: String, value: Int)] = [], alphaPattern: [(pattern: String, value: Double)] = []) {
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
        self.useDora = useDora
        self.rankPattern = rankPattern
        self.alphaPattern = alphaPattern
    }

    /// lora_alpha / r, or lora_alpha / √r with rsLoRA.
    public var scaling: Float { Self.scaling(alpha: loraAlpha, r: r, rslora: useRslora) }

    static func scaling(alpha: Double, r: Int, rslora: Bool) -> Float {
        Float(rslora ? alpha / Double(r).squareRoot() : alpha / Double(r))
    }

    /// The rank of module `module` ("model.layers.0.self_attn.q_proj"): rank_pattern's, else r.
    public func rank(of module: String) -> Int {
        ModulePattern.firstMatch(rankPattern.map(\.pattern), module).flatMap { key in rankPattern.first { $0.pattern == key }?.value } ?? r
    }

    /// The lora_alpha of module `module`: alpha_pattern's, else lora_alpha.
    public func alpha(of module: String) -> Double {
        ModulePattern.firstMatch(alphaPattern.map(\.pattern), module).flatMap { key in alphaPattern.first { $0.pattern == key }?.value } ?? loraAlpha
    }

    /// The scaling of module `module`, from its rank and alpha.
    public func scaling(of module: String) -> Float { Self.scaling(alpha: alpha(of: module), r: rank(of: module), rslora: useRslora) }

    public static func == (lhs: LoRAConfig, rhs: LoRAConfig) -> Bool {
        lhs.r == rhs.r && lhs.loraAlpha == rhs.loraAlpha && lhs.loraDropout == rhs.loraDropout && lhs.targetModules == rhs.targetModules
            && lhs.useRslora == rhs.useRslora && lhs.layersToTransform == rhs.layersToTransform
            && lhs.initLoraWeights == rhs.initLoraWeights && lhs.bias == rhs.bias && lhs.modulesToSave == rhs.modulesToSave
            && lhs.ensureWeightTying == rhs.ensureWeightTying && lhs.useDora == rhs.useDora
            && lhs.rankPattern.elementsEqual(rhs.rankPattern) { $0.pattern == $1.pattern && $0.value == $1.value }
            && lhs.alphaPattern.elementsEqual(rhs.alphaPattern) { $0.pattern == $1.pattern && $0.value == $1.value }
    }
}

/// peft's `get_pattern_key`: a rank_pattern / alpha_pattern key is a regular expression that must
/// match the end of a module's name after a dotted prefix (Python `re.match(rf"(.*\.)?({key})$", name)`);
/// the first key that matches, in the file's order, wins.
public enum ModulePattern {
    /// The first of `keys` that matches `module`, or nil. A key that is not a valid regular
    /// expression matches nothing (`validate` reports it before a run).
    public static func firstMatch(_ keys: [String], _ module: String) -> String? {
        keys.first { key in
            guard let regex = try? Regex("(.*\\.)?(" + key + ")") else { return false }
            return (try? regex.wholeMatch(in: module)) != nil
        }
    }

    /// Throws `AdapterError.badOption` naming `field` for a key that is not a valid regular expression.
    public static func validate(_ keys: [String], field: String) throws {
        for key in keys {
            do { _ = try Regex("(.*\\.)?(" + key + ")") } catch {
                throw AdapterError.badOption(name: field, problem: "key '\(key)' is not a valid regular expression (\(error)); peft matches each key as a regular expression against the end of a module's name, e.g. 'q_proj' or 'layers\\.0\\.mlp\\.down_proj'")
            }
        }
    }
}
