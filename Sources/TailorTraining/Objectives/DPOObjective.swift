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
        for (index, batch) in microBatches.enumerated() {
            let sequences = batch.sequenceCount
            guard sequences >= 2, sequences % 2 == 0 else {
                throw TrainingError.unusableData("step \(step), micro-batch \(index + 1): \(sequences) sequences; a preference batch holds chosen then rejected replies, two per pair")
            }
        }
        guard !microBatches.isEmpty else { throw TrainingError.unusableData("step \(step) has no micro-batches") }
        return Double(microBatches.count)
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

    public func accumulate(_ batch: TokenBatch, model: CausalLM, gradients: GradientStore, normalizer: Double) throws -> ObjectiveShare {
        let ref = try reference(model, batch)
        let policy = try model.labelLogProbs(batch)  // after the reference: its activations stay for the backward
        let pairs = policy.sums.count / 2
        let averaged = lossType == .ipo
        // z's log-ratio of sequence s: a sum, or for ipo a mean per label token.
        func ratio(_ s: Int) -> Double {
            (policy.sums[s] - ref.sums[s]) / (averaged ? Double(max(1, policy.counts[s])) : 1)
        }
        var weights = [Float](repeating: 0, count: policy.sums.count)
        var loss = 0.0, chosenReward = 0.0, rejectedReward = 0.0, accuracy = 0.0, chosenLogp = 0.0, rejectedLogp = 0.0
        let share = 1 / (Double(pairs) * normalizer)
        for i in 0..<pairs {
            let (c, r) = (i, pairs + i)
            let z = ratio(c) - ratio(r)
            let (pairLoss, dz) = pairLoss(z)
            loss += pairLoss
            // ∂/∂(sum) of a mean is 1/count.
            let perChosen = averaged ? 1 / Double(max(1, policy.counts[c])) : 1
            let perRejected = averaged ? 1 / Double(max(1, policy.counts[r])) : 1
            weights[c] = Float(dz * share * perChosen)
            weights[r] = Float(-dz * share * perRejected)
            let rc = beta * (policy.sums[c] - ref.sums[c]), rr = beta * (policy.sums[r] - ref.sums[r])
            chosenReward += rc
            rejectedReward += rr
            accuracy += rc > rr ? 1 : 0
            chosenLogp += policy.sums[c]
            rejectedLogp += policy.sums[r]
        }
        try model.backwardLabelLogProbs(batch, weights: weights, gradients: gradients)
        return ObjectiveShare(loss: loss * share, metrics: [
            "rewards/chosen": chosenReward * share, "rewards/rejected": rejectedReward * share,
            "rewards/accuracies": accuracy * share, "rewards/margins": (chosenReward - rejectedReward) * share,
            "logps/chosen": chosenLogp * share, "logps/rejected": rejectedLogp * share,
        ])
    }

    static func sigmoid(_ x: Double) -> Double { x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x)) }
    /// log σ(x) = −softplus(−x), without overflow.
    static func logSigmoid(_ x: Double) -> Double { min(x, 0) - log1p(exp(-abs(x))) }
}
