import Foundation

/// Decodes ids as they are generated. `next(_:)` returns new text once it ends on a whole character,
/// and nil while the last ids hold only part of a multi-byte character (or nothing printable yet).
///
/// It decodes a short window (the previous ids as context plus the new ones) and hands back only what the
/// new ids add, so decoders that treat the first token specially (Metaspace, Strip) still read right.
public struct StreamingDecoder {
    let tokenizer: Tokenizer
    let skipSpecialTokens: Bool
    private var ids: [Int] = []
    private var prefixOffset = 0
    private var readOffset = 0

    init(tokenizer: Tokenizer, skipSpecialTokens: Bool) {
        self.tokenizer = tokenizer
        self.skipSpecialTokens = skipSpecialTokens
    }

    /// Feeds one id; returns the text it completes, if any.
    public mutating func next(_ id: Int) -> String? {
        ids.append(id)
        let prefix = tokenizer.decode(ids[prefixOffset..<readOffset], skipSpecialTokens: skipSpecialTokens)
        let full = tokenizer.decode(ids[prefixOffset...], skipSpecialTokens: skipSpecialTokens)
        let p = Array(prefix.utf8), f = Array(full.utf8)
        guard f.count > p.count, !full.hasSuffix("\u{FFFD}") else { return nil }
        let text: String
        if f.starts(with: p) {
            text = String(decoding: f[p.count...], as: UTF8.self)
        } else {
            // The context decoded differently with the new ids: hand back what follows the common characters.
            let common = zip(prefix.unicodeScalars, full.unicodeScalars).prefix { $0 == $1 }.count
            text = String(String.UnicodeScalarView(full.unicodeScalars.dropFirst(common)))
        }
        prefixOffset = readOffset
        readOffset = ids.count
        return text
    }

    /// Whatever is still held back (an incomplete character decodes as U+FFFD); call at the end of generation.
    public mutating func finish() -> String {
        let prefix = tokenizer.decode(ids[prefixOffset..<readOffset], skipSpecialTokens: skipSpecialTokens)
        let full = tokenizer.decode(ids[prefixOffset...], skipSpecialTokens: skipSpecialTokens)
        prefixOffset = ids.count
        readOffset = ids.count
        let p = Array(prefix.utf8), f = Array(full.utf8)
        guard f.count > p.count, f.starts(with: p) else { return "" }
        return String(decoding: f[p.count...], as: UTF8.self)
    }
}
