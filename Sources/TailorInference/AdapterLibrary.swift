import Foundation
import TailorAdapters
import TailorModels

/// LoRA adapters loaded once beside one base model, any one of them (or none) active at a time:
/// the inference face of `LoRAAdapterSet`. Switching flips which adapter the side paths run;
/// the base weights are never reloaded or changed. IA³ adapters (peft_type IA3) load beside them:
/// activating one attaches its vectors to the Linears (in place of the set's paths until switched
/// away); they take no part in per-row batches (`tailor serve` refuses them). AdaLoRA adapters
/// (peft_type ADALORA) load as the LoRA adapters they compute (`AdaLoRAAdapters.asLoRA`).
public final class AdapterLibrary: @unchecked Sendable {
    public let model: CausalLM
    /// The adapters and which one is active.
    public let adapterSet: LoRAAdapterSet
    /// IA³ adapters by name, in load order.
    private var ia3: [(name: String, adapters: IA3Adapters)] = []
    /// The active IA³ adapter's name (its vectors attached); nil when none is.
    private var activeIA3: String?

    public init(model: CausalLM) {
        self.model = model
        adapterSet = LoRAAdapterSet(model: model)
    }

    /// Names in load order.
    public var names: [String] { adapterSet.names + ia3.map(\.name) }
    /// The active adapter's name; nil = the base model.
    public var active: String? { activeIA3 ?? adapterSet.activeAdapter }

    /// Loads the peft adapter folder `folder` (Tailor's or peft's: LoRA, IA³ or AdaLoRA) under `name`, without activating it.
    /// - Throws: `AdapterError` naming the config field or tensor that does not fit this model.
    public func load(name: String, folder: URL) throws {
        if IA3AdapterFolder.isIA3(folder: folder) {
            let adapters = try IA3AdapterFolder.load(folder: folder, for: model)
            try remove(name)
            ia3.append((name, adapters))
            return
        }
        // AdaLoRA (peft_type ADALORA) computes as a LoRA of A ⊙ E and B: it loads as one.
        let adapters = AdaLoRAAdapterFolder.isAdaLoRA(folder: folder)
            ? try AdaLoRAAdapterFolder.load(folder: folder, for: model).asLoRA(backend: model.backend)
            : try PeftAdapterFolder.load(folder: folder, for: model)
        if ia3.contains(where: { $0.name == name }) { try remove(name) }
        // Generation never changes A, B or a DoRA magnitude: DoRA's weight is computed once.
        for module in adapters.modules { module.lora.reusesDoRAWeight = true }
        if adapterSet.adapters(named: name) != nil { try adapterSet.deleteAdapter(name) }
        // The set puts its paths on the Linears: an active IA³ adapter steps off them meanwhile.
        let ia3Active = activeIA3.flatMap(ia3Adapters(named:))
        try ia3Active?.detach(from: model)
        try adapterSet.addAdapter(name, adapters)
        try ia3Active?.attach(to: model)
    }

    /// The adapters loaded under `name`.
    public func adapters(named name: String) -> LoRAAdapters? { adapterSet.adapters(named: name) }

    /// Makes `name` the active adapter, or the base model when nil.
    /// - Throws: `InferenceError.unknownAdapter` for a name never loaded.
    public func activate(_ name: String?) throws {
        guard name != active else { return }
        if let name, adapterSet.adapters(named: name) == nil, ia3Adapters(named: name) == nil {
            throw InferenceError.unknownAdapter(name, loaded: names)
        }
        if let current = activeIA3.flatMap(ia3Adapters(named:)) {
            try current.detach(from: model)
            activeIA3 = nil
        }
        if let name, let incoming = ia3Adapters(named: name) {
            try adapterSet.setAdapter(nil)
            try incoming.attach(to: model)
            activeIA3 = name
            return
        }
        try adapterSet.setAdapter(name)
    }

    /// Whether `folder` holds an IA³ adapter (peft_type IA3), which batched serving refuses.
    public static func isIA3(folder: URL) -> Bool { IA3AdapterFolder.isIA3(folder: folder) }

    /// The IA³ adapters loaded under `name`.
    public func ia3Adapters(named name: String) -> IA3Adapters? { ia3.first { $0.name == name }?.adapters }

    /// Removes the adapter loaded under `name` (either kind), deactivating it first; nothing when none is.
    private func remove(_ name: String) throws {
        if active == name { try activate(nil) }
        if adapterSet.adapters(named: name) != nil { try adapterSet.deleteAdapter(name) }
        ia3.removeAll { $0.name == name }
    }

    func select(_ selection: AdapterSelection) throws {
        switch selection {
        case .current: return
        case .base: try activate(nil)
        case .named(let name): try activate(name)
        }
    }
}
