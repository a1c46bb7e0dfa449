import TailorFormats
import TailorModels
import TailorTensor

/// The IA³ vectors of one model, by module name, with the full tensors `modules_to_save` trains
/// beside them (peft's IA3Model). Attached, each target Linear computes through its `IA3`;
/// detached, the model is the base again.
///
///     let adapters = try IA3Adapters.attach(to: model, config: IA3Config())   // peft's defaults
///     try IA3AdapterWriter.write(adapters, backend: model.backend, to: folder, baseModel: "…")
///     try IA3AdapterFolder.load(folder: folder, for: other).mergeAndUnload(into: other)
public final class IA3Adapters: AttachableAdapters, @unchecked Sendable {
    /// The settings, with peft's defaults for the model filled in (`IA3Config.resolved(for:)`).
    public let config: IA3Config
    /// Module name → IA³ module, in module order.
    public let modules: [(name: String, ia3: IA3)]
    /// The `modules_to_save` copies, held (and put in place of the model's own while attached) by
    /// adapters with no LoRA modules.
    let extras: LoRAAdapters
    /// What each adapted Linear carried before `attach` (another adapter set's path, or nil), put back by `detach`.
    private var displacedPaths: [String: (any LinearAdapter)?]?

    /// Adapters from their parts, not attached (`make` and `IA3AdapterFolder.load` build them for a model).
    public init(config: IA3Config, modules: [(name: String, ia3: IA3)], tensors: [AdapterTensor] = []) {
        self.config = config
        self.modules = modules
        self.extras = LoRAAdapters(config: config.selection, modules: [], tensors: tensors)
    }

    /// Full tensors trained beside the vectors (`modules_to_save` copies).
    public var tensors: [AdapterTensor] { extras.tensors }

    /// The tensors these adapters train, with their Hugging Face names: each module's l
    /// (`isIA3` true), then `tensors`.
    public var trainableTensors: [(name: String, value: Tensor, isIA3: Bool)] {
        modules.map { ($0.ia3.name, $0.ia3.vector, true) } + tensors.map { ($0.name, $0.value, false) }
    }

    /// Number of trainable parameters (peft's `get_nb_trainable_parameters()[0]`).
    public var parameterCount: Int { trainableTensors.reduce(0) { $0 + $1.value.count } }

    /// The key of the trainable tensor `name` in adapter_model.safetensors, as peft writes it.
    public func peftKey(_ name: String) -> String { extras.peftKey(name) }

    /// Makes the vectors `config` asks for on `model` (and `modules_to_save` copies) and attaches them.
    /// - Parameter initial: values of a vector by Hugging Face name ("….ia3_l") and shape; nil
    ///   means `config.initIA3Weights` (ones).
    public static func attach(to model: CausalLM, config: IA3Config, seed: UInt64 = 0,
                              initial: ((String, [Int]) throws -> [Float]?)? = nil) throws -> IA3Adapters {
        let adapters = try make(for: model, config: config, seed: seed, initial: initial)
        try adapters.attach(to: model)
        return adapters
    }

    /// Makes the adapters without attaching them.
    /// - Throws: `AdapterError` when a target or feed-forward setting picks nothing or is invalid,
    ///   or a modules_to_save entry matches no module (or a target).
    public static func make(for model: CausalLM, config given: IA3Config, seed: UInt64 = 0,
                            initial: ((String, [Int]) throws -> [Float]?)? = nil) throws -> IA3Adapters {
        try given.check()
        let config = given.resolved(for: model.config.architecture)
        var generator = SplitMix64(state: seed &+ 0x1A3)
        var modules: [(name: String, ia3: IA3)] = []
        for name in try LoRAAdapters.targetedModules(of: model, config: config.selection) {
            guard let linear = model.linear(module: name) else { continue }
            let feedforward = config.isFeedforward(name)
            let shape = feedforward ? [1, linear.inFeatures] : [linear.outFeatures, 1]
            let count = shape[0] * shape[1]
            let values = try initial?(name + PeftAdapterLayout.ia3Suffix, shape)
                ?? (config.initIA3Weights ? [Float](repeating: 1, count: count) : (0..<count).map { _ in Float(generator.nextGaussian()) })
            guard values.count == count else {
                throw AdapterError.adapterWeight(name: name + PeftAdapterLayout.ia3Suffix, file: "(initial values)",
                                                  problem: "has \(values.count) values but \(name) needs \(shape)")
            }
            modules.append((name, IA3(module: name, vector: try model.backend.upload(values, shape: shape, dtype: .f32),
                                      isFeedforward: feedforward)))
        }
        let tensors = try AdapterTensor.plan(for: model, config: config.selection, adapted: modules.map(\.name)).map { plan in
            let copy = try model.backend.empty(plan.source.shape, dtype: .f32)
            try model.backend.copy(plan.source, into: copy)
            return AdapterTensor(name: plan.name, peftKeys: plan.peftKeys, value: copy)
        }
        return IA3Adapters(config: config, modules: modules, tensors: tensors)
    }

    /// Puts each vector on its Linear (remembering what was there) and `tensors` in place of the model's own.
    public func attach(to model: CausalLM) throws {
        if displacedPaths == nil {
            var saved: [String: (any LinearAdapter)?] = [:]
            for module in modules { saved[module.name] = .some(model.linear(module: module.name)?.adapter) }
            displacedPaths = saved
        }
        for module in modules { try model.setAdapter(module.ia3, module: module.name) }
        try extras.install(on: model)
    }

    /// Takes the vectors off (putting back what the Linears carried before) and gives the model back its own tensors.
    public func detach(from model: CausalLM) throws {
        for module in modules { try model.setAdapter(displacedPaths?[module.name] ?? nil, module: module.name) }
        displacedPaths = nil
        try extras.restore(on: model)
    }
}
