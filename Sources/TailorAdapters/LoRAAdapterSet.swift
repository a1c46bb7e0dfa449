import TailorModels
import TailorTensor

/// Several named LoRA adapters on one base model, as peft's PeftModel holds them
/// (`add_adapter`, `set_adapter`, `disable_adapter`, `delete_adapter`, `unload`): at most one is
/// active, the one the forward uses and training trains; the base weights never change.
///
/// Each adapted Linear carries one `MultiLoRA` side path holding every adapter's LoRA for that
/// module; switching flips one shared name and swaps the full tensors (`bias`,
/// `modules_to_save`) of the outgoing and incoming adapters. Unlike peft, every adapter keeps its
/// own trained biases rather than sharing the base layer's.
public final class LoRAAdapterSet: @unchecked Sendable {
    public let model: CausalLM
    private var loaded: [String: LoRAAdapters] = [:]
    /// Adapter names in the order they were added.
    public private(set) var names: [String] = []
    /// The active adapter (peft's `active_adapter`); nil: none, the forward is the base model's.
    public private(set) var activeAdapter: String?
    /// The name every `MultiLoRA` of this set reads: `activeAdapter`, or nil while disabled.
    let selection = ActiveAdapterName()

    public init(model: CausalLM) { self.model = model }

    /// The adapters added under `name`.
    public func adapters(named name: String) -> LoRAAdapters? { loaded[name] }

    /// Makes new adapters from `config` and adds them under `name` (peft's `add_adapter`); like
    /// peft, this does not activate them.
    /// - Throws: `AdapterError` for a bad config or a name already in use.
    @discardableResult
    public func addAdapter(_ name: String, config: LoRAConfig, seed: UInt64 = 0) throws -> LoRAAdapters {
        guard loaded[name] == nil else { throw AdapterError.badOption(name: "adapter_name", problem: "'\(name)' is already in use; delete it first") }
        // Copies of modules_to_save start from the base, not from the active adapter's copies.
        try activeExtras?.restore(on: model)
        let made: LoRAAdapters
        do { made = try LoRAAdapters.make(for: model, config: config, seed: seed) } catch {
            if selection.name != nil { try activeExtras?.install(on: model) }
            throw error
        }
        if selection.name != nil { try activeExtras?.install(on: model) }
        try addAdapter(name, made)
        return made
    }

    /// Adds adapters made elsewhere (e.g. read by `PeftAdapterFolder.load`) under `name`.
    public func addAdapter(_ name: String, _ adapters: LoRAAdapters) throws {
        guard loaded[name] == nil else { throw AdapterError.badOption(name: "adapter_name", problem: "'\(name)' is already in use; delete it first") }
        for module in adapters.modules {
            guard let linear = model.linear(module: module.name) else {
                throw AdapterError.badOption(name: "adapter '\(name)'", problem: "adapts \(module.name), which this model does not have")
            }
            if module.lora.magnitude != nil {  // DoRA reads the base weight (PiSSA / OLoRA: the adjusted one)
                module.lora.baseWeight = adapters.residuals.first { $0.name == linear.name }?.value ?? linear.weight
            }
            if let multi = linear.adapter as? MultiLoRA, multi.selection === selection {
                multi.loras[name] = module.lora
            } else {
                try model.setAdapter(MultiLoRA(selection: selection, loras: [name: module.lora]), module: module.name)
            }
        }
        loaded[name] = adapters
        names.append(name)
    }

    /// Makes `name` the active adapter (peft's `set_adapter`), or none with nil.
    /// - Throws: `AdapterError.unknownAdapter` for a name never added.
    public func setAdapter(_ name: String?) throws {
        if let name, loaded[name] == nil { throw AdapterError.unknownAdapter(name, loaded: names) }
        let wasEnabled = selection.name != nil || activeAdapter == nil
        try activeExtras?.restore(on: model)
        activeAdapter = name
        if wasEnabled { try enable() }
    }

    /// Runs `body` on the base model alone (peft's `with model.disable_adapter():`), then makes
    /// the active adapter active again.
    public func withAdapterDisabled<T>(_ body: () throws -> T) throws -> T {
        try disable()
        let result: T
        do { result = try body() } catch {
            try enable()
            throw error
        }
        try enable()
        return result
    }

    /// Removes adapter `name` (peft's `delete_adapter`); when it was active, none is active after.
    public func deleteAdapter(_ name: String) throws {
        guard let adapters = loaded[name] else { throw AdapterError.unknownAdapter(name, loaded: names) }
        if activeAdapter == name { try setAdapter(nil) }
        for module in adapters.modules {
            guard let multi = model.linear(module: module.name)?.adapter as? MultiLoRA, multi.selection === selection else { continue }
            multi.loras[name] = nil
            if multi.loras.isEmpty { try model.setAdapter(nil, module: module.name) }
        }
        loaded[name] = nil
        names.removeAll { $0 == name }
    }

    /// Removes every adapter and gives the model back its own tensors (peft's `unload`): the
    /// base model, exactly as loaded.
    public func unload() throws {
        try activeExtras?.restore(on: model)
        for name in names {
            for module in loaded[name]?.modules ?? [] { try model.setAdapter(nil, module: module.name) }
        }
        loaded = [:]
        names = []
        activeAdapter = nil
        selection.name = nil
    }

    private var activeExtras: LoRAAdapters? { activeAdapter.flatMap { loaded[$0] } }

    private func disable() throws {
        try activeExtras?.restore(on: model)
        selection.name = nil
    }

    private func enable() throws {
        selection.name = activeAdapter
        try activeExtras?.install(on: model)
    }
}

/// The adapter name a set's side paths use (nil: none), or while `rows` is set, one adapter per
/// run of rows (batched serving).
final class ActiveAdapterName: @unchecked Sendable {
    var name: String?
    var rows: [AdapterRowRun]?
    /// The same runs over the rows a forward narrows to (the rows whose logits are wanted, in a decode step's last layer).
    var narrowedRows: [AdapterRowRun]?

    /// The runs that cover exactly `count` rows: `rows`, else `narrowedRows`, else nil.
    func runs(covering count: Int) -> [AdapterRowRun]? {
        for runs in [rows, narrowedRows] {
            if let runs, runs.reduce(0, { $0 + $1.count }) == count { return runs }
        }
        return nil
    }
}

/// One Linear's side path in a `LoRAAdapterSet`: every adapter's LoRA for this module, of which
/// the active one (if it adapts this module) runs.
final class MultiLoRA: LinearAdapter, @unchecked Sendable {
    let selection: ActiveAdapterName
    var loras: [String: LoRA]

    init(selection: ActiveAdapterName, loras: [String: LoRA]) {
        self.selection = selection
        self.loras = loras
    }

    private var active: LoRA? { selection.name.flatMap { loras[$0] } }

    /// out[N, out] += the active adapter's scaling · B·A·x; with per-row runs set (covering exactly
    /// the N rows, or the narrowed rows' runs covering them), each run's rows get their own adapter's
    /// product, runs with no adapter (or one that does not adapt this module) nothing.
    func forward(_ x: Tensor, addingTo out: Tensor, backend: Backend) throws {
        if let runs = selection.runs(covering: x.rowCount) {
            var start = 0
            for run in runs {
                defer { start += run.count }
                guard let name = run.adapter, let lora = loras[name], run.count > 0 else { continue }
                try lora.forward(x.rows(start..<(start + run.count)), addingTo: out.rows(start..<(start + run.count)), backend: backend)
            }
            return
        }
        try active?.forward(x, addingTo: out, backend: backend)
    }

    func backward(_ dOut: Tensor, input x: Tensor, addingTo dx: Tensor?, gradients: GradientStore, backend: Backend) throws {
        try active?.backward(dOut, input: x, addingTo: dx, gradients: gradients, backend: backend)
    }
}
