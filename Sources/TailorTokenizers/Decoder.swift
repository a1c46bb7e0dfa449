import Foundation

/// A `decoder` stage of tokenizer.json: turns token strings back into text
/// (`tokenizers`' `decode_chain`: a list of strings in, a list of strings out, joined at the end).
protocol TokenDecoder: Sendable {
    func decodeChain(_ tokens: [String]) -> [String]
}

enum DecoderFactory {
    static let supported = ["ByteLevel", "Metaspace", "ByteFallback", "Fuse", "Strip", "Replace", "BPEDecoder",
                            "WordPiece", "Sequence"]

    static func make(_ node: JSONNode) throws -> TokenDecoder? {
        let type = try node.type
        switch type {
        case "ByteLevel": return ByteLevelDecoder()
        case "Metaspace":
            return MetaspaceDecoder(replacement: (try node.optionalString("replacement") ?? "▁").unicodeScalars.first ?? "▁",
                                    scheme: try PreTokenizerFactory.prependScheme(node))
        case "ByteFallback": return ByteFallbackDecoder()
        case "Fuse": return FuseDecoder()
        case "Strip":
            return StripDecoder(content: (try node.string("content")).unicodeScalars.first ?? " ",
                                start: try node.int("start", default: 0), stop: try node.int("stop", default: 0))
        case "Replace": return ReplaceDecoder(replace: try Replacement(node))
        case "BPEDecoder": return BPESuffixDecoder(suffix: try node.optionalString("suffix") ?? "</w>")
        case "WordPiece":
            return WordPieceDecoder(prefix: try node.optionalString("prefix") ?? "##",
                                    cleanup: try node.bool("cleanup", default: true))
        case "Sequence":
            let parts = try node.required("decoders").elements.compactMap { try make($0) }
            return SequenceDecoder(parts: parts)
        default:
            throw TokenizerError.unknownComponent(file: node.file, path: node.path, type: type, supported: supported)
        }
    }
}

/// Byte-level characters back to bytes; the bytes of all tokens decoded together as UTF-8,
/// invalid sequences becoming U+FFFD.
struct ByteLevelDecoder: TokenDecoder {
    func decodeChain(_ tokens: [String]) -> [String] {
        var bytes: [UInt8] = []
        for t in tokens { bytes += ByteLevelMap.decode(t) ?? Array(t.utf8) }
        return [String(decoding: bytes, as: UTF8.self)]
    }
}

struct MetaspaceDecoder: TokenDecoder {
    let replacement: Unicode.Scalar
    let scheme: MetaspacePrependScheme

    func decodeChain(_ tokens: [String]) -> [String] {
        tokens.enumerated().map { i, token in
            var out = String.UnicodeScalarView()
            for s in token.unicodeScalars {
                if s == replacement {
                    if i == 0 && scheme != .never { continue }
                    out.append(" ")
                } else { out.append(s) }
            }
            return String(out)
        }
    }
}

/// `<0xXX>` tokens back to bytes; a run of them that is not valid UTF-8 becomes one U+FFFD per byte.
struct ByteFallbackDecoder: TokenDecoder {
    static func byteValue(_ t: String) -> UInt8? {
        let u = Array(t.utf8)
        guard u.count == 6, u[0] == 0x3C, u[1] == 0x30, u[2] == 0x78, u[5] == 0x3E else { return nil }
        return UInt8(String(decoding: u[3..<5], as: UTF8.self), radix: 16)
    }

    func decodeChain(_ tokens: [String]) -> [String] {
        var out: [String] = []
        var pending: [UInt8] = []
        func flush() {
            guard !pending.isEmpty else { return }
            if let s = String(validatingUTF8Bytes: pending) { out.append(s) } else {
                out += Array(repeating: "\u{FFFD}", count: pending.count)
            }
            pending.removeAll()
        }
        for t in tokens {
            if let b = ByteFallbackDecoder.byteValue(t) { pending.append(b) } else { flush(); out.append(t) }
        }
        flush()
        return out
    }
}

extension String {
    /// The string, or nil when `bytes` is not valid UTF-8.
    init?(validatingUTF8Bytes bytes: [UInt8]) {
        var it = bytes.makeIterator()
        var decoder = UTF8()
        var scalars = String.UnicodeScalarView()
        loop: while true {
            switch decoder.decode(&it) {
            case .scalarValue(let s): scalars.append(s)
            case .emptyInput: break loop
            case .error: return nil
            }
        }
        self = String(scalars)
    }
}

struct FuseDecoder: TokenDecoder {
    func decodeChain(_ tokens: [String]) -> [String] { [tokens.joined()] }
}

/// Removes up to `start` leading and `stop` trailing `content` characters from every token.
struct StripDecoder: TokenDecoder {
    let content: Unicode.Scalar
    let start: Int, stop: Int

    func decodeChain(_ tokens: [String]) -> [String] {
        tokens.map { token in
            var s = Array(token.unicodeScalars)
            var a = 0
            while a < start && a < s.count && s[a] == content { a += 1 }
            var b = 0
            while b < stop && b < s.count - a && s[s.count - 1 - b] == content { b += 1 }
            s = Array(s[a..<(s.count - b)])
            var view = String.UnicodeScalarView()
            view.append(contentsOf: s)
            return String(view)
        }
    }
}

struct ReplaceDecoder: TokenDecoder {
    let replace: Replacement
    func decodeChain(_ tokens: [String]) -> [String] { tokens.map { replace.apply($0) } }
}

struct BPESuffixDecoder: TokenDecoder {
    let suffix: String
    func decodeChain(_ tokens: [String]) -> [String] {
        tokens.enumerated().map { i, t in t.replacingOccurrences(of: suffix, with: i == tokens.count - 1 ? "" : " ") }
    }
}

struct WordPieceDecoder: TokenDecoder {
    let prefix: String
    let cleanup: Bool
    func decodeChain(_ tokens: [String]) -> [String] {
        tokens.enumerated().map { i, t in
            var s = t
            if i != 0 { if s.hasPrefix(prefix) { s = String(s.dropFirst(prefix.count)) } else { s = " " + s } }
            if cleanup {
                for (a, b) in [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
                               (" 'm", "'m"), (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")] {
                    s = s.replacingOccurrences(of: a, with: b)
                }
            }
            return s
        }
    }
}

struct SequenceDecoder: TokenDecoder {
    let parts: [TokenDecoder]
    func decodeChain(_ tokens: [String]) -> [String] { parts.reduce(tokens) { $1.decodeChain($0) } }
}
