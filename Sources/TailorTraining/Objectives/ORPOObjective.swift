import Foundation
import TailorModels

/// ORPO (Hong et al. 2024) as TRL's ORPOTrainer computes it (the TRL of
/// scripts/reference/requirements.txt): reference-free, an NLL term plus an odds-ratio term.
/// With āₛ the mean label log-probability of reply s and
/// log odds = (ā_c − ā_r) − (log(1 − e^ā_c) − log(1 − e^ā_r)) per pair:
///
///     loss = NLL − β · mean over pairs of log σ(log odds)
///
/// where NLL is the cross-entropy over every token of the micro-batch's chosen sequences, the
/// prompt's included ("orpo chosen nll loss is computed over the full prompt and response"), as
/// one token-weighted mean. Rewards are β·ā; TRL's metrics plus `nll_loss`, `log_odds_ratio`
/// (the mean log σ) and `log_odds_chosen` (the mean log odds). Each micro-batch's loss is divided
/// by the step's micro-batch count, as Trainer averages it under gradient accumulation.
///
/// The batch labels every token of a chosen sequence (for the NLL); a pair's reply starts where
/// its rejected sequence's labels start (the two share the prompt).
public struct ORPOObjective: TrainingObjective {
    /// ORPO's λ (TRL's `beta`, LLaMA-Factory's `pref_beta`).
    public var beta: Double

    public init(beta: Double = 0.1) { self.beta = beta }

    public func normalizer(of microBatches: [TokenBatch], step: Int) throws -> Double {
        try PairBatches.normalizer(of: microBatches, step: step)
    }

    /// Chosen sequences first, each with every token labeled (the NLL reads the prompt too), then
    /// the rejected ones with their reply labeled.
    public func batch(_ rows: [TrainingRow]) throws -> TokenBatch {
        let full = rows.map { row -> TrainingRow in
            var row = row
            if var chosen = row.samples.first {
                chosen.labels = chosen.ids
                row.samples[0] = chosen
            }
            return row
        }
        return try PairBatches.batch(full)
    }

    /// log(1 − eˣ) for x < 0, without cancellation (TRL's log1mexp).
    static func log1mexp(_ x: Double) -> Double { x < -M_LN2 ? log1p(-exp(x)) : log(-expm1(x)) }

    func terms(_ policy: SequenceLogProbs, batch: TokenBatch) throws -> (loss: Double, gradients: [[Float]], metrics: [String: Double], pairs: Int) {
        let pairs = policy.sums.count / 2
        // Each rejected sequence's prompt length: where its labels start.
        var promptLength = [Int](repeating: 0, count: pairs)
        var sequence = -1, start = 0
        var found = [Bool](repeating: false, count: pairs)
        for t in 0..<batch.tokenCount {
            if Int(batch.seqStart[t]) == t { sequence += 1; start = t }  // allowed: Int32 widens
            let r = sequence - pairs
            if r >= 0, !found[r], batch.labels[t] != -100 {
                promptLength[r] = t - start
                found[r] = true
            }
        }
        var gradients = policy.tokens.map { [Float](repeating: 0, count: $0.count) }
        let chosenTokens = (0..<pairs).reduce(0) { $0 + policy.counts[$1] }
        guard chosenTokens > 0 else { throw TrainingError.unusableData("an ORPO micro-batch has no chosen tokens") }
        // NLL over every chosen token: ∂/∂logp = −1/N each.
        var nll = 0.0
        for c in 0..<pairs {
            nll -= policy.sums[c]
            for k in gradients[c].indices { gradients[c][k] = Float(-1 / Double(chosenTokens)) }
        }
        nll /= Double(chosenTokens)
        var ratioSum = 0.0, oddsSum = 0.0, chosenReward = 0.0, rejectedReward = 0.0, accuracy = 0.0, chosenLogp = 0.0, rejectedLogp = 0.0
        for i in 0..<pairs {
            let (c, r) = (i, pairs + i)
            let chosen = policy.tokens[c], replyCount = max(0, chosen.count - max(0, promptLength[i] - 1))
            guard replyCount > 0, policy.counts[r] > 0 else {
                throw TrainingError.unusableData("an ORPO pair has an empty reply")
            }
            let replyStart = chosen.count - replyCount
            let ac = chosen[replyStart...].reduce(0.0) { $0 + Double($1) } / Double(replyCount)
            let ar = policy.sums[r] / Double(policy.counts[r])
            let odds = (ac - ar) - (Self.log1mexp(ac) - Self.log1mexp(ar))
            ratioSum += DPOObjective.logSigmoid(odds)
            oddsSum += odds
            // ∂(−β·mean log σ(odds))/∂odds = −β σ(−odds) / P; ∂odds/∂ā_c = 1/(1 − e^ā_c), ∂odds/∂ā_r = −1/(1 − e^ā_r).
            let dOdds = -beta * DPOObjective.sigmoid(-odds) / Double(pairs)
            let dc = dOdds / -expm1(ac) / Double(replyCount), dr = -dOdds / -expm1(ar) / Double(policy.counts[r])
            for k in replyStart..<chosen.count { gradients[c][k] += Float(dc) }
            for k in gradients[r].indices { gradients[r][k] = Float(dr) }
            chosenReward += beta * ac
            rejectedReward += beta * ar
            accuracy += ac > ar ? 1 : 0
            chosenLogp += ac
            rejectedLogp += ar
        }
        let loss = nll - beta * ratioSum / Double(pairs)
        let p = Double(pairs)
        let metrics = ["rewards/chosen": chosenReward, "rewards/rejected": rejectedReward, "rewards/accuracies": accuracy,
                       "rewards/margins": chosenReward - rejectedReward, "logps/chosen": chosenLogp, "logps/rejected": rejectedLogp,
                       "nll_loss": nll * p, "log_odds_ratio": ratioSum, "log_odds_chosen": oddsSum]
        return (loss, gradients, metrics, pairs)
    }

    public func accumulate(_ batch: TokenBatch, model: CausalLM, gradients: GradientStore, normalizer: Double) throws -> ObjectiveShare {
        let policy = try model.labelLogProbs(batch)
        let t = try terms(policy, batch: batch)
        try model.backwardLabelLogProbs(batch, tokenWeights: t.gradients.map { $0.map { Float(Double($0) / normalizer) } },
                                        gradients: gradients)
        return ObjectiveShare(loss: t.loss / normalizer, metrics: t.metrics.mapValues { $0 / Double(t.pairs) })
    }

    public func evaluate(_ batch: TokenBatch, model: CausalLM) throws -> EvaluationShare {
        let policy = try model.labelLogProbs(batch)
        let t = try terms(policy, batch: batch)
        return EvaluationShare(lossSum: t.loss * Double(t.pairs), weight: Double(t.pairs), labelTokens: policy.counts.reduce(0, +),
                               metrics: t.metrics)
    }
}
