import TailorFormats
import TailorModels
import TailorTensor

/// The LoRA adapters of one model, by module name, with the full tensors trained beside them
/// (biases with `bias` ≠ none, copies of `modules_to_save`).
public final class LoRAAdapters: AttachableAdapters, @unchecked Sendable {
    public let config: LoRAConfig
    /// Module name → adapter, in module order.
    public let modules: [(name: String, lora: LoRA)]
    /// Full tensors trained beside A and B, in module order.
    public let tensors: [AdapterTensor]
    /// PiSSA / OLoRA: the adjusted base weights W − scaling·B₀·A₀ by Hugging Face weight name
    /// ("model.layers.0.self_attn.q_proj.weight"), in the base dtype. Not trained and not saved:
    /// attached, they stand in for the model's own weights (which `detach` gives back); merged,
    /// they are what B·A is added to.
    public let residuals: [(name: String, value: Tensor)]
    /// The model's own tensors while `tensors` replace them (nil: not installed).
    var displaced: Displaced?

    /// Adapters from their parts, not attached (`make(for:config:)` and `PeftAdapterFolder.load` build them for a model).
    public init(config: LoRAConfig, modules: [(name: String, lora: LoRA)], tensors: [AdapterTensor] = [],
                residuals: [(name: String, value: Tensor)] = []) {
        self.config = config
        self.modules = modules
        self.tensors = tensors
        self.residuals = residuals
    }

    /// The tensors the adapters train, with their Hugging Face names: A, B (and DoRA's magnitude)
    /// of each module (`isLoRA` true), then `tensors` (`isLoRA` false).
    public var trainableTensors: [(name: String, value: Tensor, isLoRA: Bool)] {
        modules.flatMap { module in
            [(module.lora.aName, module.lora.a, true), (module.lora.bName, module.lora.b, true)]
                + (module.lora.magnitude.map { [(module.lora.magnitudeName, $0, true)] } ?? [])
        } + tensors.map { ($0.name, $0.value, false) }
    }

    /// Number of trainable parameters.
    public var parameterCount: Int { trainableTensors.reduce(0) { $0 + $1.value.count } }

    /// The key of the trainable tensor `name` in adapter_model.safetensors, as peft writes it.
    public func peftKey(_ name: String) -> String {
        tensors.first { $0.name == name }?.peftKeys[0] ?? PeftAdapterLayout.key(name)
    }

    /// Makes LoRA adapters for the modules of `model` that `config` targets and attaches them.
    ///
    /// - Parameter initial: values of A, B (or a DoRA magnitude) by Hugging Face name (e.g. read
    ///   from a peft file); nil means `config.initLoraWeights` (peft's default: A kaiming-uniform,
    ///   bound 1/√in, B zero; a magnitude ‖W + scaling·B·A‖ per row). With PiSSA / OLoRA the
    ///   adjusted base weights are computed from the model's weights either way (`residuals`).
    /// - Throws: `AdapterError` when r ≤ 0, an option is out of range, or nothing matches.
    public static func attach(to model: CausalLM, config: LoRAConfig, seed: UInt64 = 0,
                              initial: ((String, [Int]) throws -> [Float]?)? = nil) throws -> LoRAAdapters {
        let adapters = try make(for: model, config: config, seed: seed, initial: initial)
        try adapters.attach(to: model)
        return adapters
    }

    /// Makes the adapters `config` asks for on `model` without attaching them: A and B initialised
    /// from `seed` (or `initial`), and f32 copies of the model's tensors that `bias` and
    /// `modules_to_save` make trainable.
    public static func make(for model: CausalLM, config: LoRAConfig, seed: UInt64 = 0,
                            initial: ((String, [Int]) throws -> [Float]?)? = nil) throws -> LoRAAdapters {
        try check(config)
        var generator = SplitMix64(state: seed &+ 0x5EED)
        var modules: [(name: String, lora: LoRA)] = []
        var residuals: [(name: String, value: Tensor)] = []
        let workspace = LoRAWorkspace()
        for (index, name) in try targetedModules(of: model, config: config).enumerated() {
            guard let linear = model.linear(module: name) else { continue }
            let (inFeatures, outFeatures, r) = (linear.inFeatures, linear.outFeatures, config.rank(of: name))
            let aName = name + PeftAdapterLayout.loraASuffix, bName = name + PeftAdapterLayout.loraBSuffix
            let scaling = config.scaling(of: name)
            let decomposed = config.initLoraWeights.adjustsBase
                ? try LoRA.decomposedInit(config.initLoraWeights, module: name, weight: linear.weight, r: r, scaling: scaling,
                                          moduleIndex: index, backend: model.backend)
                : nil
            let aValues = try initial?(aName, [r, inFeatures]) ?? decomposed?.a ?? initialA(config.initLoraWeights, r: r, in: inFeatures, &generator)
            let bValues = try initial?(bName, [outFeatures, r]) ?? decomposed?.b ?? initialB(config.initLoraWeights, out: outFeatures, r: r, &generator)
            let backend = model.backend
            let (a, b) = (try backend.upload(aValues, shape: [r, inFeatures], dtype: .f32),
                          try backend.upload(bValues, shape: [outFeatures, r], dtype: .f32))
            if let residual = decomposed?.residual { residuals.append((linear.name, residual)) }
            var magnitude: Tensor?
            if config.useDora {
                // With PiSSA / OLoRA the norm is of the adjusted base plus B·A, as peft computes it after its init.
                let values = try initial?(name + PeftAdapterLayout.magnitudeSuffix, [outFeatures])
                    ?? LoRA.initialMagnitude(module: name, weight: decomposed?.residual ?? linear.weight, a: a, b: b, scaling: scaling,
                                             backend: backend)
                magnitude = try backend.upload(values, shape: [outFeatures], dtype: .f32)
            }
            let lora = LoRA(module: name, a: a, b: b, scaling: scaling, dropout: Float(config.loraDropout), magnitude: magnitude,
                            workspace: workspace)
            modules.append((name, lora))
        }
        guard !modules.isEmpty else { throw AdapterError.noTargetModules(config.targetModules, available: model.linearModuleNames) }
        let tensors = try AdapterTensor.plan(for: model, config: config, adapted: modules.map(\.name)).map { plan in
            let copy = try model.backend.empty(plan.source.shape, dtype: .f32)
            try model.backend.copy(plan.source, into: copy)
            return AdapterTensor(name: plan.name, peftKeys: plan.peftKeys, value: copy)
        }
        return LoRAAdapters(config: config, modules: modules, tensors: tensors, residuals: residuals)
    }

    /// Checks the settings `make` reads: r and lora_alpha positive (in the patterns too), the
    /// patterns' keys valid regular expressions, lora_dropout in [0, 1).
    public static func check(_ config: LoRAConfig) throws {
        guard config.r > 0 else { throw AdapterError.badOption(name: "r", problem: "must be a positive integer (got \(config.r))") }
        guard config.loraAlpha > 0 else { throw AdapterError.badOption(name: "lora_alpha", problem: "must be positive") }
        if let bad = config.rankPattern.first(where: { $0.value <= 0 }) {
            throw AdapterError.badOption(name: "rank_pattern", problem: "gives '\(bad.pattern)' rank \(bad.value); a rank must be a positive integer")
        }
        if let bad = config.alphaPattern.first(where: { !($0.value > 0) }) {
            throw AdapterError.badOption(name: "alpha_pattern", problem: "gives '\(bad.pattern)' lora_alpha \(bad.value); lora_alpha must be positive")
        }
        try ModulePattern.validate(config.rankPattern.map(\.pattern), field: "rank_pattern")
        try ModulePattern.validate(config.alphaPattern.map(\.pattern), field: "alpha_pattern")
        try checkDropout(config.loraDropout)
    }

    /// lora_dropout must be a probability below 1.
    public static func checkDropout(_ probability: Double) throws {
        guard (0..<1).contains(probability) else {
            throw AdapterError.badOption(name: "lora_dropout", problem: "must be in [0, 1) (got \(probability))")
        }
    }

    /// The Linear modules of `model` that `config`'s target_modules and layers_to_transform pick, in model order.
    /// - Throws: `AdapterError.badOption` for a regular expression that does not compile,
    ///   `.targetModuleNotFound` for a listed name that matches no Linear (a typo is not skipped),
    ///   `.noTargetModules` when nothing is picked (peft's "Target modules ... not found in the base model").
    public static func targetedModules(of model: CausalLM, config: LoRAConfig) throws -> [String] {
        try targetedModules(among: model.linearModuleNames.filter { model.linear(module: $0) != nil }, config: config)
    }

    /// The names among `linears` (linear module names, e.g. `ModelConfig.linearModules`) that
    /// `config` targets: what `targetedModules(of:config:)` picks on a model with those linears.
    public static func targetedModules(among linears: [String], config: LoRAConfig) throws -> [String] {
        let matcher = try ModuleMatcher(config.targetModules)
        if case let .names(names) = config.targetModules,
           let missing = names.first(where: { name in !linears.contains { ModuleNames.module($0, isNamed: name) } }) {
            throw AdapterError.targetModuleNotFound(name: missing, targets: config.targetModules, available: linears)
        }
        let picked = linears.filter { name in
            guard matcher.matches(name) else { return false }
            if let layers = config.layersToTransform, let index = layerIndex(name), !layers.contains(index) { return false }
            return true
        }
        guard !picked.isEmpty else { throw AdapterError.noTargetModules(config.targetModules, available: linears) }
        return picked
    }

    /// A [r, in] as peft initialises it: kaiming-uniform U(±1/√in) (also nn.Linear's default,
    /// used by `init_lora_weights: false`), or normal with std 1/r.
    static func initialA(_ kind: LoRAInit, r: Int, in inFeatures: Int, _ generator: inout SplitMix64) -> [Float] {
        switch kind {
        case .gaussian:
            let std = 1 / Double(r)
            return (0..<(r * inFeatures)).map { _ in Float(std * generator.nextGaussian()) }
        default:  // true, false (PiSSA and OLoRA take A from the weight: `decomposedInit`)
            let bound = 1 / Float(inFeatures).squareRoot()
            return (0..<(r * inFeatures)).map { _ in -bound + 2 * bound * generator.nextFloat() }
        }
    }

    /// B [out, r]: zero, or nn.Linear's default U(±1/√r) with `init_lora_weights: false`.
    static func initialB(_ kind: LoRAInit, out outFeatures: Int, r: Int, _ generator: inout SplitMix64) -> [Float] {
        guard kind == .linearDefault else { return [Float](repeating: 0, count: outFeatures * r) }
        let bound = 1 / Float(r).squareRoot()
        return (0..<(outFeatures * r)).map { _ in -bound + 2 * bound * generator.nextFloat() }
    }

    /// Sets the dropout mask seed of every adapter for the next forward/backward (nil: no
    /// dropout, for evaluation and inference). Each module gets its own stream from `key`.
    public func setDropoutKey(_ key: UInt64?) {
        for (index, module) in modules.enumerated() {
            module.lora.dropoutSeed = key.map { $0 &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(index) &* 0xD1B5_4A32_D192_ED03 }  // allowed: a non-negative index widens
        }
    }

    /// Whether any adapter has dropout.
    public var hasDropout: Bool { modules.contains { $0.lora.dropout > 0 } }

    /// Attaches these adapters' side paths to `model` (replacing any adapters on those modules)
    /// and puts `tensors` in place of the model's own.
    public func attach(to model: CausalLM) throws {
        try install(on: model)  // first: DoRA reads the base weight, which PiSSA / OLoRA adjust
        for module in modules {
            if module.lora.magnitude != nil { module.lora.baseWeight = model.linear(module: module.name)?.weight }
            try model.setAdapter(module.lora, module: module.name)
        }
    }

    /// Removes the side paths and gives the model back its own tensors (the base is unchanged).
    public func detach(from model: CausalLM) throws {
        for module in modules { try model.setAdapter(nil, module: module.name) }
        try restore(on: model)
    }

    static func layerIndex(_ module: String) -> Int? {
        let parts = module.split(separator: ".")
        guard let at = parts.firstIndex(of: "layers"), at + 1 < parts.count else { return nil }
        return Int(parts[at + 1])  // allowed: a String parse (optional)
    }
}

/// peft's target_modules matching.
struct ModuleMatcher {
    let targets: TargetModules
    let regex: Regex<AnyRegexOutput>?

    init(_ targets: TargetModules) throws {
        self.targets = targets
        if case let .regex(pattern) = targets {
            do { regex = try Regex(pattern) } catch {
                throw AdapterError.badOption(name: "target_modules", problem: "'\(pattern)' is not a valid regular expression (\(error));"
                                              + " a string target_modules is a regular expression matching a module's whole name, as in"
                                              + " peft (e.g. '.*\\.(q_proj|v_proj)'); give module names as a list")
            }
        } else {
            regex = nil
        }
    }

    func matches(_ module: String) -> Bool {
        switch targets {
        case .allLinear: return true
        case let .names(names): return names.contains { ModuleNames.module(module, isNamed: $0) }
        case .regex: return regex.map { (try? $0.wholeMatch(in: module)) != nil } ?? false
        }
    }
}
