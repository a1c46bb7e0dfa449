import TailorFormats
import TailorModels
import TailorTensor

/// The AdaLoRA updates of one model, by module name, with the full tensors `modules_to_save`
/// trains beside them (peft's AdaLoraModel). Attached, each target Linear adds its `AdaLoRA`
/// path; detached, the model is the base again.
///
///     let adapters = try AdaLoRAAdapters.attach(to: model, config: AdaLoRAConfig(initR: 6, targetR: 2, totalStep: 100))
///     try AdaLoRAAdapterWriter.write(adapters, backend: model.backend, to: folder, baseModel: "…")
///     try AdaLoRAAdapterFolder.load(folder: folder, for: other).asLoRA().mergeAndUnload(into: other)
public final class AdaLoRAAdapters: AttachableAdapters, @unchecked Sendable {
    /// The settings, with peft's default targets for the model filled in; `rankPattern` is set by
    /// the final allocation (`AdaLoRARankAllocator`) or read from a folder.
    public internal(set) var config: AdaLoRAConfig
    /// Module name → AdaLoRA module, in module order.
    public let modules: [(name: String, adalora: AdaLoRA)]
    /// The `modules_to_save` copies, held (and put in place of the model's own while attached) by
    /// adapters with no LoRA modules.
    let extras: LoRAAdapters
    /// What each adapted Linear carried before `attach`, put back by `detach`.
    private var displacedPaths: [String: (any LinearAdapter)?]?

    /// Adapters from their parts, not attached (`make` and `AdaLoRAAdapterFolder.load` build them for a model).
    public init(config: AdaLoRAConfig, modules: [(name: String, adalora: AdaLoRA)], tensors: [AdapterTensor] = []) {
        self.config = config
        self.modules = modules
        self.extras = LoRAAdapters(config: config.selection, modules: [], tensors: tensors)
    }

    /// Full tensors trained beside the updates (`modules_to_save` copies).
    public var tensors: [AdapterTensor] { extras.tensors }

    /// The tensors these adapters train, with their Hugging Face names: each module's A, E and B
    /// (`isAdaLoRA` true; peft's named_parameters order), then `tensors`.
    public var trainableTensors: [(name: String, value: Tensor, isAdaLoRA: Bool)] {
        modules.flatMap { module in
            [(module.adalora.aName, module.adalora.a, true), (module.adalora.bName, module.adalora.b, true),
             (module.adalora.eName, module.adalora.e, true)]
        } + tensors.map { ($0.name, $0.value, false) }
    }

    /// Number of trainable parameters (peft's `get_nb_trainable_parameters()[0]`; ranknum is a frozen buffer).
    public var parameterCount: Int { trainableTensors.reduce(0) { $0 + $1.value.count } }

    /// The key of the trainable tensor `name` in adapter_model.safetensors, as peft writes it.
    public func peftKey(_ name: String) -> String { extras.peftKey(name) }

    /// Records the run's total optimizer steps (peft's `RankAllocator.set_total_step`), which the
    /// budget schedule needs and adapter_config.json records.
    public func setTotalStep(_ steps: Int) { config.totalStep = steps }

    /// Sets every module's dropout mask key (nil: no dropout, as at inference).
    public func setDropoutKey(_ key: UInt64?) {
        for (index, module) in modules.enumerated() {
            module.adalora.dropoutSeed = key.map { $0 &+ UInt64(index) &* 0x9E37_79B9 }  // allowed: index is a non-negative array index
        }
    }

    /// Whether any module applies dropout while training.
    public var hasDropout: Bool { modules.contains { $0.adalora.dropout > 0 } }

    /// Makes the updates `config` asks for on `model` (and `modules_to_save` copies) and attaches them.
    /// - Parameter initial: values of a tensor by Hugging Face name ("….lora_A") and shape; nil
    ///   means peft's init (A and B normal with std 0.02 from Tailor's generator, E zeros).
    public static func attach(to model: CausalLM, config: AdaLoRAConfig, seed: UInt64 = 0,
                              initial: ((String, [Int]) throws -> [Float]?)? = nil) throws -> AdaLoRAAdapters {
        let adapters = try make(for: model, config: config, seed: seed, initial: initial)
        try adapters.attach(to: model)
        return adapters
    }

    /// Makes the adapters without attaching them.
    /// - Throws: `AdapterError` when a setting is invalid or the targets pick nothing, or a
    ///   modules_to_save entry matches no module (or a target).
    public static func make(for model: CausalLM, config given: AdaLoRAConfig, seed: UInt64 = 0,
                            initial: ((String, [Int]) throws -> [Float]?)? = nil) throws -> AdaLoRAAdapters {
        try given.check()
        var config = try given.resolved(for: model.config.architecture)
        config.rankPattern = nil
        var generator = SplitMix64(state: seed &+ 0xADA)
        let r = config.initR
        var modules: [(name: String, adalora: AdaLoRA)] = []
        for name in try LoRAAdapters.targetedModules(of: model, config: config.selection) {
            guard let linear = model.linear(module: name) else { continue }
            func tensor(_ suffix: String, _ shape: [Int], _ fallback: () -> [Float]) throws -> Tensor {
                let values = try initial?(name + suffix, shape) ?? fallback()
                guard values.count == shape.reduce(1, *) else {
                    throw AdapterError.adapterWeight(name: name + suffix, file: "(initial values)",
                                                      problem: "has \(values.count) values but \(name) needs \(shape)")
                }
                return try model.backend.upload(values, shape: shape, dtype: .f32)
            }
            func normal(_ count: Int) -> [Float] { (0..<count).map { _ in Float(0.02 * generator.nextGaussian()) } }
            let a = try tensor(PeftAdapterLayout.adaLoRAASuffix, [r, linear.inFeatures]) { normal(r * linear.inFeatures) }
            let b = try tensor(PeftAdapterLayout.adaLoRABSuffix, [linear.outFeatures, r]) { normal(linear.outFeatures * r) }
            let e = try tensor(PeftAdapterLayout.adaLoRAESuffix, [r, 1]) { [Float](repeating: 0, count: r) }
            modules.append((name, AdaLoRA(module: name, a: a, e: e, b: b, scale: config.scale, dropout: Float(config.loraDropout))))
        }
        let tensors = try AdapterTensor.plan(for: model, config: config.selection, adapted: modules.map(\.name)).map { plan in
            let copy = try model.backend.empty(plan.source.shape, dtype: .f32)
            try model.backend.copy(plan.source, into: copy)
            return AdapterTensor(name: plan.name, peftKeys: plan.peftKeys, value: copy)
        }
        return AdaLoRAAdapters(config: config, modules: modules, tensors: tensors)
    }

    /// Puts each path on its Linear (remembering what was there) and `tensors` in place of the model's own.
    public func attach(to model: CausalLM) throws {
        if displacedPaths == nil {
            var saved: [String: (any LinearAdapter)?] = [:]
            for module in modules { saved[module.name] = .some(model.linear(module: module.name)?.adapter) }
            displacedPaths = saved
        }
        for module in modules { try model.setAdapter(module.adalora, module: module.name) }
        try extras.install(on: model)
    }

    /// Takes the paths off (putting back what the Linears carried before) and gives the model back its own tensors.
    public func detach(from model: CausalLM) throws {
        for module in modules { try model.setAdapter(displacedPaths?[module.name] ?? nil, module: module.name) }
        displacedPaths = nil
        try extras.restore(on: model)
    }

    /// The same computation as plain LoRA modules, not attached: each module's A ⊙ E as A, B, and
    /// lora_alpha / (ranknum + 1e-5) as the scaling (peft's `get_delta_weight` is B·(A ⊙ E) times
    /// it). Merging, generation and serving run AdaLoRA folders through it; the rows a
    /// `rank_pattern` pruned (E = 0) add nothing, and a module left with rank 0 is left out.
    public func asLoRA(backend: Backend) throws -> LoRAAdapters {
        let workspace = LoRAWorkspace()
        let converted = try modules.filter { $0.adalora.rank > 0 }.map { module -> (name: String, lora: LoRA) in
            let m = module.adalora
            var a = try backend.download(m.a)
            let e = try backend.download(m.e), columns = m.rank > 0 ? a.count / m.rank : 0
            for k in 0..<m.rank { for i in 0..<columns { a[k * columns + i] *= e[k] } }
            let scaled = try backend.upload(a, shape: m.a.shape, dtype: .f32)
            return (module.name, LoRA(module: module.name, a: scaled, b: m.b, scaling: m.scale, workspace: workspace))
        }
        return LoRAAdapters(config: config.selection, modules: converted, tensors: tensors)
    }
}
