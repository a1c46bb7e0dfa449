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
    /// The objective's metrics (TRL's names: `rewards/margins`, ...); empty for SFT.
    public var metrics: [String: Double] = [:]
}

/// One optimizer step over several micro-batches, with transformers.Trainer's semantics:
/// the loss of every micro-batch is normalised over the whole step (SFT: by its label tokens, so
/// GA=4×B1 equals B4), gradients are clipped on their global norm, then the optimizer (AdamW or
/// SGD) steps at the scheduled rate. What the loss is comes from `objective` (SFT by default).
///
/// Data parallel (`communicator` of more than one rank): every rank is given all the step's
/// micro-batches and runs those whose index is its rank modulo the world size; the normaliser is
/// the whole step's, so the gradients summed over ranks, the loss and the metrics are those of
/// the one-process step (up to the order of the sums), and every rank takes the same optimizer step.
public final class StepRunner: @unchecked Sendable {
    public let model: CausalLM
    public let gradients: GradientStore
    public let optimizer: Optimizer
    public var schedule: LRSchedule
    /// max_grad_norm; 0 or less disables clipping.
    public var maxGradNorm: Double
    /// Called before each micro-batch with (step number, micro-batch index): sets dropout masks.
    public var beforeMicroBatch: ((Int, Int) -> Void)?

    /// A term added to every micro-batch's loss (AdaLoRA's orthogonal regulariser, which peft adds
    /// to each forward's loss): accumulates its gradient and returns its value.
    public var regularizer: ((GradientStore) throws -> Double)?
    /// Called after the micro-batches' backward, before the gradients are summed over the ranks,
    /// clipped and stepped: P-tuning's encoder backward from the virtual tokens' gradient.
    public var afterBackward: ((GradientStore) throws -> Void)?
    /// Called after the optimizer step with (step number, the gradients it used, clipped), before
    /// they are zeroed: transformers' `on_optimizer_step` callback (AdaLoRA's rank allocation).
    public var afterOptimizerStep: ((Int, GradientStore) throws -> Void)?
    /// What the step minimises.
    public var objective: TrainingObjective = SFTObjective()
    /// The ranks that share each step (the world of one unless training is data parallel).
    public var communicator: Communicator = SingleProcess()
    /// Gradient elements per all-reduce or reduce (DDP's bucket_cap_mb of 25 MB, or DeepSpeed's reduce_bucket_size).
    public var bucketElements = (25 << 20) / MemoryLayout<Float>.size

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

    /// Runs forward/backward over `microBatches` (this rank's share of them), sums the gradients,
    /// loss and metrics over the ranks, clips, and steps the optimizer.
    public func step(_ microBatches: [TokenBatch]) throws -> StepLog {
        let stepNumber = optimizer.stepCount + 1
        let normalizer = try objective.normalizer(of: microBatches, step: stepNumber)
        let labelTokens = microBatches.reduce(0) { $0 + $1.labelTokenCount }
        try gradients.zero(backend: model.backend)
        var shares = MetricShares()
        let (rank, world) = (communicator.rank, communicator.worldSize)
        for (index, batch) in microBatches.enumerated() where index % world == rank {
            beforeMicroBatch?(stepNumber, index)
            let share = try objective.accumulate(batch, model: model, gradients: gradients, normalizer: normalizer)
            let extra = try regularizer?(gradients) ?? 0
            shares.add(loss: share.loss + extra, metrics: share.metrics)
        }
        try afterBackward?(gradients)
        let zero2 = (optimizer as? ShardedOptimizer).flatMap { $0.stage >= 2 ? $0 : nil }
        if communicator.isDistributed {
            if let zero2 {
                try zero2.reduceGradients(gradients, bucketElements: bucketElements, label: "step \(stepNumber)'s gradient reduce")
            } else {
                try communicator.allReduceSum(gradients, backend: model.backend, label: "step \(stepNumber)'s gradient all-reduce",
                                              bucketElements: bucketElements)
            }
            shares = try shares.summed(over: communicator, label: "step \(stepNumber)'s loss and metrics")
        }
        let loss = shares.loss
        guard loss.isFinite else { throw TrainingError.nonFiniteLoss(step: stepNumber, value: loss) }
        let norm = try zero2?.clipOwnedGradients(gradients, maxNorm: maxGradNorm, label: "step \(stepNumber)'s gradient norm")
            ?? clipGradientNorm(gradients, maxNorm: maxGradNorm, backend: model.backend)
        let lr = schedule.lr(step: optimizer.stepCount)
        try optimizer.step(gradients: gradients, lr: lr)
        try afterOptimizerStep?(stepNumber, gradients)
        var log = StepLog(step: stepNumber, loss: loss, gradNorm: norm, learningRate: lr, labelTokens: labelTokens)
        log.metrics = shares.means
        return log
    }
}

extension StepRunner {
    /// The dropout key of micro-batch `micro` of optimizer step `step`: masks from (seed, step, micro-batch),
    /// reproducible, and identical after a resume.
    static func dropoutKey(seed: UInt64, step: Int, micro: Int) -> UInt64 {
        seed &* 0x2545_F491_4F6C_DD1D &+ UInt64(step) &* 1_000_003 &+ UInt64(micro)  // allowed: step and micro are non-negative counters (Int -> UInt64 widens)
    }
}
