import TailorTensor
/// Picks the next token from processed scores: the first largest when greedy, otherwise a draw
/// from their softmax with a seeded generator (so a seed reproduces a run; the draws are not
/// torch's, so sampled text differs from transformers' for the same seed).
public struct Sampler: Sendable {
    private var generator: SplitMix64

    public init(seed: UInt64) { generator = SplitMix64(state: seed) }

    /// Index of the first largest score.
    public static func argmax(_ scores: [Float]) -> Int {
        var best = 0
        for i in scores.indices where scores[i] > scores[best] { best = i }
        return best
    }

    /// The next token for `scores` (already processed).
    public mutating func choose(_ scores: [Float], sample: Bool) -> Int {
        guard sample else { return Self.argmax(scores) }
        let probs = LogitsProcessing.softmax(scores)
        let u = Float(nextUnit())
        var cumulative: Float = 0
        var last = 0
        for (i, p) in probs.enumerated() where p > 0 {
            cumulative += p
            last = i
            if u < cumulative { return i }
        }
        return last
    }

    /// Uniform in [0, 1).
    mutating func nextUnit() -> Double { generator.nextDouble() }
}
