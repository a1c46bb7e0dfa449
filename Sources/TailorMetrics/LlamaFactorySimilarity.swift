import Foundation

/// LLaMA-Factory's `ComputeSimilarity` (src/llamafactory/train/sft/metric.py), the `bleu-4` and
/// `rouge-1` / `rouge-2` / `rouge-l` it prints after `do_predict` with `predict_with_generate`:
/// per sample, jieba words joined with spaces scored by rouge_chinese 1.0.3's `Rouge().get_scores`
/// (F-scores), and NLTK 3.9.1's `sentence_bleu` on characters with `SmoothingFunction().method3`;
/// each score ×100 and rounded to 4 decimals, then the mean over samples.
public enum LlamaFactorySimilarity {
    /// One sample's four scores (×100, rounded to 4 decimals).
    public struct Scores: Sendable, Equatable {
        public var rouge1: Double
        public var rouge2: Double
        public var rougeL: Double
        public var bleu4: Double
    }

    /// One prediction against its label.
    public static func score(prediction: String, label: String, jieba: Jieba) -> Scores {
        let pred = PythonText.scalars(prediction), ref = PythonText.scalars(label)
        let bleu = PythonText.round(NLTKBleu.sentenceBleu(reference: ref, hypothesis: pred) * 100, digits: 4)
        let hypothesis = jieba.cut(scalars: pred), reference = jieba.cut(scalars: ref)
        let hypText = Array(hypothesis.joined(separator: [" "])), refText = Array(reference.joined(separator: [" "]))
        guard !PythonText.split(hypText).isEmpty, !PythonText.split(refText).isEmpty else {
            return Scores(rouge1: 0, rouge2: 0, rougeL: 0, bleu4: bleu)
        }
        let r = RougeChinese.scores(hypothesis: hypText, reference: refText)
        return Scores(rouge1: PythonText.round(r.rouge1 * 100, digits: 4), rouge2: PythonText.round(r.rouge2 * 100, digits: 4),
                      rougeL: PythonText.round(r.rougeL * 100, digits: 4), bleu4: bleu)
    }

    /// The means over samples, as LLaMA-Factory's `_dump` (`float(np.mean(v))`).
    public static func mean(_ samples: [Scores]) -> Scores {
        guard !samples.isEmpty else { return Scores(rouge1: 0, rouge2: 0, rougeL: 0, bleu4: 0) }
        let n = Double(samples.count)
        return Scores(rouge1: samples.reduce(0) { $0 + $1.rouge1 } / n, rouge2: samples.reduce(0) { $0 + $1.rouge2 } / n,
                      rougeL: samples.reduce(0) { $0 + $1.rougeL } / n, bleu4: samples.reduce(0) { $0 + $1.bleu4 } / n)
    }
}

/// rouge_chinese 1.0.3's `Rouge().get_scores(hyp, ref)[0]` F-scores for one pair of space-joined
/// texts: each text cut into sentences (`cut_sent`'s four substitutions), spaces normalized per
/// sentence, words split on single spaces; rouge-1 / rouge-2 on sets of distinct n-grams, rouge-l
/// on the longest common subsequence of all words (rouge_chinese's "summary level" for these texts).
enum RougeChinese {
    static func scores(hypothesis: Scalars, reference: Scalars) -> (rouge1: Double, rouge2: Double, rougeL: Double) {
        let hypWords = words(hypothesis), refWords = words(reference)
        let h = Interned(hypWords), r = Interned(refWords, sharing: h)
        func rougeN(_ n: Int) -> Double {
            let hs = NGrams.set(h.ids, order: n), rs = NGrams.set(r.ids, order: n)
            let overlap = Double(hs.intersection(rs).count)
            let precision = hs.isEmpty ? 0 : overlap / Double(hs.count), recall = rs.isEmpty ? 0 : overlap / Double(rs.count)
            return 2.0 * ((precision * recall) / (precision + recall + 1e-8))
        }
        let lcs = Double(NGrams.lcsLength(r.ids, h.ids))
        let rl = lcs / Double(r.ids.count), pl = lcs / Double(h.ids.count)
        let fl = 2.0 * ((pl * rl) / (pl + rl + 1e-8))
        return (rougeN(1), rougeN(2), fl)
    }

    /// `_split_into_words([" ".join(s.split()) for s in cut_sent(text) if len(s) > 0])`.
    static func words(_ text: Scalars) -> [Scalars] {
        cutSentences(text).filter { !$0.isEmpty }.flatMap { PythonText.split(PythonText.normalizeSpaces($0), on: " ") }
    }

    /// rouge_chinese's `cut_sent`.
    static func cutSentences(_ para: Scalars) -> [Scalars] {
        let enders: Set<Unicode.Scalar> = ["。", "！", "？", "?"], quotes: Set<Unicode.Scalar> = ["”", "’"]
        let notQuote = { (s: Unicode.Scalar) in !quotes.contains(s) }
        // ([。！？\?])([^”’]) -> \1\n\2
        var text = pass(para, prefix: [{ enders.contains($0) }], next: notQuote)
        // (\.{6})([^”’]) -> \1\n\2
        text = pass(text, prefix: Array(repeating: { $0 == "." }, count: 6), next: notQuote)
        // (\…{2})([^”’]) -> \1\n\2
        text = pass(text, prefix: Array(repeating: { $0 == "…" }, count: 2), next: notQuote)
        // ([。！？\?][”’])([^，。！？\?]) -> \1\n\2
        let notEnderOrComma = { (s: Unicode.Scalar) in !enders.contains(s) && s != "，" }
        text = pass(text, prefix: [{ enders.contains($0) }, { quotes.contains($0) }], next: notEnderOrComma)
        return PythonText.split(PythonText.rstrip(text), on: "\n")
    }

    /// One `re.sub` pass of `(prefix)(next)` → `\1\n\2`, matches left to right, not overlapping.
    static func pass(_ text: Scalars, prefix: [(Unicode.Scalar) -> Bool], next: (Unicode.Scalar) -> Bool) -> Scalars {
        var out: Scalars = [], i = 0
        out.reserveCapacity(text.count + 8)
        let width = prefix.count + 1
        while i < text.count {
            var matches = i + width <= text.count
            if matches {
                for (k, test) in prefix.enumerated() where !test(text[i + k]) { matches = false; break }
                if matches && !next(text[i + prefix.count]) { matches = false }
            }
            if matches {
                out += text[i..<(i + prefix.count)]
                out.append("\n")
                out.append(text[i + prefix.count])
                i += width
            } else {
                out.append(text[i]); i += 1
            }
        }
        return out
    }
}

/// NLTK 3.9.1's `sentence_bleu([reference], hypothesis, smoothing_function=SmoothingFunction().method3)`
/// with its default weights (0.25 × 4), on sequences of scalars (LLaMA-Factory passes `list(text)`).
enum NLTKBleu {
    static func sentenceBleu(reference: Scalars, hypothesis: Scalars) -> Double {
        let h = Interned(hypothesis.map { [$0] }), r = Interned(reference.map { [$0] }, sharing: h)
        var numerators = [Int](repeating: 0, count: 4), denominators = numerators
        for n in 1...4 {
            let hc = NGrams.counts(h.ids, orders: n...n), rc = NGrams.counts(r.ids, orders: n...n)
            numerators[n - 1] = hc.reduce(0) { $0 + min($1.value, rc[$1.key] ?? 0) }
            denominators[n - 1] = max(1, hc.values.reduce(0, +))
        }
        let hypLength = hypothesis.count, refLength = reference.count
        guard numerators[0] != 0 else { return 0 }
        let bp: Double = hypLength > refLength ? 1 : (hypLength == 0 ? 0 : exp(1 - Double(refLength) / Double(hypLength)))
        // method3: the k-th zero precision becomes 1 / (2^k × denominator).
        var k = 1, terms: [Double] = []
        for n in 0..<4 {
            let p: Double
            if numerators[n] == 0 {
                p = 1 / (Double(1 << k) * Double(denominators[n])); k += 1
            } else {
                p = Double(numerators[n]) / Double(denominators[n])
            }
            if p > 0 { terms.append(0.25 * log(p)) }
        }
        return bp * exp(ExactSum.fsum(terms))
    }
}

/// Python's `math.fsum`: the correctly rounded sum (Shewchuk's partials).
enum ExactSum {
    static func fsum(_ values: [Double]) -> Double {
        var partials: [Double] = []
        for var x in values {
            var kept = 0
            for var y in partials {
                if abs(x) < abs(y) { swap(&x, &y) }
                let hi = x + y, lo = y - (hi - x)
                if lo != 0 { partials[kept] = lo; kept += 1 }
                x = hi
            }
            partials.removeSubrange(kept...)
            partials.append(x)
        }
        var total = 0.0
        for p in partials.reversed() { total += p }  // the partials are non-overlapping, smallest first
        return total
    }
}
