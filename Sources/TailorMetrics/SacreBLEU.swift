import Foundation

/// sacrebleu's corpus BLEU (sacrebleu 2.5.1 `BLEU().corpus_score(hyps, [refs])`) with its defaults:
/// mixed case, exp smoothing, max n-gram order 4, no effective order, one reference per hypothesis.
/// The score is on sacrebleu's 0–100 scale.
public enum SacreBLEU {
    /// sacrebleu's tokenizers that Tailor has: `13a` (mteval-v13a, sacrebleu's default) and `zh`.
    public enum Tokenizer: String, Sendable, CaseIterable {
        case mteval13a = "13a"
        case zh

        /// The tokenized segment, as sacrebleu's `_preprocess_segment` (rstrip, then the tokenizer).
        public func tokenize(_ text: String) -> [Scalars] {
            let line = PythonText.rstrip(PythonText.scalars(text))
            switch self {
            case .mteval13a: return SacreBLEU.regexpTokens(SacreBLEU.thirteenA(line))
            case .zh: return SacreBLEU.regexpTokens(SacreBLEU.spaceChinese(PythonText.strip(line)))
            }
        }
    }

    /// The corpus statistics and score.
    public struct Score: Sendable, Equatable {
        public var score: Double
        public var correct: [Int]
        public var total: [Int]
        public var hypothesisLength: Int
        public var referenceLength: Int
        public var brevityPenalty: Double
    }

    /// Corpus BLEU of `hypotheses` against one reference each.
    public static func corpus(hypotheses: [String], references: [String], tokenizer: Tokenizer = .mteval13a) -> Score {
        var correct = [Int](repeating: 0, count: 4), total = correct
        var hypLength = 0, refLength = 0
        for (hyp, ref) in zip(hypotheses, references) {
            let h = Interned(tokenizer.tokenize(hyp)), r = Interned(tokenizer.tokenize(ref), sharing: h)
            let hypCounts = NGrams.counts(h.ids, orders: 1...4), refCounts = NGrams.counts(r.ids, orders: 1...4)
            hypLength += h.ids.count
            refLength += r.ids.count  // one reference: it is the closest
            for (gram, count) in hypCounts {
                total[gram.count - 1] += count
                if let inRef = refCounts[gram] { correct[gram.count - 1] += min(count, inRef) }
            }
        }
        return compute(correct: correct, total: total, hypothesisLength: hypLength, referenceLength: refLength)
    }

    /// sacrebleu's `compute_bleu` with exp smoothing.
    static func compute(correct: [Int], total: [Int], hypothesisLength: Int, referenceLength: Int) -> Score {
        var bp = 1.0
        if hypothesisLength < referenceLength {
            bp = hypothesisLength > 0 ? exp(1 - Double(referenceLength) / Double(hypothesisLength)) : 0
        }
        var result = Score(score: 0, correct: correct, total: total, hypothesisLength: hypothesisLength,
                           referenceLength: referenceLength, brevityPenalty: bp)
        guard correct.contains(where: { $0 != 0 }) else { return result }
        var precisions = [Double](repeating: 0, count: 4), smooth = 1.0
        for n in 0..<4 {
            if total[n] == 0 { break }
            if correct[n] == 0 {
                smooth *= 2
                precisions[n] = 100 / (smooth * Double(total[n]))
            } else {
                precisions[n] = 100 * Double(correct[n]) / Double(total[n])
            }
        }
        // sacrebleu's my_log floors log(0) at -9999999999.
        let logSum = precisions.reduce(0.0) { $0 + ($1 == 0 ? -9_999_999_999 : log($1)) }
        result.score = bp * exp(logSum / 4)
        return result
    }

    /// sacrebleu's Tokenizer13a before the regexp stage: `<skipped>` dropped, `-\n` joined, newlines to
    /// spaces, the four HTML entities unescaped, then padded with a space on each side.
    static func thirteenA(_ line: Scalars) -> Scalars {
        var text = replace(line, "<skipped>", "")
        text = replace(text, "-\n", "")
        text = replace(text, "\n", " ")
        if text.contains("&") {
            text = replace(text, "&quot;", "\"")
            text = replace(text, "&amp;", "&")
            text = replace(text, "&lt;", "<")
            text = replace(text, "&gt;", ">")
        }
        return [" "] + text + [" "]
    }

    /// sacrebleu's TokenizerZh before the regexp stage: each scalar of its Chinese ranges gets a
    /// space on each side.
    static func spaceChinese(_ line: Scalars) -> Scalars {
        var out: Scalars = []
        for s in line {
            if isChinese(s) { out.append(" "); out.append(s); out.append(" ") } else { out.append(s) }
        }
        return out
    }

    /// sacrebleu's `_UCODE_RANGES`, compared as Python compares its strings. Two of its ranges are
    /// written `'\u20000'..'\u2a6d6'` and `'\u2f800'..'\u2fa1d'`: Python reads `\u2000` + `0`, so
    /// a one-character string falls in them when it is above U+2000 and at most U+2A6D (and above
    /// U+2F80, at most U+2FA1), not in the CJK Extension B planes the comment names. Kept as sacrebleu runs.
    static func isChinese(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x3400...0x4DB5, 0x4E00...0x9FA5, 0x9FA6...0x9FBB, 0xF900...0xFA2D, 0xFA30...0xFA6A, 0xFA70...0xFAD9,
             0x2001...0x2A6D, 0x2F81...0x2FA1, 0xFF00...0xFFEF, 0x2E80...0x2EFF, 0x3000...0x303F, 0x31C0...0x31EF,
             0x2F00...0x2FDF, 0x2FF0...0x2FFF, 0x3100...0x312F, 0x31A0...0x31BF, 0xFE10...0xFE1F, 0xFE30...0xFE4F,
             0x2600...0x26FF, 0x2700...0x27BF, 0x3200...0x32FF, 0x3300...0x33FF:
            return true
        default: return false
        }
    }

    /// sacrebleu's TokenizerRegexp: four substitutions, each one left-to-right pass as `re.sub`
    /// makes it, then split on whitespace.
    static func regexpTokens(_ line: Scalars) -> [Scalars] {
        // ([\{-\~\[-\` -\&\(-\+\:-\@\/]) -> ' \1 '
        var text: Scalars = []
        text.reserveCapacity(line.count * 2)
        for s in line {
            switch s.value {
            case 0x7B...0x7E, 0x5B...0x60, 0x20...0x26, 0x28...0x2B, 0x3A...0x40, 0x2F:
                text.append(" "); text.append(s); text.append(" ")
            default: text.append(s)
            }
        }
        let isPeriodComma = { (s: Unicode.Scalar) in s == "." || s == "," }
        // ([^0-9])([\.,]) -> '\1 \2 '
        text = pairPass(text, first: { !PythonText.isASCIIDigit($0) }, second: isPeriodComma) { a, b in [a, " ", b, " "] }
        // ([\.,])([^0-9]) -> ' \1 \2'
        text = pairPass(text, first: isPeriodComma, second: { !PythonText.isASCIIDigit($0) }) { a, b in [" ", a, " ", b] }
        // ([0-9])(-) -> '\1 \2 '
        text = pairPass(text, first: PythonText.isASCIIDigit, second: { $0 == "-" }) { a, b in [a, " ", b, " "] }
        return PythonText.split(text)
    }

    /// One `re.sub` pass of a two-scalar pattern: matches are found left to right and do not overlap.
    static func pairPass(_ text: Scalars, first: (Unicode.Scalar) -> Bool, second: (Unicode.Scalar) -> Bool,
                         replacement: (Unicode.Scalar, Unicode.Scalar) -> Scalars) -> Scalars {
        var out: Scalars = [], i = 0
        out.reserveCapacity(text.count + text.count / 4)
        while i < text.count {
            if i + 1 < text.count && first(text[i]) && second(text[i + 1]) {
                out += replacement(text[i], text[i + 1]); i += 2
            } else {
                out.append(text[i]); i += 1
            }
        }
        return out
    }

    /// Python's `text.replace(old, new)`.
    static func replace(_ text: Scalars, _ old: String, _ new: String) -> Scalars {
        let o = PythonText.scalars(old), n = PythonText.scalars(new)
        guard !o.isEmpty, text.count >= o.count else { return text }
        var out: Scalars = [], i = 0
        while i < text.count {
            if i + o.count <= text.count && text[i] == o[0] && Array(text[i..<(i + o.count)]) == o {
                out += n; i += o.count
            } else {
                out.append(text[i]); i += 1
            }
        }
        return out
    }
}
