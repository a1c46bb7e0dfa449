import TailorTokenizers

/// Finds where each token of an encoding lies in the encoded text (byte offsets), so that
/// character spans (`{% generation %}` ranges, prefix lengths) become token ranges exactly as
/// transformers' `char_to_token` maps them.
///
/// Built once per tokenizer: a table of each token's byte length and whether it starts with a
/// space (Metaspace tokenizers prepend `▁` to each text segment; that space is not in the text).
public struct TokenAligner: Sendable {
    let lengths: [Int32]
    let leadingSpace: [Bool]

    public init(tokenizer: Tokenizer) {
        var size = tokenizer.vocabularySize
        for t in tokenizer.addedTokens { size = max(size, t.id + 1) }
        var lengths = [Int32](repeating: 0, count: size)
        var space = [Bool](repeating: false, count: size)
        for id in 0..<size {
            let b = tokenizer.tokenBytes(id)
            lengths[id] = Int32(b.count)  // allowed: a token's byte length, a few bytes
            space[id] = b.first == 0x20
        }
        self.lengths = lengths
        self.leadingSpace = space
    }

    /// The byte start of each token in `text` (plus the end as a last element), or nil when the
    /// tokens do not spell the text (a normalizer changed it).
    public func offsets(of ids: [Int32], in text: [UInt8]) -> [Int]? {
        var starts = [Int]()
        starts.reserveCapacity(ids.count + 1)
        var p = 0
        for id in ids {
            let i = Int(id)  // allowed: Int32 ids and lengths widen
            guard i >= 0, i < lengths.count else { return nil }
            var n = Int(lengths[i])  // allowed: Int32 ids and lengths widen
            if leadingSpace[i], n > 0, p < text.count, text[p] != 0x20 { n -= 1 }   // prepended ▁
            starts.append(p)
            p += n
            guard p <= text.count else { return nil }
        }
        guard p == text.count else { return nil }
        starts.append(p)
        return starts
    }

    /// The index of the token holding byte `b`: the last token starting at or before `b` (never an
    /// empty one). `starts` is `offsets(of:in:)`'s result.
    static func token(containing b: Int, starts: [Int]) -> Int? {
        let n = starts.count - 1
        guard n > 0, b >= 0, b < starts[n] else { return nil }
        var lo = 0, hi = n - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if starts[mid] <= b { lo = mid } else { hi = mid - 1 }
        }
        return lo   // the last start <= b; the next token starts after b, so this one is not empty
    }
}
