import Foundation

/// A stretch of text on its way through the pipeline, as UTF-8 bytes.
struct Piece {
    var bytes: [UInt8]
    /// Whether the piece starts at offset 0 of the original text (Metaspace's `prepend_scheme: first`).
    var atStart: Bool
}

/// A `pre_tokenizer` stage of tokenizer.json: splits text into the words the model sees.
protocol PreTokenizer: Sendable {
    func preTokenize(_ pieces: [Piece]) -> [Piece]
}

extension PreTokenizer {
    /// Pre-tokenizes one text (for inspection and tests).
    func preTokenize(_ text: String) -> [String] {
        preTokenize([Piece(bytes: Array(text.utf8), atStart: true)]).map { String(decoding: $0.bytes, as: UTF8.self) }
    }
}

/// Splits every piece with `pattern` and keeps the parts `behavior` says to keep.
func splitPieces(_ pieces: [Piece], pattern: SplitPattern, behavior: SplitBehavior, invert: Bool = false) -> [Piece] {
    var out: [Piece] = []
    out.reserveCapacity(pieces.count * 2)
    for p in pieces {
        var matches = pattern.findMatches(p.bytes)
        if invert { matches = matches.map { ($0.range, !$0.isMatch) } }
        for r in behavior.apply(matches) {
            out.append(Piece(bytes: Array(p.bytes[r]), atStart: p.atStart && r.lowerBound == 0))
        }
    }
    return out
}

enum PreTokenizerFactory {
    static let supported = ["ByteLevel", "Split", "Metaspace", "Digits", "Punctuation", "Whitespace",
                            "WhitespaceSplit", "BertPreTokenizer", "Sequence"]

    static func make(_ node: JSONNode) throws -> PreTokenizer? {
        let type = try node.type
        switch type {
        case "ByteLevel":
            return ByteLevelPreTokenizer(addPrefixSpace: try node.bool("add_prefix_space", default: true),
                                         useRegex: try node.bool("use_regex", default: true))
        case "Split":
            let behavior = try behaviorOf(node, default: nil)
            return SplitPreTokenizer(pattern: try makePattern(try node.required("pattern")), behavior: behavior,
                                     invert: try node.bool("invert", default: false))
        case "Metaspace":
            let replacement = try node.optionalString("replacement") ?? "▁"
            guard replacement.unicodeScalars.count == 1 else {
                throw TokenizerError.invalidValue(file: node.file, path: node.path + ".replacement", value: replacement,
                                                  reason: "must be one character")
            }
            return MetaspacePreTokenizer(replacement: replacement, scheme: try prependScheme(node),
                                         split: try node.bool("split", default: true))
        case "Digits":
            return SplitPreTokenizer(pattern: CharPredicatePattern { CharClass.of($0) & CharClass.number != 0 },
                                     behavior: try node.bool("individual_digits", default: false) ? .isolated : .contiguous,
                                     invert: false)
        case "Punctuation":
            return SplitPreTokenizer(pattern: CharPredicatePattern(predicate: isPunctuation),
                                     behavior: try behaviorOf(node, default: .isolated), invert: false)
        case "Whitespace":
            return WhitespacePreTokenizer()
        case "WhitespaceSplit":
            return SplitPreTokenizer(pattern: CharPredicatePattern { CharClass.of($0) & CharClass.space != 0 },
                                     behavior: .removed, invert: false)
        case "BertPreTokenizer":
            return SequencePreTokenizer(parts: [
                SplitPreTokenizer(pattern: CharPredicatePattern { CharClass.of($0) & CharClass.space != 0 },
                                  behavior: .removed, invert: false),
                SplitPreTokenizer(pattern: CharPredicatePattern(predicate: isPunctuation), behavior: .isolated, invert: false),
            ])
        case "Sequence":
            let parts = try node.required("pretokenizers").elements.compactMap { try make($0) }
            return parts.isEmpty ? nil : SequencePreTokenizer(parts: parts)
        default:
            throw TokenizerError.unknownComponent(file: node.file, path: node.path, type: type, supported: supported)
        }
    }

    static func behaviorOf(_ node: JSONNode, default def: SplitBehavior?) throws -> SplitBehavior {
        guard let raw = try node.optionalString("behavior") else {
            if let def { return def }
            throw TokenizerError.missingField(file: node.file, path: node.path + ".behavior")
        }
        // Older files spell the behaviors in snake_case.
        let camel = raw.split(separator: "_").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
        guard let b = SplitBehavior(rawValue: raw) ?? SplitBehavior(rawValue: camel) else {
            throw TokenizerError.invalidValue(file: node.file, path: node.path + ".behavior", value: raw,
                                              reason: "expected one of \(SplitBehavior.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return b
    }

    static func prependScheme(_ node: JSONNode) throws -> MetaspacePrependScheme {
        if let raw = try node.optionalString("prepend_scheme") {
            guard let s = MetaspacePrependScheme(rawValue: raw) else {
                throw TokenizerError.invalidValue(file: node.file, path: node.path + ".prepend_scheme", value: raw,
                                                  reason: "expected first, always or never")
            }
            return s
        }
        // Files from before prepend_scheme carry add_prefix_space.
        return try node.bool("add_prefix_space", default: true) ? .always : .never
    }
}

/// Rust's `is_ascii_punctuation() || is_punctuation()`.
@Sendable func isPunctuation(_ v: UInt32) -> Bool {
    if v < 0x80 {
        return (0x21...0x2F).contains(v) || (0x3A...0x40).contains(v) || (0x5B...0x60).contains(v) || (0x7B...0x7E).contains(v)
    }
    return CharClass.of(v) & CharClass.punctuation != 0
}

struct SplitPreTokenizer: PreTokenizer {
    let pattern: SplitPattern
    let behavior: SplitBehavior
    let invert: Bool

    func preTokenize(_ pieces: [Piece]) -> [Piece] { splitPieces(pieces, pattern: pattern, behavior: behavior, invert: invert) }
}

/// GPT-2's byte-level stage: optional leading space, optional GPT-2 regex split, then every byte mapped
/// to its printable stand-in character.
struct ByteLevelPreTokenizer: PreTokenizer {
    let addPrefixSpace: Bool
    let useRegex: Bool
    static let regex = HandPattern(.gpt2)

    func preTokenize(_ pieces: [Piece]) -> [Piece] {
        var pieces = pieces
        if addPrefixSpace {
            for k in pieces.indices where pieces[k].bytes.first != 0x20 { pieces[k].bytes.insert(0x20, at: 0) }
        }
        if useRegex { pieces = splitPieces(pieces, pattern: ByteLevelPreTokenizer.regex, behavior: .isolated) }
        for k in pieces.indices { pieces[k].bytes = ByteLevelMap.encode(pieces[k].bytes) }
        return pieces
    }
}

public enum MetaspacePrependScheme: String, Sendable {
    case first, always, never
}

struct MetaspacePreTokenizer: PreTokenizer {
    let replacement: String
    let scheme: MetaspacePrependScheme
    let split: Bool

    func preTokenize(_ pieces: [Piece]) -> [Piece] {
        let rep = Array(replacement.utf8)
        var out: [Piece] = []
        for p in pieces {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(p.bytes.count + 3)
            for b in p.bytes { if b == 0x20 { bytes.append(contentsOf: rep) } else { bytes.append(b) } }
            let startsWithRep = bytes.starts(with: rep)
            if !startsWithRep && (scheme == .always || (scheme == .first && p.atStart)) {
                bytes.insert(contentsOf: rep, at: 0)
            }
            let piece = Piece(bytes: bytes, atStart: p.atStart)
            if split {
                out += splitPieces([piece], pattern: LiteralPattern(needle: rep), behavior: .mergedWithNext)
            } else if !bytes.isEmpty {
                out.append(piece)
            }
        }
        return out
    }
}

/// `\w+|[^\w\s]+`, everything else dropped.
struct WhitespacePreTokenizer: PreTokenizer {
    func preTokenize(_ pieces: [Piece]) -> [Piece] {
        var out: [Piece] = []
        for p in pieces {
            let text = ScalarText(p.bytes)
            var k = 0
            while k < text.count {
                let v = text.values[k]
                if CharClass.of(v) & CharClass.space != 0 { k += 1; continue }
                let word = CharClass.isWord(v)
                var j = k + 1
                while j < text.count {
                    let w = text.values[j]
                    if CharClass.of(w) & CharClass.space != 0 || CharClass.isWord(w) != word { break }
                    j += 1
                }
                let r = text.offsets[k]..<text.offsets[j]
                out.append(Piece(bytes: Array(p.bytes[r]), atStart: p.atStart && r.lowerBound == 0))
                k = j
            }
        }
        return out
    }
}

struct SequencePreTokenizer: PreTokenizer {
    let parts: [PreTokenizer]
    func preTokenize(_ pieces: [Piece]) -> [Piece] { parts.reduce(pieces) { $1.preTokenize($0) } }
}
