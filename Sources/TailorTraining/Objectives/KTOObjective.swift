import Foundation
import TailorModels

/// KTO (Ethayarajh et al. 2024) as TRL's KTOTrainer computes it (the TRL of
/// scripts/reference/requirements.txt), over micro-batches of unpaired examples: each row is an
/// example's prompt + completion and its prompt + KL completion (another example's; see
/// `TrainingData.ktoRows`). With r = log πθ(y|x) − log πref(y|x) per example (sums over the
/// completion) and the batch's KL estimate z = max(0, mean over KL sequences of log πθ − log πref),
/// computed without a gradient:
///
///     desirable:   desirable_weight   · (1 − σ(β(r − z)))
///     undesirable: undesirable_weight · (1 − σ(β(z − r)))
///
/// the micro-batch's loss being the mean over its examples, divided by the step's micro-batch
/// count. Logged as TRL does: `kl`, and rewards/logps of the desirable (`chosen`) and undesirable
/// (`rejected`) examples for the micro-batches that have them (and `logits/*`: the mean logit over
/// the vocabulary at their completion tokens), `rewards/margins` where both.
public struct KTOObjective: TrainingObjective {
    public var beta: Double
    public var desirableWeight: Double
    public var undesirableWeight: Double
    public var reference: DPOObjective.Reference

    /// Sequence tags of `batch(_:)`.
    static let undesirableTag = 0, desirableTag = 1, klTag = 2

    public init(beta: Double = 0.1, desirableWeight: Double = 1, undesirableWeight: Double = 1,
                reference: @escaping DPOObjective.Reference) {
        self.beta = beta
        self.desirableWeight = desirableWeight
        self.undesirableWeight = undesirableWeight
        self.reference = reference
    }

    public func normalizer(of microBatches: [TokenBatch], step: Int) throws -> Double {
        for (index, batch) in microBatches.enumerated() where batch.sequenceTags.count != batch.sequenceCount {
            throw TrainingError.unusableData("step \(step), micro-batch \(index + 1): a KTO batch needs a label on every sequence")
        }
        guard !microBatches.isEmpty else { throw TrainingError.unusableData("step \(step) has no micro-batches") }
        return Double(microBatches.count)
    }

    /// Every row's prompt + completion first, then their KL sequences, tagged.
    public func batch(_ rows: [TrainingRow]) throws -> TokenBatch {
        guard rows.allSatisfy({ $0.samples.count == 2 && $0.desirable != nil }) else {
            throw TrainingError.internalError("a KTO micro-batch needs rows of a labelled example and its KL sequence")
        }
        let ordered = rows.map { $0.samples[0] } + rows.map { $0.samples[1] }
        var batch = try TokenBatch(sequences: ordered.map { ($0.ids, $0.labels) })
        batch.sequenceTags = rows.map { $0.desirable == true ? Self.desirableTag : Self.undesirableTag } + rows.map { _ in Self.klTag }
        return batch
    }

    /// The batch's examples and KL sequences as two batches.
    func split(_ batch: TokenBatch) throws -> (examples: TokenBatch, kl: TokenBatch, desirable: [Bool]) {
        var sequences: [(ids: [Int32], labels: [Int32])] = []
        var start = 0
        for t in 1...batch.tokenCount where t == batch.tokenCount || Int(batch.seqStart[t]) == t {  // allowed: Int32 widens
            sequences.append((Array(batch.inputIds[start..<t]), Array(batch.labels[start..<t])))
            start = t
        }
        let n = sequences.count / 2
        guard n > 0, sequences.count == 2 * n, batch.sequenceTags.count == sequences.count else {
            throw TrainingError.internalError("a KTO batch holds examples then as many KL sequences, each tagged")
        }
        return (try TokenBatch(sequences: Array(sequences[..<n])), try TokenBatch(sequences: Array(sequences[n...])),
                batch.sequenceTags[..<n].map { $0 == Self.desirableTag })
    }

    struct Terms {
        var loss: Double
        var gradients: [Double]
        var metrics: [String: Double]
    }

    func terms(policy: SequenceLogProbs, reference ref: SequenceLogProbs, kl: Double, desirable: [Bool]) -> Terms {
        let n = Double(desirable.count)
        var loss = 0.0, gradients = [Double](repeating: 0, count: desirable.count)
        var chosen = (count: 0.0, reward: 0.0, logp: 0.0), rejected = (count: 0.0, reward: 0.0, logp: 0.0)
        var logits = (chosen: 0.0, chosenTokens: 0, rejected: 0.0, rejectedTokens: 0)
        for (i, good) in desirable.enumerated() {
            let r = policy.sums[i] - ref.sums[i]
            let x = good ? beta * (r - kl) : beta * (kl - r)
            let s = DPOObjective.sigmoid(x)
            let weight = good ? desirableWeight : undesirableWeight
            loss += weight * (1 - s)
            // ∂(1 − σ(x))/∂r = −σ(x)(1 − σ(x)) · ∂x/∂r, ∂x/∂r = ±β
            gradients[i] = -weight * s * (1 - s) * (good ? beta : -beta) / n
            if good {
                chosen = (chosen.count + 1, chosen.reward + beta * r, chosen.logp + policy.sums[i])
                (logits.chosen, logits.chosenTokens) = (logits.chosen + policy.logitSums[i], logits.chosenTokens + policy.counts[i])
            } else {
                rejected = (rejected.count + 1, rejected.reward + beta * r, rejected.logp + policy.sums[i])
                (logits.rejected, logits.rejectedTokens) = (logits.rejected + policy.logitSums[i], logits.rejectedTokens + policy.counts[i])
            }
        }
        var metrics = ["kl": kl]
        if chosen.count > 0 {
            metrics["rewards/chosen"] = chosen.reward / chosen.count
            metrics["logps/chosen"] = chosen.logp / chosen.count
        }
        if rejected.count > 0 {
            metrics["rewards/rejected"] = rejected.reward / rejected.count
            metrics["logps/rejected"] = rejected.logp / rejected.count
        }
        // logits/*: the mean over the micro-batch's completion tokens of the mean logit over the vocabulary.
        if logits.chosenTokens > 0 { metrics["logits/chosen"] = logits.chosen / Double(logits.chosenTokens) }
        if logits.rejectedTokens > 0 { metrics["logits/rejected"] = logits.rejected / Double(logits.rejectedTokens) }
        if chosen.count > 0 && rejected.count > 0 {
            metrics["rewards/margins"] = chosen.reward / chosen.count - rejected.reward / rejected.count
        }
        return Terms(loss: loss / n, gradients: gradients, metrics: metrics)
    }

    /// The batch's KL estimate: the mean log-ratio of its KL sequences, at least 0.
    func klEstimate(_ kl: TokenBatch, model: CausalLM) throws -> Double {
        let ref = try reference(model, kl)
        let policy = try model.labelLogProbs(kl)  // no gradient: the next forward drops its activations
        let mean = zip(policy.sums, ref.sums).reduce(0.0) { $0 + $1.0 - $1.1 } / Double(max(1, policy.sums.count))
        return max(0, mean)
    }

    public func accumulate(_ batch: TokenBatch, model: CausalLM, gradients: GradientStore, normalizer: Double) throws -> ObjectiveShare {
        let (examples, klBatch, desirable) = try split(batch)
        let kl = try klEstimate(klBatch, model: model)
        let ref = try reference(model, examples)
        let policy = try model.labelLogProbs(examples)  // last: its activations stay for the backward
        let t = terms(policy: policy, reference: ref, kl: kl, desirable: desirable)
        try model.backwardLabelLogProbs(examples, weights: t.gradients.map { Float($0 / normalizer) }, gradients: gradients)
        return ObjectiveShare(loss: t.loss / normalizer, metrics: t.metrics)
    }

    /// The batch's mean loss times its examples; each metric times them too, so the evaluation
    /// reports example-weighted means.
    public func evaluate(_ batch: TokenBatch, model: CausalLM) throws -> EvaluationShare {
        let (examples, klBatch, desirable) = try split(batch)
        let kl = try klEstimate(klBatch, model: model)
        let ref = try reference(model, examples)
        let policy = try model.labelLogProbs(examples)
        let t = terms(policy: policy, reference: ref, kl: kl, desirable: desirable)
        let n = Double(desirable.count)
        return EvaluationShare(lossSum: t.loss * n, weight: n, labelTokens: policy.counts.reduce(0, +), metrics: t.metrics.mapValues { $0 * n })
    }
}
