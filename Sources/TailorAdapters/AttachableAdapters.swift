import TailorModels

/// Adapters that attach to a model's linears and come off again (LoRA's, IA³'s).
public protocol AttachableAdapters: AnyObject {
    func attach(to model: CausalLM) throws
    func detach(from model: CausalLM) throws
}

extension AttachableAdapters {
    /// Runs `body` on the base model alone (peft's `with model.disable_adapter():`): detached,
    /// then attached again, also when `body` throws.
    public func withDisabled<T>(on model: CausalLM, _ body: () throws -> T) throws -> T {
        try detach(from: model)
        let result: T
        do { result = try body() } catch {
            try attach(to: model)
            throw error
        }
        try attach(to: model)
        return result
    }
}
