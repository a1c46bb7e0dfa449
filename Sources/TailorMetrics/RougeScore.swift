/// ROUGE as Google's rouge-score 0.1.2 defines it (`rouge_scorer.RougeScorer([...])`): its default
/// tokenizer (lowercase, every run of characters other than a–z and 0–9 a separator) without the
/// Porter stemmer (`use_stemmer=False`, the scorer's default; Tailor has no stemmer), `rouge1` /
/// `rouge2` from clipped n-gram counts, `rougeL` from the longest common subsequence of the whole
/// texts (not `rougeLsum`). Text with no Latin letters or digits (Chinese) has no tokens and scores 0,
/// as it does there.
public enum RougeScore {
    public struct Score: Sendable, Equatable {
        public var precision: Double
        public var recall: Double
        public var fmeasure: Double
    }

    public enum Kind: String, Sendable, CaseIterable {
        case rouge1, rouge2, rougeL
    }

    /// rouge-score's `tokenize.tokenize(text, None)`.
    public static func tokens(_ text: String) -> [Scalars] {
        var tokens: [Scalars] = [], token: Scalars = []
        for s in text.unicodeScalars {
            // Python's lower(): only ASCII letters, U+0130 (to "i̇") and the Kelvin sign (to "k")
            // lowercase into a–z; everything else outside a–z0–9 separates tokens.
            var lowered: Unicode.Scalar? = nil
            switch s.value {
            case 0x41...0x5A: lowered = Unicode.Scalar(s.value + 0x20)
            case 0x61...0x7A, 0x30...0x39: lowered = s
            case 0x130: lowered = "i"
            case 0x212A: lowered = "k"
            default: lowered = nil
            }
            if let lowered {
                token.append(lowered)
                if s.value == 0x130 { tokens.append(token); token = [] }  // its combining dot separates
            } else if !token.isEmpty {
                tokens.append(token); token = []
            }
        }
        if !token.isEmpty { tokens.append(token) }
        return tokens
    }

    /// One prediction scored against one target.
    public static func score(_ kind: Kind, target: String, prediction: String) -> Score {
        let t = Interned(tokens(target)), p = Interned(tokens(prediction), sharing: t)
        switch kind {
        case .rouge1: return ngramScore(t.ids, p.ids, n: 1)
        case .rouge2: return ngramScore(t.ids, p.ids, n: 2)
        case .rougeL:
            guard !t.ids.isEmpty, !p.ids.isEmpty else { return Score(precision: 0, recall: 0, fmeasure: 0) }
            let lcs = Double(NGrams.lcsLength(t.ids, p.ids))
            let precision = lcs / Double(p.ids.count), recall = lcs / Double(t.ids.count)
            return Score(precision: precision, recall: recall, fmeasure: fmeasure(precision, recall))
        }
    }

    static func ngramScore(_ target: [Int], _ prediction: [Int], n: Int) -> Score {
        let t = NGrams.counts(target, orders: n...n), p = NGrams.counts(prediction, orders: n...n)
        let overlap = t.reduce(0) { $0 + min($1.value, p[$1.key] ?? 0) }
        let tCount = t.values.reduce(0, +), pCount = p.values.reduce(0, +)
        let precision = Double(overlap) / Double(max(pCount, 1)), recall = Double(overlap) / Double(max(tCount, 1))
        return Score(precision: precision, recall: recall, fmeasure: fmeasure(precision, recall))
    }

    static func fmeasure(_ p: Double, _ r: Double) -> Double { p + r > 0 ? 2 * p * r / (p + r) : 0 }
}
