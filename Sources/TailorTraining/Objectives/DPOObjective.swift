import Foundation
import TailorAdapters
import TailorModels

/// Direct Preference Optimization (Rafailov et al. 2023) and the pairwise losses TRL's DPOTrainer
/// offers beside it, as the TRL of scripts/reference/requirements.txt computes them, over
/// micro-batches laid out as TRL concatenates them: the P chosen sequences, then the P rejected
/// ones, pair i being sequences i and P + i.
///
/// With u = log πθ(chosen) − log πref(chosen) and v = the same for rejected (sums of label
/// log-probabilities), d = u − v, ū = u / chosen tokens, v̄ = v / rejected tokens, ε = label_smoothing:
/// - `sigmoid`: −log σ(βd); `hinge`: max(0, 1 − βd); `ipo`: (ū − v̄ − 1/(2β))²;
/// - `robust`: (−(1 − ε)·log σ(βd) + ε·log σ(−βd)) / (1 − 2ε), ε ∈ [0, 0.5);
/// - `exo_pair`: σ(βd)(log σ(βd) − log(1 − ε)) + σ(−βd)(log σ(−βd) − log ε), ε ∈ (0, 1);
/// - `nca_pair`: −log σ(βu) − ½ log σ(−βu) − ½ log σ(−βv); `bco_pair`: −log σ(βu) − log σ(−βv);
/// - `sppo_hard`: (u − 1/(2β))² + (v + 1/(2β))²;
/// - `apo_zero`: 1 − σ(βu) + σ(βv); `apo_down`: σ(βu) + 1 − σ(βd);
/// - `sigmoid_norm`: −log σ(β(ū − v̄));
/// - `sft`: the NLL of the micro-batch's chosen reply tokens (one token-weighted mean, no reference).
/// `loss_type` may list several, each weighted by `loss_weights` (default 1 each), as TRL sums them.
/// `ftx` (LLaMA-Factory's `pref_ftx`) adds ftx × each pair's mean NLL per chosen reply token
/// (−log πθ(chosen) / chosen tokens, per pair, then the pair mean, as LLaMA-Factory's DPO trainer).
/// Rewards are βu and βv, as TRL logs them whatever the loss; `logits/chosen|rejected` are the
/// mean logit over the vocabulary at the reply tokens. Each loss is the mean over a
/// micro-batch's pairs, divided by the step's micro-batch count, as transformers' Trainer averages
/// a loss that does not count its items under gradient accumulation. The reference
/// log-probabilities come from `reference`: with LoRA the same model with its adapters disabled
/// (`adaptersDisabled`, no second copy of the weights), or precomputed ones.
public struct DPOObjective: TrainingObjective {
    public enum LossType: String, CaseIterable, Sendable {
        case sigmoid, hinge, ipo, robust
        case exoPair = "exo_pair", ncaPair = "nca_pair", bcoPair = "bco_pair", sppoHard = "sppo_hard"
        case apoZero = "apo_zero", apoDown = "apo_down", sft, sigmoidNorm = "sigmoid_norm"
    }

    /// One loss of the sum and its weight (`loss_weights`).
    public struct Term: Sendable, Equatable {
        public var type: LossType
        public var weight: Double

        public init(_ type: LossType, weight: Double = 1) {
            self.type = type
            self.weight = weight
        }
    }

    public var beta: Double
    public var losses: [Term]
    public var labelSmoothing: Double
    /// LLaMA-Factory's `pref_ftx`: the weight of each pair's per-token NLL of its chosen reply (0: none).
    public var ftx: Double
    /// The reference model's label log-probabilities of a batch.
    public typealias Reference = @Sendable (CausalLM, TokenBatch) throws -> SequenceLogProbs
    public var reference: Reference

    /// The base model under the LoRA `adapters` being trained, with them disabled for the
    /// reference forward (`LoRAAdapters.withDisabled`: side paths and extras off, then back).
    public static func adaptersDisabled(_ adapters: LoRAAdapters) -> Reference {
        { model, batch in try adapters.withDisabled(on: model) { try model.labelLogProbs(batch) } }
    }

    public init(beta: Double = 0.1, losses: [Term], labelSmoothing: Double = 0, ftx: Double = 0, reference: @escaping Reference) {
        self.beta = beta
        self.losses = losses
        self.labelSmoothing = labelSmoothing
        self.ftx = ftx
        self.reference = reference
    }

    /// One loss of weight 1.
    public init(beta: Double = 0.1, lossType: LossType = .sigmoid, labelSmoothing: Double = 0, reference: @escaping Reference) {
        self.init(beta: beta, losses: [Term(lossType)], labelSmoothing: labelSmoothing, reference: reference)
    }

    public func normalizer(of microBatches: [TokenBatch], step: Int) throws -> Double {
        let types = losses.map(\.type)
        if types.contains(.robust), !(0..<0.5).contains(labelSmoothing) {
            throw TrainingError.invalidValue(key: "label_smoothing", problem: "must lie in [0, 0.5) for loss_type robust (got \(labelSmoothing))")
        }
        if types.contains(.exoPair), !(labelSmoothing > 0 && labelSmoothing < 1) {
            throw TrainingError.invalidValue(key: "label_smoothing", problem: "must lie in (0, 1) for loss_type exo_pair (got \(labelSmoothing)); the EXO paper uses 1e-3")
        }
        guard !losses.isEmpty else { throw TrainingError.invalidValue(key: "loss_type", problem: "names no loss") }
        return try PairBatches.normalizer(of: microBatches, step: step)
    }

    /// One pair's loss of `type` and its derivatives with respect to the chosen and rejected
    /// log-ratio sums u and v (`sft` is not per pair: see `pairSums`).
    public func pairLoss(_ type: LossType, u: Double, v: Double, chosenTokens: Int, rejectedTokens: Int) -> (loss: Double, du: Double, dv: Double) {
        let b = beta, e = labelSmoothing
        let nc = Double(max(1, chosenTokens)), nr = Double(max(1, rejectedTokens))
        func sig(_ x: Double) -> Double { Self.sigmoid(x) }
        func logSig(_ x: Double) -> Double { Self.logSigmoid(x) }
        /// A loss of x = β·d with derivative g(x): (loss, g·β, −g·β).
        func ofDifference(_ loss: Double, _ g: Double) -> (Double, Double, Double) { (loss, g * b, -g * b) }
        let x = b * (u - v)
        switch type {
        case .sigmoid:
            return ofDifference(-logSig(x), -sig(-x))
        case .robust:
            return ofDifference((-(1 - e) * logSig(x) + e * logSig(-x)) / (1 - 2 * e), (-(1 - e) * sig(-x) - e * sig(x)) / (1 - 2 * e))
        case .hinge:
            return 1 - x > 0 ? ofDifference(1 - x, -1) : (0, 0, 0)
        case .exoPair:
            let (qw, ql) = (sig(x), sig(-x))
            let loss = qw * (logSig(x) - log1p(-e)) + ql * (logSig(-x) - log(e))
            return ofDifference(loss, qw * ql * (x - log1p(-e) + log(e)))
        case .ipo:
            let d = u / nc - v / nr - 1 / (2 * b)
            return (d * d, 2 * d / nc, -2 * d / nr)
        case .sigmoidNorm:
            let y = b * (u / nc - v / nr)
            return (-logSig(y), -sig(-y) * b / nc, sig(-y) * b / nr)
        case .ncaPair:
            let (cu, cv) = (b * u, b * v)
            return (-logSig(cu) - 0.5 * logSig(-cu) - 0.5 * logSig(-cv), b * (-sig(-cu) + 0.5 * sig(cu)), b * 0.5 * sig(cv))
        case .bcoPair:
            return (-logSig(b * u) - logSig(-b * v), -b * sig(-b * u), b * sig(b * v))
        case .sppoHard:
            let (cu, cv) = (u - 0.5 / b, v + 0.5 / b)
            return (cu * cu + cv * cv, 2 * cu, 2 * cv)
        case .apoZero:
            let (su, sv) = (sig(b * u), sig(b * v))
            return (1 - su + sv, -b * su * (1 - su), b * sv * (1 - sv))
        case .apoDown:
            let (su, sd) = (sig(b * u), sig(x))
            return (su + 1 - sd, b * su * (1 - su) - b * sd * (1 - sd), b * sd * (1 - sd))
        case .sft:
            return (0, 0, 0)
        }
    }

    /// A step's or an evaluation batch's pairs: Σ over pairs of the weighted loss (the `sft` term
    /// counted once per pair, as TRL expands it), Σ of each metric, and ∂(Σ loss)/∂logpₛ per sequence.
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
        var result = PairSums(gradients: [Double](repeating: 0, count: policy.sums.count), pairs: pairs)
        var chosenReward = 0.0, rejectedReward = 0.0, accuracy = 0.0, chosenLogp = 0.0, rejectedLogp = 0.0
        for i in 0..<pairs {
            let (c, r) = (i, pairs + i)
            let u = policy.sums[c] - ref.sums[c], v = policy.sums[r] - ref.sums[r]
            for term in losses where term.type != .sft {
                let (loss, du, dv) = pairLoss(term.type, u: u, v: v, chosenTokens: policy.counts[c], rejectedTokens: policy.counts[r])
                result.loss += term.weight * loss
                result.gradients[c] += term.weight * du
                result.gradients[r] += term.weight * dv
            }
            if ftx != 0, policy.counts[c] > 0 {
                let tokens = Double(policy.counts[c])
                result.loss += ftx * -policy.sums[c] / tokens
                result.gradients[c] -= ftx / tokens
            }
            let rc = beta * u, rr = beta * v
            chosenReward += rc
            rejectedReward += rr
            accuracy += rc > rr ? 1 : 0
            chosenLogp += policy.sums[c]
            rejectedLogp += policy.sums[r]
        }
        // sft: −(Σ chosen log p) / (chosen tokens), one value for the micro-batch, so P times its pair mean.
        let chosenTokens = (0..<pairs).reduce(0) { $0 + policy.counts[$1] }
        for term in losses where term.type == .sft && chosenTokens > 0 {
            let nll = -(0..<pairs).reduce(0.0) { $0 + policy.sums[$1] } / Double(chosenTokens)
            result.loss += term.weight * nll * Double(pairs)
            for c in 0..<pairs { result.gradients[c] -= term.weight * Double(pairs) / Double(chosenTokens) }
        }
        result.metrics = [
            "rewards/chosen": chosenReward, "rewards/rejected": rejectedReward, "rewards/accuracies": accuracy,
            "rewards/margins": chosenReward - rejectedReward, "logps/chosen": chosenLogp, "logps/rejected": rejectedLogp,
        ]
        // logits/*: TRL's mean over the micro-batch's reply tokens (not over pairs) of the mean logit
        // over the vocabulary, kept here times the pair count like the per-pair sums above.
        for (name, sequences) in [("logits/chosen", 0..<pairs), ("logits/rejected", pairs..<(2 * pairs))] {
            let tokens = sequences.reduce(0) { $0 + policy.counts[$1] }
            let sum = sequences.reduce(0.0) { $0 + policy.logitSums[$1] }
            result.metrics[name] = tokens > 0 ? sum / Double(tokens) * Double(pairs) : 0
        }
        return result
    }

    public func accumulate(_ batch: TokenBatch, model: CausalLM, gradients: GradientStore, normalizer: Double) throws -> ObjectiveShare {
        let ref = try reference(model, batch)
        let policy = try model.labelLogProbs(batch)  // after the reference: its activations stay for the backward
        let sums = try pairSums(policy: policy, reference: ref)
        let share = 1 / (Double(sums.pairs) * normalizer)
        try model.backwardLabelLogProbs(batch, weights: sums.gradients.map { Float($0 * share) }, gradients: gradients)
        return ObjectiveShare(loss: sums.loss * share, metrics: sums.metrics.mapValues { $0 / Double(sums.pairs) })
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
