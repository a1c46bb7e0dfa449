/// transformers' logits processors, applied to one row of scores [V] in transformers' order:
/// repetition_penalty, no_repeat_ngram_size, min_new_tokens, then (sampling only) temperature,
/// top_k, top_p, min_p. Removed tokens get -inf, as transformers' `filter_value`.
/// Arithmetic is in Float, as transformers computes on float32 logits.
public enum LogitsProcessing {
    /// Applies every processor `parameters` turns on. `history` is the prompt followed by the
    /// tokens generated so far; `generated` is how many of them are new.
    public static func apply(_ scores: inout [Float], history: [Int32], generated: Int, parameters p: GenerationParameters) {
        if p.repetitionPenalty != 1 { repetitionPenalty(&scores, history: history, penalty: Float(p.repetitionPenalty)) }
        if p.noRepeatNgramSize > 0 { noRepeatNgram(&scores, history: history, size: p.noRepeatNgramSize) }
        if p.minNewTokens > 0 && generated < p.minNewTokens {
            for id in p.eosTokenIds where Int(id) < scores.count && id >= 0 { scores[Int(id)] = -.infinity }  // allowed: Int32 ids widen to Int
        }
        guard p.doSample else { return }
        if p.temperature != 1 { temperature(&scores, Float(p.temperature)) }
        if p.topK != 0 { topK(&scores, p.topK) }
        if p.topP < 1 { topP(&scores, Float(p.topP)) }
        if let minP = p.minP { self.minP(&scores, Float(minP)) }
    }

    /// RepetitionPenaltyLogitsProcessor: each distinct token of `history` has its score divided by
    /// `penalty` when positive, multiplied when negative.
    public static func repetitionPenalty(_ scores: inout [Float], history: [Int32], penalty: Float) {
        var seen = Set<Int32>()
        for id in history where id >= 0 && Int(id) < scores.count && seen.insert(id).inserted {  // allowed: Int32 ids widen to Int
            let s = scores[Int(id)]  // allowed: Int32 ids widen to Int
            scores[Int(id)] = s < 0 ? s * penalty : s / penalty  // allowed: Int32 ids widen to Int
        }
    }

    /// NoRepeatNGramLogitsProcessor: bans every token that would complete an n-gram already in `history`.
    public static func noRepeatNgram(_ scores: inout [Float], history: [Int32], size n: Int) {
        let length = history.count
        guard length + 1 >= n else { return }
        if n == 1 {
            for id in history where id >= 0 && Int(id) < scores.count { scores[Int(id)] = -.infinity }  // allowed: Int32 ids widen to Int
            return
        }
        let tail = history[(length - n + 1)...]
        var start = 0
        while start + n <= length {
            if history[start..<(start + n - 1)].elementsEqual(tail) {
                let banned = history[start + n - 1]
                if banned >= 0 && Int(banned) < scores.count { scores[Int(banned)] = -.infinity }  // allowed: Int32 ids widen to Int
            }
            start += 1
        }
    }

    /// OpenAI's presence_penalty and frequency_penalty (as vLLM applies them, on the generated
    /// tokens only): each token generated c > 0 times loses presence + c · frequency.
    public static func presenceFrequency(_ scores: inout [Float], counts: [Int32: Int], presence: Float, frequency: Float) {
        for (id, count) in counts where count > 0 && id >= 0 && Int(id) < scores.count {  // allowed: Int32 ids widen to Int
            scores[Int(id)] -= presence + Float(count) * frequency  // allowed: Int32 ids widen to Int
        }
    }

    /// TemperatureLogitsWarper: scores / temperature.
    public static func temperature(_ scores: inout [Float], _ t: Float) {
        for i in scores.indices { scores[i] = scores[i] / t }
    }

    /// TopKLogitsWarper: removes scores below the k-th largest (ties with it are kept).
    public static func topK(_ scores: inout [Float], _ k: Int) {
        let k = min(max(k, 1), scores.count)
        guard k < scores.count else { return }
        let threshold = scores.sorted(by: >)[k - 1]
        for i in scores.indices where scores[i] < threshold { scores[i] = -.infinity }
    }

    /// TopPLogitsWarper: sorts ascending, removes tokens whose cumulative probability is
    /// ≤ 1 − p (always keeping the most likely one).
    public static func topP(_ scores: inout [Float], _ p: Float) {
        let order = scores.indices.sorted { (scores[$0], $0) < (scores[$1], $1) }   // ascending, stable
        let probs = softmax(order.map { scores[$0] })
        var cumulative: Float = 0
        let limit = 1 - p
        for (rank, index) in order.enumerated() {
            cumulative += probs[rank]
            if cumulative <= limit && rank < order.count - 1 { scores[index] = -.infinity }
        }
    }

    /// MinPLogitsWarper: removes tokens whose probability is below min_p × the largest probability
    /// (always keeping the most likely one).
    public static func minP(_ scores: inout [Float], _ minP: Float) {
        let probs = softmax(scores)
        guard let top = probs.max(), let best = probs.firstIndex(of: top) else { return }
        let threshold = minP * top
        for i in scores.indices where probs[i] < threshold && i != best { scores[i] = -.infinity }
    }

    /// Softmax in Float with the max subtracted (-inf maps to 0).
    public static func softmax(_ scores: [Float]) -> [Float] {
        guard let maxScore = scores.max(), maxScore > -.infinity else {
            return [Float](repeating: 1 / Float(max(scores.count, 1)), count: scores.count)
        }
        var out = scores.map { expf($0 - maxScore) }
        let sum = out.reduce(0, +)
        for i in out.indices { out[i] /= sum }
        return out
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
