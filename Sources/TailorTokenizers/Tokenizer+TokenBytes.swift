import Foundation

extension Tokenizer {
    /// True when tokens stand for raw bytes through the GPT-2 byte-to-character map
    /// (a `ByteLevel` decoder, as in GPT-2, Llama 3, Qwen2).
    public var isByteLevel: Bool {
        func hasByteLevel(_ d: TokenDecoder?) -> Bool {
            if d is ByteLevelDecoder { return true }
            if let s = d as? SequenceDecoder { return s.parts.contains { hasByteLevel($0) } }
            return false
        }
        return hasByteLevel(decoder)
    }

    /// The bytes token `id` stands for in the (normalized) text: an added token's content; for
    /// byte-level models the token's bytes; otherwise the token with `▁` read as a space and
    /// `<0xXX>` read as that byte. Concatenated over an encoding, these bytes give back the encoded
    /// text (plus any space a Metaspace normalizer prepended), which is what lets a caller find each
    /// token's span in the text. Empty for ids outside the vocabulary.
    public func tokenBytes(_ id: Int) -> [UInt8] {
        if let added = addedById[id] { return Array(added.content.utf8) }
        guard let token = model.idToTokenString(id) else { return [] }
        if isByteLevel, let bytes = ByteLevelMap.decode(token) { return bytes }
        if let byte = ByteFallbackDecoder.byteValue(token) { return [byte] }
        return Array(token.replacingOccurrences(of: "▁", with: " ").utf8)
    }
}

/// A word cache for one thread's encodes (the shared cache is taken by one thread at a time, so
/// parallel callers that encode many texts keep one of these each).
public final class TokenizerWorkspace {
    var words: [ByteKey: [Int32]] = [:]
    public init() {}
}

extension Tokenizer {
    /// `encodeInt32` with the caller's own word cache; use one workspace per thread.
    public func encodeInt32(_ text: String, addSpecialTokens: Bool, workspace: TokenizerWorkspace) -> [Int32] {
        encode(text, addSpecialTokens: addSpecialTokens, cache: &workspace.words)
    }
}
