import TailorModels

/// IA³ settings with peft 0.21's IA3Config meanings (`target_modules`, `feedforward_modules`,
/// `init_ia3_weights`, `modules_to_save`, `fan_in_fan_out`).
///
/// IA³ learns one vector `ia3_l` per target Linear. A feed-forward module scales its input,
/// y = W·(x ⊙ l) + b with l [1, in]; every other target scales its output, bias included,
/// y = (W·x + b) ⊙ l with l [out, 1].
public struct IA3Config: Sendable, Equatable {
    /// The Linears that get a vector; nil: peft's default for the architecture
    /// (`TRANSFORMERS_MODELS_TO_IA3_TARGET_MODULES_MAPPING`).
    public var targetModules: TargetModules?
    /// The targets that scale their input; nil: peft's default for the architecture
    /// (`TRANSFORMERS_MODELS_TO_IA3_FEEDFORWARD_MODULES_MAPPING`). A list names modules whose name
    /// ends with one of its entries (peft's `key.endswith(name)`), a string is a regular expression
    /// matching a module's whole name.
    public var feedforwardModules: TargetModules?
    /// true (peft's default): every vector starts at ones, so the adapted model is the base.
    /// false: peft's `torch.randn` start, drawn here from Tailor's own generator (not peft's numbers).
    public var initIA3Weights: Bool
    /// Modules trained as full f32 copies beside the vectors (e.g. ["lm_head"]).
    public var modulesToSave: [String]
    /// peft's `fan_in_fan_out`: meant for GPT-2's Conv1D; peft sets it back to false for the
    /// nn.Linear layers Tailor's models have (with a warning), so it changes nothing here.
    public var fanInFanOut: Bool

    public init(targetModules: TargetModules? = nil, feedforwardModules: TargetModules? = nil, initIA3Weights: Bool = true,
                modulesToSave: [String] = [], fanInFanOut: Bool = false) {
        self.targetModules = targetModules
        self.feedforwardModules = feedforwardModules
        self.initIA3Weights = initIA3Weights
        self.modulesToSave = modulesToSave
        self.fanInFanOut = fanInFanOut
    }

    /// peft's default target modules for the architecture.
    public static func defaultTargetModules(for architecture: Architecture) -> [String] {
        switch architecture {
        case .llama, .mistral: return ["k_proj", "v_proj", "down_proj"]
        case .qwen2, .qwen3: return ["q_proj", "v_proj", "down_proj"]
        }
    }

    /// peft's default feed-forward modules for the architecture.
    public static func defaultFeedforwardModules(for architecture: Architecture) -> [String] { ["down_proj"] }

    /// These settings with peft's defaults filled in for `architecture` (what `get_peft_model` records).
    public func resolved(for architecture: Architecture) -> IA3Config {
        var copy = self
        if copy.targetModules == nil { copy.targetModules = .names(Self.defaultTargetModules(for: architecture)) }
        if copy.feedforwardModules == nil { copy.feedforwardModules = .names(Self.defaultFeedforwardModules(for: architecture)) }
        return copy
    }

    /// Whether target `module` ("model.layers.0.mlp.down_proj") scales its input, as peft's
    /// `_check_target_module_feedforward` decides it.
    public func isFeedforward(_ module: String) -> Bool {
        switch feedforwardModules {
        case nil, .allLinear?: return false  // a string is a regular expression: "all-linear" names no module
        case let .names(names)?: return names.contains { module.hasSuffix($0) }
        case let .regex(pattern)?: return (try? Regex(pattern)).map { (try? $0.wholeMatch(in: module)) != nil } ?? false
        }
    }

    /// The module selection, as a LoRAConfig that picks the same Linears and full copies (its LoRA fields unused).
    var selection: LoRAConfig {
        LoRAConfig(targetModules: targetModules ?? .allLinear, modulesToSave: modulesToSave)
    }

    /// Checks what peft's IA3Config checks: feedforward_modules a subset of target_modules when
    /// both are lists, and a feedforward regular expression that compiles.
    /// - Throws: `AdapterError.badOption` naming the key.
    public func check() throws {
        if case let .names(targets)? = targetModules, case let .names(feedforward)? = feedforwardModules,
           let stray = feedforward.first(where: { !targets.contains($0) }) {
            throw AdapterError.badOption(name: "feedforward_modules", problem: "names '\(stray)', which target_modules \(TargetModules.names(targets)) does not; as in peft, feedforward_modules must be a subset of target_modules: add it there or remove it")
        }
        if case let .regex(pattern)? = feedforwardModules {
            do { _ = try Regex(pattern) } catch {
                throw AdapterError.badOption(name: "feedforward_modules", problem: "'\(pattern)' is not a valid regular expression (\(error)); a string feedforward_modules matches a module's whole name, as in peft (e.g. '.*\\.down_proj'); give module names as a list")
            }
        }
    }
}
