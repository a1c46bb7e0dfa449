import Foundation
import TailorAdapters
import TailorModels

/// LoRA adapters loaded once beside one base model, any one of them (or none) active at a time:
/// the inference face of `LoRAAdapterSet`. Switching flips which adapter the side paths run;
/// the base weights are never reloaded or changed. IA³ adapters (peft_type IA3) load beside them:
/// activating one attaches its vectors to the Linears (in place of the set's paths until switched
/// away); they take no part in per-row batches (`tailor serve` refuses them). AdaLoRA adapters
/// (peft_type ADALORA) load as the LoRA adapters they compute (`AdaLoRAAdapters.asLoRA`).
/// Prompt-tuning folders (PROMPT_TUNING, and P_TUNING's saved table) and prefix-tuning ones
/// (PREFIX_TUNING) load as IA³ ones do: activating one puts its virtual tokens before every sequence.
public final class AdapterLibrary: @unchecked Sendable {
    public let model: CausalLM
    /// The adapters and which one is active.
    public let adapterSet: LoRAAdapterSet
    /// Adapters that attach to the model itself (IA³, prompt tuning) by name, in load order.
    private var attached: [(name: String, adapters: any AttachableAdapters)] = []
    /// The active one of `attached` (attached to the model); nil when none is.
    private var activeAttached: String?

    public init(model: CausalLM) {
        self.model = model
        adapterSet = LoRAAdapterSet(model: model)
    }

    /// Names in load order.
    public var names: [String] { adapterSet.names + attached.map(\.name) }
    /// The active adapter's name; nil = the base model.
    public var active: String? { activeAttached ?? adapterSet.activeAdapter }

    /// Loads the peft adapter folder `folder` (Tailor's or peft's: LoRA, IA³, AdaLoRA or prompt tuning) under `name`,
    /// without activating it.
    /// - Throws: `AdapterError` naming the config field or tensor that does not fit this model.
    public func load(name: String, folder: URL) throws {
        let own: (any AttachableAdapters)? = IA3AdapterFolder.isIA3(folder: folder) ? try IA3AdapterFolder.load(folder: folder, for: model)
            : PromptTuningFolder.isPromptTuning(folder: folder) ? try PromptTuningFolder.load(folder: folder, for: model)
            : PrefixTuningFolder.isPrefixTuning(folder: folder) ? try PrefixTuningFolder.load(folder: folder, for: model) : nil
        if let own {
            try remove(name)
            attached.append((name, own))
            return
        }
        // AdaLoRA (peft_type ADALORA) computes as a LoRA of A ⊙ E and B: it loads as one.
        let adapters = AdaLoRAAdapterFolder.isAdaLoRA(folder: folder)
            ? try AdaLoRAAdapterFolder.load(folder: folder, for: model).asLoRA(backend: model.backend)
            : try PeftAdapterFolder.load(folder: folder, for: model)
        if attached.contains(where: { $0.name == name }) { try remove(name) }
        // Generation never changes A, B or a DoRA magnitude: DoRA's weight is computed once.
        for module in adapters.modules { module.lora.reusesDoRAWeight = true }
        if adapterSet.adapters(named: name) != nil { try adapterSet.deleteAdapter(name) }
        // The set puts its paths on the Linears: an active IA³ adapter steps off them meanwhile.
        let current = activeAttached.flatMap(attachedAdapters(named:))
        try current?.detach(from: model)
        try adapterSet.addAdapter(name, adapters)
        try current?.attach(to: model)
    }

    /// The adapters loaded under `name`.
    public func adapters(named name: String) -> LoRAAdapters? { adapterSet.adapters(named: name) }

    /// Makes `name` the active adapter, or the base model when nil.
    /// - Throws: `InferenceError.unknownAdapter` for a name never loaded.
    public func activate(_ name: String?) throws {
        guard name != active else { return }
        if let name, adapterSet.adapters(named: name) == nil, attachedAdapters(named: name) == nil {
            throw InferenceError.unknownAdapter(name, loaded: names)
        }
        if let current = activeAttached.flatMap(attachedAdapters(named:)) {
            try current.detach(from: model)
            activeAttached = nil
        }
        if let name, let incoming = attachedAdapters(named: name) {
            try adapterSet.setAdapter(nil)
            try incoming.attach(to: model)
            activeAttached = name
            return
        }
        try adapterSet.setAdapter(name)
    }

    /// Whether `folder` holds an IA³ adapter (peft_type IA3), which batched serving refuses.
    public static func isIA3(folder: URL) -> Bool { IA3AdapterFolder.isIA3(folder: folder) }

    /// Whether `folder` holds virtual tokens (peft_type PROMPT_TUNING, P_TUNING or PREFIX_TUNING), which batched serving refuses.
    public static func isPromptTuning(folder: URL) -> Bool {
        PromptTuningFolder.isPromptTuning(folder: folder) || PrefixTuningFolder.isPrefixTuning(folder: folder)
    }

    /// The IA³ adapters loaded under `name`.
    public func ia3Adapters(named name: String) -> IA3Adapters? { attachedAdapters(named: name) as? IA3Adapters }

    /// The prompt tuning loaded under `name`.
    public func promptTuning(named name: String) -> PromptTuning? { attachedAdapters(named: name) as? PromptTuning }

    private func attachedAdapters(named name: String) -> (any AttachableAdapters)? { attached.first { $0.name == name }?.adapters }

    /// Removes the adapter loaded under `name` (any kind), deactivating it first; nothing when none is.
    private func remove(_ name: String) throws {
        if active == name { try activate(nil) }
        if adapterSet.adapters(named: name) != nil { try adapterSet.deleteAdapter(name) }
        attached.removeAll { $0.name == name }
    }

    func select(_ selection: AdapterSelection) throws {
        switch selection {
        case .current: return
        case .base: try activate(nil)
        case .named(let name): try activate(name)
        }
    }
}
