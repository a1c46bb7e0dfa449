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
    /// share of the step's loss, and returns that share (its loss sum / `normalizer`) and the
    /// micro-batch's value of each logged metric (the step logs each metric's mean over the
    /// micro-batches that report it, as TRL averages its logged values).
    func accumulate(_ batch: TokenBatch, model: CausalLM, gradients: GradientStore, normalizer: Double) throws -> ObjectiveShare

    /// The micro-batch of `rows` in the layout `accumulate` and `evaluate` expect (SFT: the rows'
    /// samples end to end, in order).
    func batch(_ rows: [TrainingRow]) throws -> TokenBatch

    /// The loss and metrics of one evaluation batch, as sums with the weight they average over
    /// (SFT: Σ cross-entropy over label tokens; a preference loss: Σ over pairs).
    func evaluate(_ batch: TokenBatch, model: CausalLM) throws -> EvaluationShare
}

extension TrainingObjective {
    public func batch(_ rows: [TrainingRow]) throws -> TokenBatch {
        try TokenBatch(sequences: rows.flatMap { $0.samples.map { ($0.ids, $0.labels) } })
    }
}

/// One evaluation batch's sums: the evaluation's loss is Σ lossSum / Σ weight over its batches,
/// and each metric Σ metrics / Σ weight.
public struct EvaluationShare: Sendable, Equatable {
    public var lossSum: Double
    public var weight: Double
    public var labelTokens: Int
    public var metrics: [String: Double]

    public init(lossSum: Double, weight: Double, labelTokens: Int, metrics: [String: Double] = [:]) {
        self.lossSum = lossSum
        self.weight = weight
        self.labelTokens = labelTokens
        self.metrics = metrics
    }
}

/// One micro-batch's part of a step's loss and metrics.
public struct ObjectiveShare: Sendable, Equatable {
    public var loss: Double
    /// By the names TRL logs them (`rewards/chosen`, `logps/rejected`, ...): this micro-batch's values.
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

    /// The token-weighted mean cross-entropy, as Tailor has always reported eval_loss.
    public func evaluate(_ batch: TokenBatch, model: CausalLM) throws -> EvaluationShare {
        let result = try model.loss(batch)
        return EvaluationShare(lossSum: result.lossSum, weight: Double(result.labelCount), labelTokens: result.labelCount)
    }
}

extension TokenBatch {
    /// Targets other than -100: the tokens this batch trains.
    var labelTokenCount: Int { shiftedTargets.reduce(0) { $0 + ($1 != -100 ? 1 : 0) } }
}
