import Foundation
import TailorModels
import TailorTraining

/// LoRA adapters loaded once beside one base model, any one of them (or none) active at a time.
/// Switching attaches or removes side paths; the base weights are never reloaded or changed.
public final class AdapterLibrary: @unchecked Sendable {
    public let model: CausalLM
    private var loaded: [String: LoRAAdapters] = [:]
    /// Names in load order.
    public private(set) var names: [String] = []
    /// The active adapter's name; nil = the base model.
    public private(set) var active: String?

    public init(model: CausalLM) { self.model = model }

    /// Loads the peft adapter folder `folder` (Tailor's or peft's) under `name`, without activating it.
    /// - Throws: `TrainingError` naming the config field or tensor that does not fit this model.
    public func load(name: String, folder: URL) throws {
        let adapters = try PeftAdapterFolder.load(folder: folder, for: model)
        if loaded[name] == nil { names.append(name) }
        if active == name { try activate(nil) }
        loaded[name] = adapters
    }

    /// The adapters loaded under `name`.
    public func adapters(named name: String) -> LoRAAdapters? { loaded[name] }

    /// Makes `name` the active adapter, or the base model when nil.
    /// - Throws: `InferenceError.unknownAdapter` for a name never loaded.
    public func activate(_ name: String?) throws {
        guard name != active else { return }
        if let name, loaded[name] == nil { throw InferenceError.unknownAdapter(name, loaded: names) }
        if let current = active, let adapters = loaded[current] { try adapters.detach(from: model) }
        active = nil
        if let name, let adapters = loaded[name] {
            try adapters.attach(to: model)
            active = name
        }
    }

    func select(_ selection: AdapterSelection) throws {
        switch selection {
        case .current: return
        case .base: try activate(nil)
        case .named(let name): try activate(name)
        }
    }
}
