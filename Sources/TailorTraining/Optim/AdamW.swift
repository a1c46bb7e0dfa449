import TailorModels
import TailorTensor

/// A trainable tensor, whether weight decay applies to it (HF Trainer: not biases or norms), and
/// its learning rate as a multiple of the scheduled one (an optimizer parameter group's own lr:
/// LoRA+'s lora_B group).
public struct TrainableParameter: Sendable {
    public let name: String
    public let value: Tensor
    public let weightDecay: Bool
    public let learningRateScale: Double

    public init(name: String, value: Tensor, weightDecay: Bool, learningRateScale: Double = 1) {
        self.name = name
        self.value = value
        self.weightDecay = weightDecay
        self.learningRateScale = learningRateScale
    }
}

/// torch.optim.AdamW over a fixed list of f32 parameters, with two groups (decay / no decay)
/// as transformers.Trainer builds them.
public final class AdamW: Optimizer, @unchecked Sendable {
    public var kind: String { "adamw" }
    public let parameters: [TrainableParameter]
    public var beta1: Double
    public var beta2: Double
    public var eps: Double
    public var weightDecay: Double
    /// Steps taken so far.
    public private(set) var stepCount = 0
    let backend: Backend
    let m: [Tensor]
    let v: [Tensor]

    public init(parameters: [TrainableParameter], backend: Backend, beta1: Double = 0.9, beta2: Double = 0.999,
                eps: Double = 1e-8, weightDecay: Double = 0) throws {
        self.parameters = parameters
        self.backend = backend
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weightDecay = weightDecay
        m = try parameters.map { try backend.zeros($0.value.shape, dtype: .f32) }
        v = try parameters.map { try backend.zeros($0.value.shape, dtype: .f32) }
    }

    /// The moment tensors of parameter `index` (exp_avg, exp_avg_sq).
    public func moments(_ index: Int) -> (m: Tensor, v: Tensor) { (m[index], v[index]) }

    /// exp_avg.<name> and exp_avg_sq.<name> for every parameter.
    public func stateTensors() -> [(name: String, tensor: Tensor)] {
        parameters.indices.flatMap { index in
            [("exp_avg." + parameters[index].name, m[index]), ("exp_avg_sq." + parameters[index].name, v[index])]
        }
    }

    public func restore(stepCount: Int, saved: (String) throws -> [Float]?) throws {
        for (index, parameter) in parameters.enumerated() {
            try load("exp_avg." + parameter.name, into: m[index], from: saved, backend: backend)
            try load("exp_avg_sq." + parameter.name, into: v[index], from: saved, backend: backend)
        }
        self.stepCount = stepCount
    }

    /// One update of every parameter from its gradient in `gradients`, at learning rate `lr`.
    /// All parameters in one multi-tensor step (one launch on a GPU), as torch's fused AdamW.
    public func step(gradients: GradientStore, lr: Double) throws {
        let tensors = try parameters.indices.map { index in
            AdamWTensors(param: parameters[index].value, grad: try gradient(of: parameters[index], in: gradients),
                         m: m[index], v: v[index], decays: parameters[index].weightDecay)
        }
        stepCount += 1
        // One multi-tensor step per learning rate (torch's groups; one group without LoRA+).
        for (scale, indices) in learningRateGroups() {
            let group = indices.map { tensors[$0] }
            try backend.adamw(group, hyper: AdamWHyper(lr: lr * scale, beta1: beta1, beta2: beta2, eps: eps, weightDecay: weightDecay),
                              step: stepCount)
        }
    }
}

/// Scales all gradients so their global L2 norm is at most `maxNorm`, as
/// torch.nn.utils.clip_grad_norm_ does (coefficient maxNorm / (norm + 1e-6), capped at 1).
/// Returns the norm before clipping.
@discardableResult
public func clipGradientNorm(_ gradients: GradientStore, maxNorm: Double, backend: Backend) throws -> Double {
    let norm = try gradients.globalNorm(backend: backend)
    try clip(gradients.names.compactMap { gradients[$0] }, norm: norm, maxNorm: maxNorm, backend: backend)
    return norm
}

/// Scales `tensors` by clip_grad_norm_'s coefficient for a global norm `norm` (no-op when
/// maxNorm ≤ 0 or the norm is within it). ZeRO-2 clips each rank's own gradients with it.
func clip(_ tensors: [Tensor], norm: Double, maxNorm: Double, backend: Backend) throws {
    guard maxNorm > 0 else { return }
    let coefficient = Float(maxNorm) / (Float(norm) + 1e-6)
    guard coefficient < 1 else { return }
    for tensor in tensors { try backend.scale(tensor, by: coefficient) }
}
