import TailorModels
import TailorTensor

/// Full fine-tuning: chosen parameters become trainable f32 copies (the frozen base may be
/// bf16 or memory-mapped); weight decay follows transformers.Trainer's groups.
public enum FullFineTuning {
    /// Whether transformers.Trainer applies weight decay to a parameter: not to biases and
    /// norm weights (its name patterns bias, layernorm, rmsnorm, `.norm.`, `_norm.`).
    public static func decays(_ name: String) -> Bool {
        let lower = name.lowercased()
        if lower.contains("bias") || lower.contains("layernorm") || lower.contains("rmsnorm") { return false }
        let parts = lower.split(separator: ".")
        if parts.contains("norm") { return false }
        if parts.contains(where: { $0.hasSuffix("_norm") }) { return false }
        return true
    }

    /// Makes the parameters whose names satisfy `include` (all by default) trainable and returns
    /// them in module order.
    public static func prepare(_ model: CausalLM, include: (String) -> Bool = { _ in true }) throws -> [TrainableParameter] {
        var result: [TrainableParameter] = []
        for (name, tensor) in model.namedParameters where include(name) {
            let copy = try model.backend.empty(tensor.shape, dtype: .f32)
            try model.backend.copy(tensor, into: copy)
            try model.replaceParameter(name, with: copy)
            result.append(TrainableParameter(name: name, value: copy, weightDecay: decays(name)))
        }
        guard !result.isEmpty else { throw TrainingError.nothingToTrain("the parameters selected for full fine-tuning are none of the model's") }
        return result
    }
}
