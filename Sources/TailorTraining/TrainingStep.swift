import TailorModels
import TailorTensor

/// What one optimizer step did.
public struct StepLog: Sendable, Equatable {
    /// 1-based step number.
    public var step: Int
    /// Mean cross-entropy over the step's label tokens (all micro-batches).
    public var loss: Double
    /// Global gradient norm before clipping.
    public var gradNorm: Double
    /// Learning rate the step used.
    public var learningRate: Double
    /// Label tokens in the step.
    public var labelTokens: Int
}

/// One optimizer step over several micro-batches, with transformers.Trainer's semantics:
/// the loss of every micro-batch is normalised by the label tokens of the whole step (so GA=4×B1
/// equals B4), gradients are clipped on their global norm, then the optimizer (AdamW or SGD) steps
/// at the scheduled rate.
public final class StepRunner: @unchecked Sendable {
    public let model: CausalLM
    public let gradients: GradientStore
    public let optimizer: Optimizer
    public var schedule: LRSchedule
    /// max_grad_norm; 0 or less disables clipping.
    public var maxGradNorm: Double
    /// Called before each micro-batch with (step number, micro-batch index): sets dropout masks.
    public var beforeMicroBatch: ((Int, Int) -> Void)?

    /// A runner stepping `optimizer`, with a gradient buffer for each of its parameters.
    public init(model: CausalLM, optimizer: Optimizer, schedule: LRSchedule, maxGradNorm: Double = 1) throws {
        self.model = model
        self.schedule = schedule
        self.maxGradNorm = maxGradNorm
        self.optimizer = optimizer
        gradients = GradientStore()
        for parameter in optimizer.parameters {
            try gradients.add(parameter.name, shape: parameter.value.shape, backend: model.backend)
        }
    }

    /// A runner with torch.optim.AdamW.
    public convenience init(model: CausalLM, parameters: [TrainableParameter], schedule: LRSchedule,
                            weightDecay: Double = 0, maxGradNorm: Double = 1, beta1: Double = 0.9, beta2: Double = 0.999,
                            eps: Double = 1e-8) throws {
        let adamw = try AdamW(parameters: parameters, backend: model.backend, beta1: beta1, beta2: beta2,
                              eps: eps, weightDecay: weightDecay)
        try self.init(model: model, optimizer: adamw, schedule: schedule, maxGradNorm: maxGradNorm)
    }

    /// Runs forward/backward over `microBatches`, clips, and steps the optimizer.
    public func step(_ microBatches: [TokenBatch]) throws -> StepLog {
        let labelTokens = microBatches.reduce(0) { total, batch in total + batch.shiftedTargets.filter { $0 != -100 }.count }
        let stepNumber = optimizer.stepCount + 1
        guard labelTokens > 0 else {
            throw TrainingError.unusableData("step \(stepNumber) has no label tokens (every target of its micro-batches is -100)")
        }
        try gradients.zero(backend: model.backend)
        var lossSum = 0.0
        for (index, batch) in microBatches.enumerated() {
            beforeMicroBatch?(stepNumber, index)
            lossSum += try model.forwardBackward(batch, gradients: gradients, lossNormalizer: labelTokens).lossSum
        }
        let loss = lossSum / Double(labelTokens)
        guard loss.isFinite else { throw TrainingError.nonFiniteLoss(step: stepNumber, value: loss) }
        let norm = try clipGradientNorm(gradients, maxNorm: maxGradNorm, backend: model.backend)
        let lr = schedule.lr(step: optimizer.stepCount)
        try optimizer.step(gradients: gradients, lr: lr)
        return StepLog(step: stepNumber, loss: loss, gradNorm: norm, learningRate: lr, labelTokens: labelTokens)
    }
}
