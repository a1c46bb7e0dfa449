/// How `JSONValue` is written: the layouts of Python's `json.dumps` (and serde_json, which agrees with it
/// on escapes), so that files Tailor writes match the peers' byte for byte.
///
/// Strings escape `"` `\` and control characters (`\b \f \n \r \t`, else lowercase `\u00xx`); with
/// `ensureASCII` every scalar outside space...tilde is `\uxxxx` (surrogate pairs above U+FFFF).
/// Floats are written as Python's `repr` (`1.0`, `1e-05`, `1e+16`); NaN and infinities as Python's
/// `NaN`, `Infinity`, `-Infinity` (not JSON, but what `json.dumps` writes and `json.loads` reads).
public struct JSONFormat: Sendable, Hashable {
    /// Indentation per level; nil writes one line. "" (Python's `indent=0`) writes newlines only.
    public var indent: String?
    /// Between array elements and object members (`", "` on one line, `","` with an indent).
    public var itemSeparator: String
    /// Between a key and its value.
    public var keySeparator: String
    /// Python's `ensure_ascii`.
    public var ensureASCII: Bool
    /// Python's `sort_keys`: members of every object in code point order of their keys.
    public var sortKeys: Bool

    /// `itemSeparator` defaults as Python's: `", "` without an indent, `","` with one.
    public init(indent: String? = nil, itemSeparator: String? = nil, keySeparator: String = ": ",
                ensureASCII: Bool, sortKeys: Bool = false) {
        self.indent = indent
        self.itemSeparator = itemSeparator ?? (indent == nil ? ", " : ",")
        self.keySeparator = keySeparator
        self.ensureASCII = ensureASCII
        self.sortKeys = sortKeys
    }

    /// No white space, UTF-8 as is: serde_json's `to_string` (safetensors headers), `json.dumps(separators=(",", ":"),
    /// ensure_ascii=False)`.
    public static let compact = JSONFormat(itemSeparator: ",", keySeparator: ":", ensureASCII: false)
    /// `json.dumps(value)`: one line, `", "` and `": "`, non-ASCII escaped (Trainer's metrics lines).
    public static let python = JSONFormat(ensureASCII: true)
    /// `json.dumps(value, indent=2)` (with `sortingKeys()`: transformers' config.json and generation_config.json,
    /// peft's adapter_config.json, Trainer's trainer_state.json).
    public static let pythonIndented = JSONFormat(indent: "  ", ensureASCII: true)
    /// serde_json's pretty printer, as `tokenizers` saves tokenizer.json: two spaces, UTF-8 as is.
    public static let pretty = JSONFormat(indent: "  ", ensureASCII: false)

    /// This format with `sortKeys` set.
    public func sortingKeys(_ sort: Bool = true) -> JSONFormat {
        var copy = self
        copy.sortKeys = sort
        return copy
    }

    /// This format with `ensureASCII` set.
    public func ensuringASCII(_ ascii: Bool) -> JSONFormat {
        var copy = self
        copy.ensureASCII = ascii
        return copy
    }
}

extension JSONValue {
    /// The UTF-8 text of this value in `format`.
    public func bytes(_ format: JSONFormat = .compact) -> [UInt8] {
        var out: [UInt8] = []
        write(to: &out, format)
        return out
    }

    /// The text of this value in `format`.
    public func text(_ format: JSONFormat = .compact) -> String {
        String(decoding: bytes(format), as: UTF8.self)
    }

    /// Appends the UTF-8 text of this value in `format` to `out`.
    public func write(to out: inout [UInt8], _ format: JSONFormat) {
        JSONWriter(format: format).write(self, level: 0, to: &out)
    }
}

/// Python's `repr(float)`: the shortest digits that read back to the same double, fixed notation for
/// 1e-4 <= |x| < 1e16 with at least one digit after the point, otherwise `d.ddde+XX`; `nan`, `inf`, `-inf`.
public func pythonFloatRepr(_ d: Double) -> String {
    if d.isNaN { return "nan" }
    if d.isInfinite { return d < 0 ? "-inf" : "inf" }
    if d == 0 { return d.sign == .minus ? "-0.0" : "0.0" }
    // Swift's description is also shortest-round-trip; only the layout differs.
    var text = Swift.abs(d).description
    var exponent = 0
    if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
        exponent = Int(text[text.index(after: e)...]) ?? 0
        text = String(text[..<e])
    }
    let parts = text.split(separator: ".", omittingEmptySubsequences: false)
    let integer = String(parts[0])
    let fraction = parts.count > 1 ? String(parts[1]) : ""
    var digits = Array(integer + fraction)
    var point = integer.count + exponent  // value = 0.digits * 10^point
    while digits.first == "0" {
        digits.removeFirst()
        point -= 1
    }
    while digits.last == "0" { digits.removeLast() }
    if digits.isEmpty { return "0.0" }
    let sign = d < 0 ? "-" : ""
    if point > -4 && point <= 16 {
        if point <= 0 {
            return sign + "0." + String(repeating: "0", count: -point) + String(digits)
        }
        if point >= digits.count {
            return sign + String(digits) + String(repeating: "0", count: point - digits.count) + ".0"
        }
        return sign + String(digits[..<point]) + "." + String(digits[point...])
    }
    let mantissa = digits.count > 1 ? "\(digits[0])." + String(digits[1...]) : "\(digits[0])"
    let e = point - 1
    let eText = Swift.abs(e) < 10 ? "0\(Swift.abs(e))" : "\(Swift.abs(e))"
    return sign + mantissa + "e" + (e < 0 ? "-" : "+") + eText
}

/// A float as `json.dumps` writes it: `repr`, with `NaN`, `Infinity`, `-Infinity` for the non-finite.
public func pythonJSONFloat(_ d: Double) -> String {
    if d.isNaN { return "NaN" }
    if d.isInfinite { return d < 0 ? "-Infinity" : "Infinity" }
    return pythonFloatRepr(d)
}

private struct JSONWriter {
    let format: JSONFormat
    let item: [UInt8]
    let key: [UInt8]
    let indent: [UInt8]?

    init(format: JSONFormat) {
        self.format = format
        item = Array(format.itemSeparator.utf8)
        key = Array(format.keySeparator.utf8)
        indent = format.indent.map { Array($0.utf8) }
    }

    func newline(_ level: Int, to out: inout [UInt8]) {
        guard let indent else { return }
        out.append(0x0A)
        for _ in 0..<level { out += indent }
    }

    func write(_ value: JSONValue, level: Int, to out: inout [UInt8]) {
        switch value {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: b ? "true".utf8 : "false".utf8)
        case .int(let i): out.append(contentsOf: String(i).utf8)
        case .bigInteger(let text): out.append(contentsOf: text.utf8)
        case .double(let d): out.append(contentsOf: pythonJSONFloat(d).utf8)
        case .string(let s): Self.quote(s, ensureASCII: format.ensureASCII, to: &out)
        case .array(let items):
            guard !items.isEmpty else { out += [0x5B, 0x5D]; return }
            out.append(0x5B)
            for (index, element) in items.enumerated() {
                if index > 0 { out += item }
                newline(level + 1, to: &out)
                write(element, level: level + 1, to: &out)
            }
            newline(level, to: &out)
            out.append(0x5D)
        case .object(let object):
            guard !object.isEmpty else { out += [0x7B, 0x7D]; return }
            var members = object.members
            if format.sortKeys { members.sort { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) } }
            out.append(0x7B)
            for (index, member) in members.enumerated() {
                if index > 0 { out += item }
                newline(level + 1, to: &out)
                Self.quote(member.key, ensureASCII: format.ensureASCII, to: &out)
                out += key
                write(member.value, level: level + 1, to: &out)
            }
            newline(level, to: &out)
            out.append(0x7D)
        }
    }

    static let hexDigits = Array("0123456789abcdef".utf8)

    static func appendEscape(_ unit: UInt32, to out: inout [UInt8]) {
        out += [0x5C, UInt8(ascii: "u")]
        for shift in stride(from: 12, through: 0, by: -4) { out.append(hexDigits[Int((unit >> UInt32(shift)) & 0xF)]) }  // allowed: UTF-16 units, bytes and nibble shifts widen
    }

    static func quote(_ string: String, ensureASCII: Bool, to out: inout [UInt8]) {
        out.append(0x22)
        if ensureASCII && string.utf8.contains(where: { $0 >= 0x80 }) {
            for scalar in string.unicodeScalars {
                if scalar.value < 0x80 {
                    appendASCII(UInt8(scalar.value), ensureASCII: true, to: &out)  // allowed: scalar.value < 0x80 checked on this line
                } else {
                    for unit in String(scalar).utf16 { appendEscape(UInt32(unit), to: &out) }  // allowed: UTF-16 units, bytes and nibble shifts widen
                }
            }
        } else {
            for byte in string.utf8 { appendASCII(byte, ensureASCII: ensureASCII, to: &out) }
        }
        out.append(0x22)
    }

    /// One byte of a string: ASCII escaped as needed, bytes of non-ASCII UTF-8 as they are.
    static func appendASCII(_ byte: UInt8, ensureASCII: Bool, to out: inout [UInt8]) {
        switch byte {
        case 0x22: out += [0x5C, 0x22]
        case 0x5C: out += [0x5C, 0x5C]
        case 0x08: out += [0x5C, UInt8(ascii: "b")]
        case 0x0C: out += [0x5C, UInt8(ascii: "f")]
        case 0x0A: out += [0x5C, UInt8(ascii: "n")]
        case 0x0D: out += [0x5C, UInt8(ascii: "r")]
        case 0x09: out += [0x5C, UInt8(ascii: "t")]
        case 0x00..<0x20: appendEscape(UInt32(byte), to: &out)  // allowed: UTF-16 units, bytes and nibble shifts widen
        case 0x7F where ensureASCII: appendEscape(0x7F, to: &out)
        default: out.append(byte)
        }
    }
}
