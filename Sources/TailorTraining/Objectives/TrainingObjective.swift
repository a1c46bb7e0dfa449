import TailorModels

/// What a training step minimises. `StepRunner` is the same for every objective: it asks the
/// objective for the step's normaliser, runs each micro-batch through `accumulate` (which leaves
/// that micro-batch's share of the gradient in the store), then clips and steps the optimizer.
///
/// An objective is a small function of each sequence's label log-probabilities: SFT uses the fused
/// `CausalLM.forwardBackward`; a preference loss (DPO, ORPO, SimPO, KTO) calls
/// `CausalLM.labelLogProbs`, computes ∂loss/∂logpₛ per sequence, and gives those weights to
/// `CausalLM.backwardLabelLogProbs`. A new objective is a new file here, not a fork of the trainer.
public protocol TrainingObjective: Sendable {
    /// What the step's loss is divided by (SFT: the label tokens of all its micro-batches, as
    /// transformers' Trainer normalises under gradient accumulation), checked before any forward.
    /// - Throws: `TrainingError.unusableData` when the step has nothing to train.
    func normalizer(of microBatches: [TokenBatch], step: Int) throws -> Double

    /// Forward and backward of one micro-batch: accumulates into `gradients` the gradient of its
    /// share of the step's loss, and returns that share (its loss sum / `normalizer`) and its
    /// share of each logged metric (the step logs their sums over its micro-batches).
    func accumulate(_ batch: TokenBatch, model: CausalLM, gradients: GradientStore, normalizer: Double) throws -> ObjectiveShare
}

/// One micro-batch's part of a step's loss and metrics.
public struct ObjectiveShare: Sendable, Equatable {
    public var loss: Double
    /// By the names TRL logs them (`rewards/chosen`, `logps/rejected`, ...); each already divided
    /// so that the step's value is the sum over its micro-batches.
    public var metrics: [String: Double]

    public init(loss: Double, metrics: [String: Double] = [:]) {
        self.loss = loss
        self.metrics = metrics
    }
}

/// Supervised fine-tuning: the mean cross-entropy over the step's label tokens.
public struct SFTObjective: TrainingObjective {
    public init() {}

    public func normalizer(of microBatches: [TokenBatch], step: Int) throws -> Double {
        let labelTokens = microBatches.reduce(0) { $0 + $1.labelTokenCount }
        guard labelTokens > 0 else {
            throw TrainingError.unusableData("step \(step) has no label tokens (every target of its micro-batches is -100)")
        }
        return Double(labelTokens)
    }

    public func accumulate(_ batch: TokenBatch, model: CausalLM, gradients: GradientStore, normalizer: Double) throws -> ObjectiveShare {
        guard let labelTokens = Int(exactly: normalizer) else {
            throw TrainingError.internalError("SFT's normalizer \(normalizer) is not a count of label tokens")
        }
        let result = try model.forwardBackward(batch, gradients: gradients, lossNormalizer: labelTokens)
        return ObjectiveShare(loss: result.lossSum / normalizer)
    }
}

extension TokenBatch {
    /// Targets other than -100: the tokens this batch trains.
    var labelTokenCount: Int { shiftedTargets.reduce(0) { $0 + ($1 != -100 ? 1 : 0) } }
}
