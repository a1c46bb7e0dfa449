import Foundation

/// One entry of tokenizer.json's `added_tokens`.
public struct AddedToken: Sendable, Equatable {
    public var id: Int
    public var content: String
    /// Special tokens are skipped by `decode(_:skipSpecialTokens: true)`.
    public var special: Bool
    /// Matched in the normalized text (true) or in the raw text (false).
    public var normalized: Bool
    /// Swallows whitespace on its left / right.
    public var lstrip: Bool
    public var rstrip: Bool
    /// Only matched when not inside a word.
    public var singleWord: Bool

    init(_ node: JSONNode) throws {
        id = try node.required("id").tokenId
        content = try node.string("content")
        special = try node.bool("special", default: false)
        normalized = try node.bool("normalized", default: !special)
        lstrip = try node.bool("lstrip", default: false)
        rstrip = try node.bool("rstrip", default: false)
        singleWord = try node.bool("single_word", default: false)
    }
}

/// Finds added tokens in text, leftmost first and longest among those starting at the same place
/// (the aho-corasick LeftmostLongest search of `tokenizers`), honouring lstrip/rstrip/single_word.
struct AddedTokenMatcher: Sendable {
    struct Entry: Sendable {
        let pattern: [UInt8]
        let token: AddedToken
    }
    /// Candidates by first byte, longest first.
    private let buckets: [[Entry]]
    let isEmpty: Bool

    init(_ entries: [Entry]) {
        var buckets = [[Entry]](repeating: [], count: 256)
        for e in entries where !e.pattern.isEmpty { buckets[Int(e.pattern[0])].append(e) }  // allowed: a UInt8 widens
        for k in 0..<256 { buckets[k].sort { $0.pattern.count > $1.pattern.count } }
        self.buckets = buckets
        isEmpty = entries.allSatisfy { $0.pattern.isEmpty }
    }

    /// Splits `piece` into token matches (with their id) and the text between them.
    func split(_ piece: Piece, into out: inout [(piece: Piece, id: Int32?)]) {
        let s = piece.bytes
        if isEmpty || s.isEmpty { out.append((piece, nil)); return }
        var startOffset = 0
        var i = 0
        let n = s.count
        while i < n {
            let bucket = buckets[Int(s[i])]  // allowed: a UInt8 widens
            var found: Entry? = nil
            if !bucket.isEmpty {
                for e in bucket where e.pattern.count <= n - i {
                    if s.withUnsafeBufferPointer({ memcmp($0.baseAddress! + i, e.pattern, e.pattern.count) == 0 }) {
                        found = e; break
                    }
                }
            }
            guard let e = found else { i += 1; continue }
            var start = i, stop = i + e.pattern.count
            i = stop
            let t = e.token
            if t.singleWord {
                let startSpace = start == 0 || !endsWithWordChar(s[..<start])
                let stopSpace = stop == n || !startsWithWordChar(s[stop...])
                if !startSpace || !stopSpace { continue }
            }
            if t.lstrip {
                var k = start
                while k > 0 {
                    let (v, len) = lastScalar(s[..<k])
                    guard CharClass.of(v) & CharClass.space != 0 else { break }
                    k -= len
                }
                start = max(k, startOffset)
            }
            if t.rstrip {
                while stop < n {
                    let (v, len) = firstScalar(s[stop...])
                    guard CharClass.of(v) & CharClass.space != 0 else { break }
                    stop += len
                }
                i = stop
            }
            if start > startOffset {
                out.append((Piece(bytes: Array(s[startOffset..<start]), atStart: piece.atStart && startOffset == 0), nil))
            }
            out.append((Piece(bytes: Array(s[start..<stop]), atStart: false), Int32(t.id)))  // allowed: AddedToken.init reads ids through JSONNode.tokenId (0...Int32.max)
            startOffset = stop
        }
        if startOffset < n {
            out.append((Piece(bytes: Array(s[startOffset...]), atStart: piece.atStart && startOffset == 0), nil))
        }
    }
}

private func firstScalar(_ s: ArraySlice<UInt8>) -> (UInt32, Int) {
    let text = ScalarText(Array(s.prefix(4)))
    return text.count > 0 ? (text.values[0], text.offsets[1]) : (0, 1)
}

private func lastScalar(_ s: ArraySlice<UInt8>) -> (UInt32, Int) {
    var k = s.endIndex - 1
    while k > s.startIndex && s[k] & 0xC0 == 0x80 { k -= 1 }
    let text = ScalarText(Array(s[k...]))
    return (text.values.first ?? 0, s.endIndex - k)
}

private func isWordChar(_ v: UInt32) -> Bool { CharClass.isWord(v) }
private func endsWithWordChar(_ s: ArraySlice<UInt8>) -> Bool { s.isEmpty ? false : isWordChar(lastScalar(s).0) }
private func startsWithWordChar(_ s: ArraySlice<UInt8>) -> Bool { s.isEmpty ? false : isWordChar(firstScalar(s).0) }
