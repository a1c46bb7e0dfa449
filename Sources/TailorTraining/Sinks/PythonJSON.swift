/// JSON text as Python's `json.dumps` writes it (what transformers uses for trainer_state.json), so the
/// files Tailor writes diff cleanly against the ones Trainer writes: `", "` / `": "` separators on one
/// line, or `indent` spaces per level with `","` at line ends; `ensure_ascii` escapes; floats in
/// shortest round-trip form with a `.0` on whole numbers; NaN and infinities as `NaN` / `Infinity`
/// (Python reads those back, as Trainer's own files may hold them).
enum PythonJSON: Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([PythonJSON])
    /// Keys in insertion order (sorted on output when asked).
    case object([(String, PythonJSON)])

    static func == (lhs: PythonJSON, rhs: PythonJSON) -> Bool {
        lhs.rendered() == rhs.rendered()
    }

    /// The text; `indent` nil gives one line.
    func rendered(indent: Int? = nil, sortKeys: Bool = false) -> String {
        var out = ""
        write(to: &out, indent: indent, level: 0, sortKeys: sortKeys)
        return out
    }

    private func write(to out: inout String, indent: Int?, level: Int, sortKeys: Bool) {
        switch self {
        case .null: out += "null"
        case let .bool(value): out += value ? "true" : "false"
        case let .int(value): out += String(value)
        case let .double(value): out += Self.number(value)
        case let .string(value): Self.quote(value, into: &out)
        case let .array(items):
            guard !items.isEmpty else { out += "[]"; return }
            out += "["
            for (index, item) in items.enumerated() {
                if index > 0 { out += indent == nil ? ", " : "," }
                if let indent { out += "\n" + String(repeating: " ", count: indent * (level + 1)) }
                item.write(to: &out, indent: indent, level: level + 1, sortKeys: sortKeys)
            }
            if let indent { out += "\n" + String(repeating: " ", count: indent * level) }
            out += "]"
        case let .object(pairs):
            guard !pairs.isEmpty else { out += "{}"; return }
            let ordered = sortKeys ? pairs.sorted { $0.0.unicodeScalars.lexicographicallyPrecedes($1.0.unicodeScalars) } : pairs
            out += "{"
            for (index, (key, value)) in ordered.enumerated() {
                if index > 0 { out += indent == nil ? ", " : "," }
                if let indent { out += "\n" + String(repeating: " ", count: indent * (level + 1)) }
                Self.quote(key, into: &out)
                out += ": "
                value.write(to: &out, indent: indent, level: level + 1, sortKeys: sortKeys)
            }
            if let indent { out += "\n" + String(repeating: " ", count: indent * level) }
            out += "}"
        }
    }

    /// Python's `float.__repr__`: shortest round-trip digits (as Swift's `description`), `1e-05` style
    /// exponents, `.0` on whole numbers.
    static func number(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Infinity" : "Infinity" }
        var text = value.description
        // Swift writes 1e+16 where Python does too, and 1e-05 like Python; whole numbers get ".0" in both.
        if !text.contains(".") && !text.contains("e") { text += ".0" }
        return text
    }

    static func quote(_ text: String, into out: inout String) {
        out += "\""
        for unit in text.utf16 {
            switch unit {
            case 0x22: out += "\\\""
            case 0x5C: out += "\\\\"
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            case 0x08: out += "\\b"
            case 0x0C: out += "\\f"
            case 0x20..<0x7F: out.unicodeScalars.append(Unicode.Scalar(UInt8(unit)))
            default:
                let hex = String(unit, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            }
        }
        out += "\""
    }
}
