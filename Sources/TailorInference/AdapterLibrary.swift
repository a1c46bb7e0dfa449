import Foundation
import TailorAdapters
import TailorModels

/// LoRA adapters loaded once beside one base model, any one of them (or none) active at a time:
/// the inference face of `LoRAAdapterSet`. Switching flips which adapter the side paths run;
/// the base weights are never reloaded or changed.
public final class AdapterLibrary: @unchecked Sendable {
    public let model: CausalLM
    /// The adapters and which one is active.
    public let adapterSet: LoRAAdapterSet

    public init(model: CausalLM) {
        self.model = model
        adapterSet = LoRAAdapterSet(model: model)
    }

    /// Names in load order.
    public var names: [String] { adapterSet.names }
    /// The active adapter's name; nil = the base model.
    public var active: String? { adapterSet.activeAdapter }

    /// Loads the peft adapter folder `folder` (Tailor's or peft's) under `name`, without activating it.
    /// - Throws: `AdapterError` naming the config field or tensor that does not fit this model.
    public func load(name: String, folder: URL) throws {
        let adapters = try PeftAdapterFolder.load(folder: folder, for: model)
        // Generation never changes A, B or a DoRA magnitude: DoRA's weight is computed once.
        for module in adapters.modules { module.lora.reusesDoRAWeight = true }
        if adapterSet.adapters(named: name) != nil { try adapterSet.deleteAdapter(name) }
        try adapterSet.addAdapter(name, adapters)
    }

    /// The adapters loaded under `name`.
    public func adapters(named name: String) -> LoRAAdapters? { adapterSet.adapters(named: name) }

    /// Makes `name` the active adapter, or the base model when nil.
    /// - Throws: `InferenceError.unknownAdapter` for a name never loaded.
    public func activate(_ name: String?) throws {
        guard name != active else { return }
        if let name, adapterSet.adapters(named: name) == nil { throw InferenceError.unknownAdapter(name, loaded: names) }
        try adapterSet.setAdapter(name)
    }

    func select(_ selection: AdapterSelection) throws {
        switch selection {
        case .current: return
        case .base: try activate(nil)
        case .named(let name): try activate(name)
        }
    }
}
