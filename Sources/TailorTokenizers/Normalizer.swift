import Foundation

/// A `normalizer` stage of tokenizer.json: rewrites text before pre-tokenization.
public protocol Normalizer: Sendable {
    func normalize(_ text: String) -> String
}

/// Builds normalizers from tokenizer.json's `normalizer` object, keyed on `type`.
enum NormalizerFactory {
    static let supported = ["NFC", "NFD", "NFKC", "NFKD", "Lowercase", "Strip", "StripAccents", "Prepend",
                            "Replace", "Sequence", "BertNormalizer"]

    static func make(_ node: JSONNode) throws -> Normalizer? {
        let type = try node.type
        switch type {
        case "NFC": return UnicodeNormalizer(form: .nfc)
        case "NFD": return UnicodeNormalizer(form: .nfd)
        case "NFKC": return UnicodeNormalizer(form: .nfkc)
        case "NFKD": return UnicodeNormalizer(form: .nfkd)
        case "Lowercase": return LowercaseNormalizer()
        case "Strip":
            return StripNormalizer(left: try node.bool("strip_left", default: true),
                                   right: try node.bool("strip_right", default: true))
        case "StripAccents": return StripAccentsNormalizer()
        case "Prepend": return PrependNormalizer(prefix: try node.string("prepend"))
        case "Replace":
            return ReplaceNormalizer(replace: try Replacement(node))
        case "BertNormalizer":
            return BertNormalizer(cleanText: try node.bool("clean_text", default: true),
                                  handleChineseChars: try node.bool("handle_chinese_chars", default: true),
                                  stripAccents: try node.optional("strip_accents")?.bool,
                                  lowercase: try node.bool("lowercase", default: true))
        case "Sequence":
            let parts = try node.required("normalizers").elements.compactMap { try make($0) }
            return parts.isEmpty ? nil : SequenceNormalizer(parts: parts)
        default:
            throw TokenizerError.unknownComponent(file: node.file, path: node.path, type: type, supported: supported)
        }
    }
}

struct UnicodeNormalizer: Normalizer {
    enum Form { case nfc, nfd, nfkc, nfkd }
    let form: Form

    func normalize(_ text: String) -> String {
        if text.utf8.allSatisfy({ $0 < 0x80 }) { return text }
        switch form {
        case .nfc: return text.precomposedStringWithCanonicalMapping
        case .nfd: return text.decomposedStringWithCanonicalMapping
        case .nfkc: return text.precomposedStringWithCompatibilityMapping
        case .nfkd: return text.decomposedStringWithCompatibilityMapping
        }
    }
}

/// Per-scalar full lowercase mapping (Rust's `char::to_lowercase`, no context rules).
struct LowercaseNormalizer: Normalizer {
    func normalize(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for s in text.unicodeScalars {
            if s.value < 0x80 {
                out.append(s.value >= 0x41 && s.value <= 0x5A ? Unicode.Scalar(s.value + 0x20)! : s)
            } else {
                out.append(contentsOf: s.properties.lowercaseMapping.unicodeScalars)
            }
        }
        return String(out)
    }
}

struct StripNormalizer: Normalizer {
    let left: Bool, right: Bool

    func normalize(_ text: String) -> String {
        var scalars = Substring(text).unicodeScalars[...]
        if left { while let f = scalars.first, f.properties.isWhitespace { scalars.removeFirst() } }
        if right { while let l = scalars.last, l.properties.isWhitespace { scalars.removeLast() } }
        return String(String.UnicodeScalarView(scalars))
    }
}

/// Removes combining marks (categories Mn, Mc, Me), as `tokenizers`' StripAccents does after NFD/NFKD.
struct StripAccentsNormalizer: Normalizer {
    func normalize(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for s in text.unicodeScalars where CharClass.of(s.value) & CharClass.mark == 0 { out.append(s) }
        return String(out)
    }
}

struct PrependNormalizer: Normalizer {
    let prefix: String
    func normalize(_ text: String) -> String { text.isEmpty ? text : prefix + text }
}

/// `pattern` ({"String": s} or {"Regex": r}) replaced by `content`; shared by the Replace normalizer and decoder.
struct Replacement: Sendable {
    let pattern: SplitPattern
    let content: [UInt8]

    init(_ node: JSONNode) throws {
        pattern = try makePattern(try node.required("pattern"))
        content = Array(try node.string("content").utf8)
    }

    func apply(_ text: String) -> String {
        let bytes = Array(text.utf8)
        let matches = pattern.findMatches(bytes)
        if !matches.contains(where: { $0.isMatch }) { return text }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        for m in matches {
            if m.isMatch { out.append(contentsOf: content) } else { out.append(contentsOf: bytes[m.range]) }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Reads a `pattern` object: {"String": "..."} or {"Regex": "..."}.
func makePattern(_ node: JSONNode) throws -> SplitPattern {
    if let s = try node.optionalString("String") { return LiteralPattern(needle: Array(s.utf8)) }
    if let r = try node.optionalString("Regex") {
        if let known = KnownPattern(rawValue: r) { return HandPattern(known) }
        do { return try RegexPattern(r) } catch {
            throw TokenizerError.invalidValue(file: node.file, path: node.path + ".Regex", value: r,
                                              reason: "the regular expression does not compile (\(error))")
        }
    }
    throw TokenizerError.invalidValue(file: node.file, path: node.path, value: "(object)",
                                      reason: "expected {\"String\": ...} or {\"Regex\": ...}")
}

struct ReplaceNormalizer: Normalizer {
    let replace: Replacement
    func normalize(_ text: String) -> String { replace.apply(text) }
}

struct SequenceNormalizer: Normalizer {
    let parts: [Normalizer]
    func normalize(_ text: String) -> String { parts.reduce(text) { $1.normalize($0) } }
}

/// BERT's normalizer: control characters removed, whitespace to spaces, CJK characters padded with spaces,
/// optional accent stripping and lowercasing.
struct BertNormalizer: Normalizer {
    let cleanText: Bool, handleChineseChars: Bool, stripAccents: Bool?, lowercase: Bool

    static func isChinese(_ v: UInt32) -> Bool {
        (0x4E00...0x9FFF).contains(v) || (0x3400...0x4DBF).contains(v) || (0x20000...0x2A6DF).contains(v)
            || (0x2A700...0x2B73F).contains(v) || (0x2B740...0x2B81F).contains(v) || (0x2B920...0x2CEAF).contains(v)
            || (0xF900...0xFAFF).contains(v) || (0x2F800...0x2FA1F).contains(v)
    }

    func normalize(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for s in text.unicodeScalars {
            if cleanText {
                if s.value == 0 || s.value == 0xFFFD { continue }
                if s.value == 0x09 || s.value == 0x0A || s.value == 0x0D { out.append(" "); continue }
                let cat = s.properties.generalCategory
                if cat == .control || cat == .format { continue }
                if s.properties.isWhitespace { out.append(" "); continue }
            }
            if handleChineseChars && BertNormalizer.isChinese(s.value) {
                out.append(" "); out.append(s); out.append(" ")
            } else { out.append(s) }
        }
        var result = String(out)
        if stripAccents ?? lowercase {
            result = StripAccentsNormalizer().normalize(result.decomposedStringWithCanonicalMapping)
        }
        if lowercase { result = LowercaseNormalizer().normalize(result) }
        return result
    }
}
