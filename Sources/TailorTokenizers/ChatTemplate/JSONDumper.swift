/// Python's `json.dumps`, as transformers' `tojson` filter calls it
/// (`ensure_ascii=False, indent=None, separators=None, sort_keys=False` by default).
struct JSONDumper {
    /// Indentation per level: nil = one line; "" (indent=0) = newlines only.
    var indent: String?
    var separators: (item: String, key: String)?
    var ensureASCII: Bool
    var sortKeys: Bool

    func dump(_ value: Value) throws -> String {
        var out = ""
        let (item, key) = separators ?? (indent == nil ? (", ", ": ") : (",", ": "))
        try write(value, level: 0, item: item, key: key, into: &out)
        return out
    }

    private func write(_ input: Value, level: Int, item: String, key: String, into out: inout String) throws {
        let value = input.plain
        switch value {
        case .none: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d):
            if d.isNaN {
                out += "NaN"
            } else if d.isInfinite {
                out += d < 0 ? "-Infinity" : "Infinity"
            } else {
                out += pythonFloatRepr(d)
            }
        case .string(let s), .markup(let s): writeString(s, into: &out)
        case .list(let items):
            if items.isEmpty {
                out += "[]"
                return
            }
            out += "["
            for (i, element) in items.enumerated() {
                if i > 0 { out += item }
                newline(level + 1, into: &out)
                try write(element, level: level + 1, item: item, key: key, into: &out)
            }
            newline(level, into: &out)
            out += "]"
        case .dict(let dict):
            if dict.isEmpty {
                out += "{}"
                return
            }
            var pairs = dict.items
            if sortKeys { pairs.sort { (try? $0.0.pyLess($1.0)) ?? false } }
            out += "{"
            for (i, (k, v)) in pairs.enumerated() {
                if i > 0 { out += item }
                newline(level + 1, into: &out)
                switch k.plain {
                case .string(let s): writeString(s, into: &out)
                case .none: out += "\"null\""
                case .bool(let b): out += b ? "\"true\"" : "\"false\""
                case .int, .double: out += "\"" + k.pyRepr + "\""
                default: throw RawTemplateError(.type, "keys must be str, int, float, bool or None, not \(k.typeName)")
                }
                out += key
                try write(v, level: level + 1, item: item, key: key, into: &out)
            }
            newline(level, into: &out)
            out += "}"
        default:
            if case .undefined(let hint) = value, hint.isEmpty == false {
                throw RawTemplateError(.type, "Object of type Undefined is not JSON serializable")
            }
            throw RawTemplateError(.type, "Object of type \(value.typeName) is not JSON serializable")
        }
    }

    private func newline(_ level: Int, into out: inout String) {
        guard let indent else { return }
        out += "\n"
        for _ in 0..<level { out += indent }
    }

    private func writeString(_ s: String, into out: inout String) {
        out += "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 {
                    out += "\\u" + hex(scalar.value, width: 4)
                } else if ensureASCII && scalar.value > 0x7E {
                    if scalar.value >= 0x10000 {
                        let v = scalar.value - 0x10000
                        out += "\\u" + hex(0xD800 + (v >> 10), width: 4) + "\\u" + hex(0xDC00 + (v & 0x3FF), width: 4)
                    } else {
                        out += "\\u" + hex(scalar.value, width: 4)
                    }
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}
