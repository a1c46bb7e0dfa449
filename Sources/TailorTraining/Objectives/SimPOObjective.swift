import Foundation
import TailorModels

/// SimPO (Meng et al. 2024) as TRL's CPOTrainer computes it with `loss_type: simpo` (the TRL of
/// scripts/reference/requirements.txt): reference-free, on the mean label log-probability of each
/// reply. With āₛ = Σ log p / label tokens of sequence s and z = ā(chosen) − ā(rejected) − γ/β:
///
///     loss = mean over pairs of −(1 − ε)·log σ(βz) − ε·log σ(−βz)  +  cpo_alpha · NLL
///
/// NLL is the cross-entropy over the micro-batch's chosen reply tokens (token-weighted, as
/// `nn.CrossEntropyLoss` averages); cpo_alpha 1.0 is CPOTrainer's default, 0 is pure SimPO.
/// Rewards are β·ā, logged with TRL's names and `nll_loss`. Each micro-batch's loss is divided
/// by the step's micro-batch count, as Trainer averages it under gradient accumulation.
public struct SimPOObjective: TrainingObjective {
    public var beta: Double
    /// `simpo_gamma`: the target reward margin γ.
    public var gamma: Double
    public var labelSmoothing: Double
    /// `cpo_alpha`: the weight of the NLL term on the chosen replies.
    public var cpoAlpha: Double

    public init(beta: Double = 0.1, gamma: Double = 0.5, labelSmoothing: Double = 0, cpoAlpha: Double = 1) {
        self.beta = beta
        self.gamma = gamma
        self.labelSmoothing = labelSmoothing
        self.cpoAlpha = cpoAlpha
    }

    public func normalizer(of microBatches: [TokenBatch], step: Int) throws -> Double {
        try PairBatches.normalizer(of: microBatches, step: step)
    }

    public func batch(_ rows: [TrainingRow]) throws -> TokenBatch { try PairBatches.batch(rows) }

    /// Σ over a batch's pairs of the SimPO term, the batch's NLL, their gradients per sequence
    /// (∂(mean pair loss + cpo_alpha·NLL)/∂Σlogpₛ) and Σ of each metric.
    func terms(_ policy: SequenceLogProbs) -> (pairLoss: Double, nll: Double, gradients: [Double], metrics: [String: Double], pairs: Int) {
        let pairs = policy.sums.count / 2
        let means = policy.means
        let chosenTokens = (0..<pairs).reduce(0) { $0 + policy.counts[$1] }
        var gradients = [Double](repeating: 0, count: policy.sums.count)
        var loss = 0.0, chosenReward = 0.0, rejectedReward = 0.0, accuracy = 0.0, chosenLogp = 0.0, rejectedLogp = 0.0
        let e = labelSmoothing
        for i in 0..<pairs {
            let (c, r) = (i, pairs + i)
            let x = beta * (means[c] - means[r] - gamma / beta)
            loss += -(1 - e) * DPOObjective.logSigmoid(x) - e * DPOObjective.logSigmoid(-x)
            let dz = beta * (-(1 - e) * DPOObjective.sigmoid(-x) + e * DPOObjective.sigmoid(x)) / Double(pairs)
            gradients[c] = dz / Double(max(1, policy.counts[c]))
            gradients[r] = -dz / Double(max(1, policy.counts[r]))
            let rc = beta * means[c], rr = beta * means[r]
            chosenReward += rc
            rejectedReward += rr
            accuracy += rc > rr ? 1 : 0
            chosenLogp += means[c]
            rejectedLogp += means[r]
        }
        var nll = 0.0
        if chosenTokens > 0, cpoAlpha != 0 {  // CPOTrainer skips (and logs 0 for) the NLL at cpo_alpha 0
            nll = -(0..<pairs).reduce(0.0) { $0 + policy.sums[$1] } / Double(chosenTokens)
            for c in 0..<pairs { gradients[c] -= cpoAlpha / Double(chosenTokens) }
        }
        let metrics = ["rewards/chosen": chosenReward, "rewards/rejected": rejectedReward, "rewards/accuracies": accuracy,
                       "rewards/margins": chosenReward - rejectedReward, "logps/chosen": chosenLogp, "logps/rejected": rejectedLogp,
                       "nll_loss": nll * Double(pairs)]
        return (loss, nll, gradients, metrics, pairs)
    }

    public func accumulate(_ batch: TokenBatch, model: CausalLM, gradients: GradientStore, normalizer: Double) throws -> ObjectiveShare {
        let policy = try model.labelLogProbs(batch)
        let t = terms(policy)
        try model.backwardLabelLogProbs(batch, weights: t.gradients.map { Float($0 / normalizer) }, gradients: gradients)
        return ObjectiveShare(loss: (t.pairLoss / Double(t.pairs) + cpoAlpha * t.nll) / normalizer,
                              metrics: t.metrics.mapValues { $0 / Double(t.pairs) })
    }

    /// The batch's mean loss times its pairs (so the evaluation averages per pair) and Σ metrics.
    public func evaluate(_ batch: TokenBatch, model: CausalLM) throws -> EvaluationShare {
        let policy = try model.labelLogProbs(batch)
        let t = terms(policy)
        return EvaluationShare(lossSum: t.pairLoss + cpoAlpha * t.nll * Double(t.pairs), weight: Double(t.pairs),
                               labelTokens: policy.counts.reduce(0, +), metrics: t.metrics)
    }
}
