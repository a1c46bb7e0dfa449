import Foundation
import TailorAdapters
import TailorFormats
import TailorModels
import TailorTensor

/// Training that starts from an existing peft adapter folder instead of a fresh init
/// (LLaMA-Factory's `adapter_name_or_path`; peft's `PeftModel.from_pretrained(..., is_trainable=True)`).
///
/// The folder's adapter_config.json decides the adapter's shape: r, lora_alpha, use_rslora,
/// the adapted modules, bias and modules_to_save. Its A, B and saved tensors are the starting
/// values. lora_dropout is a training setting and comes from the run. The adapter the run saves
/// is an ordinary peft folder with the same shape.
///
///     let start = try AdapterStart(folder: URL(fileURLWithPath: "out/"), model: model,
///                                  settings: recipe.lora, given: recipe.givenKeys)
///     let adapters = try start.attach(to: model)      // trainable, starting from out/'s values
public struct AdapterStart {
    public let folder: URL
    /// The adapter's settings with the run's lora_dropout: what the run trains and saves.
    public let config: LoRAConfig
    /// The adapter as read for the model (dropout 0).
    let loaded: LoRAAdapters

    /// Reads `folder`'s adapter for `model` and checks that the LoRA settings a recipe gave
    /// explicitly agree with it.
    /// - Parameters:
    ///   - settings: the run's LoRA settings; only `loraDropout` is taken from them.
    ///   - given: canonical names of the keys the recipe set (`r`, `lora_alpha`, `target_modules`, ...);
    ///     keys not in it keep the adapter's values silently.
    /// - Throws: `AdapterError.adapterConfig` / `.adapterWeight` for the folder (a tensor that
    ///   does not fit the model is named), `TrainingError.conflictingKeys` naming a given key and both
    ///   values when it differs from the adapter's.
    public init(folder: URL, model: CausalLM, settings: LoRAConfig, given: Set<String>) throws {
        loaded = try PeftAdapterFolder.load(folder: folder, for: model)
        let file = folder.appendingPathComponent(PeftAdapterLayout.configFile).path
        try Self.checkAgreement(adapter: loaded.config, adapted: loaded.modules.map(\.name), settings: settings,
                                given: given, model: model, file: file)
        try LoRAAdapters.checkDropout(settings.loraDropout)
        var config = loaded.config
        config.loraDropout = settings.loraDropout
        self.config = config
        self.folder = folder
    }

    /// Attaches trainable adapters that start from the folder's values, with the run's dropout.
    /// Call it once: the adapters train the tensors read from the folder in place.
    public func attach(to model: CausalLM) throws -> LoRAAdapters {
        let dropout = Float(config.loraDropout), workspace = LoRAWorkspace()
        let modules = loaded.modules.map { module in
            (name: module.name, lora: LoRA(module: module.name, a: module.lora.a, b: module.lora.b,
                                           scaling: module.lora.scaling, dropout: dropout, magnitude: module.lora.magnitude,
                                           workspace: workspace))
        }
        let adapters = LoRAAdapters(config: config, modules: modules, tensors: loaded.tensors, residuals: loaded.residuals)
        try adapters.attach(to: model)
        return adapters
    }

    /// Throws for the first key in `given` whose value differs from the adapter's.
    static func checkAgreement(adapter: LoRAConfig, adapted: [String], settings: LoRAConfig, given: Set<String>,
                               model: CausalLM, file: String) throws {
        func differ(_ key: String, _ mine: String, _ theirs: String) -> TrainingError {
            .conflictingKeys(key: key, other: "adapter_name_or_path", problem: "is \(mine) here but \(theirs) in \(file); with adapter_name_or_path the adapter decides its shape: leave \(key) out or set it to \(theirs)")
        }
        let scalars: [(key: String, mine: String, theirs: String)] = [
            ("r", "\(settings.r)", "\(adapter.r)"),
            ("lora_alpha", number(settings.loraAlpha), number(adapter.loraAlpha)),
            ("use_rslora", "\(settings.useRslora)", "\(adapter.useRslora)"),
            ("init_lora_weights", settings.initLoraWeights.name, adapter.initLoraWeights.name),
            ("bias", settings.bias.rawValue, adapter.bias.rawValue),
            ("ensure_weight_tying", "\(settings.ensureWeightTying)", "\(adapter.ensureWeightTying)"),
            ("use_dora", "\(settings.useDora)", "\(adapter.useDora)"),
            ("rank_pattern", describe(settings.rankPattern.map { ($0.pattern, Double($0.value)) }),
             describe(adapter.rankPattern.map { ($0.pattern, Double($0.value)) })),
            ("alpha_pattern", describe(settings.alphaPattern), describe(adapter.alphaPattern)),
        ]
        for item in scalars where given.contains(item.key) && item.mine != item.theirs {
            throw differ(item.key, item.mine, item.theirs)
        }
        if given.contains("modules_to_save"), Set(settings.modulesToSave) != Set(adapter.modulesToSave) {
            throw differ("modules_to_save", "[\(settings.modulesToSave.joined(separator: ", "))]",
                         "[\(adapter.modulesToSave.joined(separator: ", "))]")
        }
        // Targets are compared by the modules they pick, so `all-linear` agrees with a list of every Linear.
        for key in ["target_modules", "layers_to_transform"] where given.contains(key) {
            let picked = try LoRAAdapters.targetedModules(of: model, config: settings)
            guard Set(picked) != Set(adapted) else { continue }
            throw TrainingError.conflictingKeys(key: key, other: "adapter_name_or_path", problem: "picks \(picked.count) modules here (target_modules \(describe(settings.targetModules)), layers_to_transform \(settings.layersToTransform.map { "\($0)" } ?? "all")) but the adapter in \(file) adapts \(adapted.count) (target_modules \(describe(adapter.targetModules)), layers_to_transform \(adapter.layersToTransform.map { "\($0)" } ?? "all")); with adapter_name_or_path the adapter decides its shape: leave \(key) out")
        }
    }

    static func number(_ value: Double) -> String {
        value.rounded() == value && abs(value) < 1e15 ? String(Int(value)) : String(value)  // allowed: whole and below 1e15 < 2^63, checked on this line
    }

    static func describe(_ pattern: [(pattern: String, value: Double)]) -> String {
        "{" + pattern.map { "\($0.pattern): \(number($0.value))" }.joined(separator: ", ") + "}"
    }

    static func describe(_ targets: TargetModules) -> String {
        switch targets {
        case .allLinear: return "all-linear"
        case let .names(names): return "[\(names.joined(separator: ", "))]"
        case let .regex(pattern): return "'\(pattern)'"
        }
    }
}
