import TailorModels
import TailorTensor

/// The LoRA adapters attached to one model, by module name.
public final class LoRAAdapters: @unchecked Sendable {
    public let config: LoRAConfig
    /// Module name → adapter, in module order.
    public let modules: [(name: String, lora: LoRA)]

    init(config: LoRAConfig, modules: [(name: String, lora: LoRA)]) {
        self.config = config
        self.modules = modules
    }

    /// The trainable tensors (A then B of each module) with their Hugging Face names.
    public var parameters: [TrainableParameter] {
        modules.flatMap { module in
            [TrainableParameter(name: module.lora.aName, value: module.lora.a, weightDecay: true),
             TrainableParameter(name: module.lora.bName, value: module.lora.b, weightDecay: true)]
        }
    }

    /// Number of trainable parameters.
    public var parameterCount: Int { modules.reduce(0) { $0 + $1.lora.a.count + $1.lora.b.count } }

    /// Attaches LoRA adapters to the modules of `model` that `config` targets.
    ///
    /// - Parameter initial: values of A or B by Hugging Face name (e.g. read from a peft file);
    ///   nil means peft's default init: A kaiming-uniform (bound 1/√in), B zero.
    /// - Throws: `TrainingError` when r ≤ 0, dropout is asked for, or nothing matches.
    public static func attach(to model: CausalLM, config: LoRAConfig, seed: UInt64 = 0,
                              initial: ((String, [Int]) throws -> [Float]?)? = nil) throws -> LoRAAdapters {
        guard config.r > 0 else { throw TrainingError.badOption(name: "r", problem: "must be a positive integer (got \(config.r))") }
        guard config.loraAlpha > 0 else { throw TrainingError.badOption(name: "lora_alpha", problem: "must be positive") }
        guard (0..<1).contains(config.loraDropout) else {
            throw TrainingError.badOption(name: "lora_dropout", problem: "must be in [0, 1) (got \(config.loraDropout))")
        }
        let names = model.linearModuleNames
        let matcher = try ModuleMatcher(config.targetModules)
        var generator = SplitMix64(state: seed &+ 0x5EED)
        var modules: [(name: String, lora: LoRA)] = []
        for name in names where matcher.matches(name) {
            if let layers = config.layersToTransform, let index = layerIndex(name), !layers.contains(index) { continue }
            guard let linear = model.linear(module: name) else { continue }
            let (inFeatures, outFeatures) = (linear.inFeatures, linear.outFeatures)
            let aName = name + ".lora_A.weight", bName = name + ".lora_B.weight"
            let bound = 1 / Float(inFeatures).squareRoot()
            let aValues = try initial?(aName, [config.r, inFeatures])
                ?? (0..<(config.r * inFeatures)).map { _ in -bound + 2 * bound * generator.nextFloat() }
            let bValues = try initial?(bName, [outFeatures, config.r])
                ?? [Float](repeating: 0, count: outFeatures * config.r)
            let backend = model.backend
            let lora = LoRA(module: name,
                            a: try backend.upload(aValues, shape: [config.r, inFeatures], dtype: .f32),
                            b: try backend.upload(bValues, shape: [outFeatures, config.r], dtype: .f32),
                            scaling: config.scaling, dropout: Float(config.loraDropout))
            try model.setAdapter(lora, module: name)
            modules.append((name, lora))
        }
        guard !modules.isEmpty else { throw TrainingError.noTargetModules(config.targetModules, available: names) }
        return LoRAAdapters(config: config, modules: modules)
    }

    /// Sets the dropout mask seed of every adapter for the next forward/backward (nil: no
    /// dropout, for evaluation and inference). Each module gets its own stream from `key`.
    public func setDropoutKey(_ key: UInt64?) {
        for (index, module) in modules.enumerated() {
            module.lora.dropoutSeed = key.map { $0 &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(index) &* 0xD1B5_4A32_D192_ED03 }
        }
    }

    /// Whether any adapter has dropout.
    public var hasDropout: Bool { modules.contains { $0.lora.dropout > 0 } }

    /// Removes the adapters from the model (the base is unchanged).
    public func detach(from model: CausalLM) throws {
        for module in modules { try model.setAdapter(nil, module: module.name) }
    }

    static func layerIndex(_ module: String) -> Int? {
        let parts = module.split(separator: ".")
        guard let at = parts.firstIndex(of: "layers"), at + 1 < parts.count else { return nil }
        return Int(parts[at + 1])
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
                throw TrainingError.badOption(name: "target_modules", problem: "is not a valid regular expression: \(error)")
            }
        } else {
            regex = nil
        }
    }

    func matches(_ module: String) -> Bool {
        switch targets {
        case .allLinear: return true
        case let .names(names): return names.contains { module == $0 || module.hasSuffix("." + $0) }
        case .regex: return regex.map { (try? $0.wholeMatch(in: module)) != nil } ?? false
        }
    }
}
