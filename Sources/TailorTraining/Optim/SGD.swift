import TailorModels
import TailorTensor

/// torch.optim.SGD over a fixed list of f32 parameters, with two groups (decay / no decay) as
/// transformers.Trainer builds them. With momentum, each parameter's buffer is created on the
/// first step from its (decayed) gradient, as torch does; with momentum 0 there is no state.
public final class SGD: Optimizer, @unchecked Sendable {
    public var kind: String { "sgd" }
    public let parameters: [TrainableParameter]
    public let momentum: Double
    public let dampening: Double
    public let nesterov: Bool
    public let weightDecay: Double
    public private(set) var stepCount = 0
    let backend: Backend
    /// One momentum buffer per parameter (same shape), nil until the first step or without momentum.
    var buffers: [Tensor]?

    /// Checks the settings (see `validate`).
    public init(parameters: [TrainableParameter], backend: Backend, momentum: Double = 0, dampening: Double = 0,
                nesterov: Bool = false, weightDecay: Double = 0) throws {
        try Self.validate(momentum: momentum, dampening: dampening, nesterov: nesterov, weightDecay: weightDecay)
        self.parameters = parameters
        self.backend = backend
        self.momentum = momentum
        self.dampening = dampening
        self.nesterov = nesterov
        self.weightDecay = weightDecay
    }

    /// torch.optim.SGD's rules, each error naming the option: momentum and weight decay at least 0,
    /// Nesterov only with a positive momentum and no dampening.
    public static func validate(momentum: Double, dampening: Double, nesterov: Bool, weightDecay: Double) throws {
        guard momentum >= 0, momentum.isFinite else {
            throw TrainingError.invalidValue(key: "optim_args", problem: "momentum must be a number of at least 0 (got \(momentum))")
        }
        guard dampening.isFinite else {
            throw TrainingError.invalidValue(key: "optim_args", problem: "dampening must be a finite number (got \(dampening))")
        }
        guard weightDecay >= 0, weightDecay.isFinite else {
            throw TrainingError.invalidValue(key: "weight_decay", problem: "must be a number of at least 0 (got \(weightDecay))")
        }
        if nesterov && (momentum <= 0 || dampening != 0) {
            throw TrainingError.invalidValue(key: "optim_args",
                                             problem: "nesterov=True needs a momentum above 0 and dampening 0, as torch.optim.SGD requires (got momentum=\(momentum), dampening=\(dampening))")
        }
    }

    /// momentum_buffer.<name> for every parameter, once the buffers exist.
    public func stateTensors() -> [(name: String, tensor: Tensor)] {
        guard let buffers else { return [] }
        return zip(parameters, buffers).map { ("momentum_buffer." + $0.name, $1) }
    }

    public func restore(stepCount: Int, saved: (String) throws -> [Float]?) throws {
        buffers = nil
        if momentum != 0 && stepCount > 0 {
            let restored = try parameters.map { try backend.zeros($0.value.shape, dtype: .f32) }  // [shape of the parameter]
            for (parameter, buffer) in zip(parameters, restored) {
                try load("momentum_buffer." + parameter.name, into: buffer, from: saved, backend: backend)
            }
            buffers = restored
        }
        self.stepCount = stepCount
    }

    /// One update of every parameter from its gradient in `gradients`, at learning rate `lr`.
    public func step(gradients: GradientStore, lr: Double) throws {
        let grads = try parameters.map { try gradient(of: $0, in: gradients) }
        var initialize = false
        if momentum != 0 && buffers == nil {
            buffers = try parameters.map { try backend.empty($0.value.shape, dtype: .f32) }  // [shape of the parameter]
            initialize = true
        }
        stepCount += 1
        for (index, parameter) in parameters.enumerated() {
            let hyper = SGDHyper(lr: lr * parameter.learningRateScale, momentum: momentum, dampening: dampening, nesterov: nesterov,
                                 weightDecay: parameter.weightDecay ? weightDecay : 0)
            try backend.sgd(param: parameter.value, grad: grads[index], momentumBuffer: buffers?[index], hyper: hyper,
                            initializeBuffer: initialize)
        }
    }
}
