import Foundation
import TailorAdapters
import TailorModels

/// Direct Preference Optimization (Rafailov et al. 2023) as TRL's DPOTrainer computes it (the TRL
/// of scripts/reference/requirements.txt), over
/// micro-batches laid out as TRL concatenates them: the P chosen sequences, then the P rejected
/// ones, pair i being sequences i and P + i.
///
/// With z = (log πθ(chosen) − log πref(chosen)) − (log πθ(rejected) − log πref(rejected)) per pair
/// (sums of label log-probabilities; for `ipo` each log-ratio divided by its reply's label tokens,
/// as TRL normalises there):
/// - `sigmoid`: −log σ(βz),
/// - `hinge`: max(0, 1 − βz),
/// - `ipo`: (z − 1/(2β))²,
/// - `robust`: (−(1 − ε)·log σ(βz) + ε·log σ(−βz)) / (1 − 2ε), ε = label_smoothing ∈ [0, 0.5).
/// Rewards are β times the summed log-ratios for every loss type, as TRL logs them.
/// The loss is the mean over a micro-batch's pairs, divided by the step's micro-batch count, as
/// transformers' Trainer averages a loss that does not count its items under gradient
/// accumulation. The reference log-probabilities come from `reference`: with LoRA the same model
/// with its adapters disabled (`adaptersDisabled`, no second copy of the weights), or given ones.
public struct DPOObjective: TrainingObjective {
    public enum LossType: String, CaseIterable, Sendable {
        case sigmoid, hinge, ipo, robust
    }

    public var beta: Double
    public var lossType: LossType
    public var labelSmoothing: Double
    /// The reference model's label log-probabilities of a batch.
    public typealias Reference = @Sendable (CausalLM, TokenBatch) throws -> SequenceLogProbs
    public var reference: Reference

    /// The base model under the LoRA `adapters` being trained, with them disabled for the
    /// reference forward (`LoRAAdapters.withDisabled`: side paths and extras off, then back).
    public static func adaptersDisabled(_ adapters: LoRAAdapters) -> Reference {
        { model, batch in try adapters.withDisabled(on: model) { try model.labelLogProbs(batch) } }
    }

    public init(beta: Double = 0.1, lossType: LossType = .sigmoid, labelSmoothing: Double = 0, reference: @escaping Reference) {
        self.beta = beta
        self.lossType = lossType
        self.labelSmoothing = labelSmoothing
        self.reference = reference
    }

    public func normalizer(of microBatches: [TokenBatch], step: Int) throws -> Double {
        if lossType == .robust, !(0..<0.5).contains(labelSmoothing) {
            throw TrainingError.invalidValue(key: "label_smoothing", problem: "must lie in [0, 0.5) for loss_type robust (got \(labelSmoothing))")
        }
        return try PairBatches.normalizer(of: microBatches, step: step)
    }

    /// One pair's loss and ∂loss/∂z.
    public func pairLoss(_ z: Double) -> (loss: Double, dz: Double) {
        switch lossType {
        case .sigmoid:
            return (-Self.logSigmoid(beta * z), -beta * Self.sigmoid(-beta * z))
        case .robust:
            let x = beta * z, e = labelSmoothing
            let loss = (-(1 - e) * Self.logSigmoid(x) + e * Self.logSigmoid(-x)) / (1 - 2 * e)
            let dz = (-(1 - e) * beta * Self.sigmoid(-x) - e * beta * Self.sigmoid(x)) / (1 - 2 * e)
            return (loss, dz)
        case .hinge:
            let margin = 1 - beta * z
            return margin > 0 ? (margin, -beta) : (0, 0)
        case .ipo:
            let d = z - 1 / (2 * beta)
            return (d * d, 2 * d)
        }
    }

    /// A step's or an evaluation batch's pairs: Σ of their losses and of each metric, and
    /// ∂(Σ loss)/∂logpₛ per sequence.
    struct PairSums {
        var loss = 0.0
        var metrics: [String: Double] = [:]
        var gradients: [Double]
        var pairs: Int
    }

    func pairSums(policy: SequenceLogProbs, reference ref: SequenceLogProbs) throws -> PairSums {
        guard ref.sums.count == policy.sums.count else {
            throw TrainingError.internalError("the reference gave \(ref.sums.count) log-probabilities for \(policy.sums.count) sequences")
        }
        let pairs = policy.sums.count / 2
        let averaged = lossType == .ipo
        // z's log-ratio of sequence s: a sum, or for ipo a mean per label token.
        func ratio(_ s: Int) -> Double {
            (policy.sums[s] - ref.sums[s]) / (averaged ? Double(max(1, policy.counts[s])) : 1)
        }
        var result = PairSums(gradients: [Double](repeating: 0, count: policy.sums.count), pairs: pairs)
        var chosenReward = 0.0, rejectedReward = 0.0, accuracy = 0.0, chosenLogp = 0.0, rejectedLogp = 0.0
        for i in 0..<pairs {
            let (c, r) = (i, pairs + i)
            let (pairLoss, dz) = pairLoss(ratio(c) - ratio(r))
            result.loss += pairLoss
            // ∂/∂(sum) of a mean is 1/count.
            result.gradients[c] = dz / (averaged ? Double(max(1, policy.counts[c])) : 1)
            result.gradients[r] = -dz / (averaged ? Double(max(1, policy.counts[r])) : 1)
            let rc = beta * (policy.sums[c] - ref.sums[c]), rr = beta * (policy.sums[r] - ref.sums[r])
            chosenReward += rc
            rejectedReward += rr
            accuracy += rc > rr ? 1 : 0
            chosenLogp += policy.sums[c]
            rejectedLogp += policy.sums[r]
        }
        result.metrics = [
            "rewards/chosen": chosenReward, "rewards/rejected": rejectedReward, "rewards/accuracies": accuracy,
            "rewards/margins": chosenReward - rejectedReward, "logps/chosen": chosenLogp, "logps/rejected": rejectedLogp,
        ]
        return result
    }

    public func accumulate(_ batch: TokenBatch, model: CausalLM, gradients: GradientStore, normalizer: Double) throws -> ObjectiveShare {
        let ref = try reference(model, batch)
        let policy = try model.labelLogProbs(batch)  // after the reference: its activations stay for the backward
        let sums = try pairSums(policy: policy, reference: ref)
        let share = 1 / (Double(sums.pairs) * normalizer)
        try model.backwardLabelLogProbs(batch, weights: sums.gradients.map { Float($0 * share) }, gradients: gradients)
        return ObjectiveShare(loss: sums.loss * share, metrics: sums.metrics.mapValues { $0 * share })
    }

    /// The chosen sequence of every row first, then the rejected ones, as TRL concatenates them.
    public func batch(_ rows: [TrainingRow]) throws -> TokenBatch { try PairBatches.batch(rows) }

    /// Σ over the batch's pairs of the loss and of TRL's metrics, weighted by its pair count: the
    /// evaluation's loss is the mean pair loss, as Trainer's eval_loss is for equal batches.
    public func evaluate(_ batch: TokenBatch, model: CausalLM) throws -> EvaluationShare {
        let ref = try reference(model, batch)
        let policy = try model.labelLogProbs(batch)
        let sums = try pairSums(policy: policy, reference: ref)
        return EvaluationShare(lossSum: sums.loss, weight: Double(sums.pairs), labelTokens: policy.counts.reduce(0, +),
                               metrics: sums.metrics)
    }

    static func sigmoid(_ x: Double) -> Double { x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x)) }
    /// log σ(x) = −softplus(−x), without overflow.
    static func logSigmoid(_ x: Double) -> Double { min(x, 0) - log1p(exp(-abs(x))) }
}
