import TailorJSON

/// Python's `str`, `repr`, `==` and `<` for runtime values, which decide what a template prints.
extension Value {
    /// `str(value)` as jinja2 prints `{{ value }}`; undefined prints as nothing.
    var pyStr: String {
        switch self {
        case .undefined: return ""
        case .string(let s), .markup(let s): return s
        default: return pyRepr
        }
    }

    /// `repr(value)`, used for items inside printed lists and dicts.
    var pyRepr: String {
        switch self {
        case .undefined: return ""
        case .none: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .double(let d): return pythonFloatRepr(d)
        case .string(let s): return pythonStringRepr(s)
        case .markup(let s): return "Markup(" + pythonStringRepr(s) + ")"
        case .list(let items): return "[" + items.map(\.pyRepr).joined(separator: ", ") + "]"
        case .tuple(let items):
            return "(" + items.map(\.pyRepr).joined(separator: ", ") + (items.count == 1 ? ",)" : ")")
        case .dict(let d):
            return "{" + d.items.map { $0.0.pyRepr + ": " + $0.1.pyRepr }.joined(separator: ", ") + "}"
        case .generator: return "<generator object>"
        case .namespace(let ns):
            return "<Namespace " + ns.attributes.items.map { "\($0.0.pyStr)=\($0.1.pyRepr)" }.joined(separator: ", ") + ">"
        case .callable(let c): return "<function \(c.name)>"
        }
    }

    /// Python `==` (so `1 == 1.0 == True`); undefined equals only undefined.
    func pyEquals(_ other: Value) -> Bool {
        switch (self.plain, other.plain) {
        case (.undefined, .undefined), (.none, .none): return true
        case (.string(let a), .string(let b)): return a == b
        case (.list(let a), .list(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.pyEquals($1) }
        case (.dict(let a), .dict(let b)):
            guard a.count == b.count else { return false }
            for (key, value) in a.items {
                guard let other = b[value: key], value.pyEquals(other) else { return false }
            }
            return true
        case (.namespace(let a), .namespace(let b)): return a === b
        case (.callable(let a), .callable(let b)): return a === b
        default:
            if let a = numeric, let b = other.numeric { return a == b }
            return false
        }
    }

    /// The value as a number when Python treats it as one (bool, int, float).
    var numeric: Double? {
        switch self {
        case .bool(let b): return b ? 1 : 0
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }

    /// Python `<`; throws `TypeError` for unordered types, as Python does.
    func pyLess(_ other: Value) throws -> Bool {
        let (this, other) = (self.plain, other.plain)
        switch (this, other) {
        case (.int(let a), .int(let b)): return a < b
        case (.string(let a), .string(let b)): return a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars)
        case (.list(let a), .list(let b)):
            for (x, y) in zip(a, b) where !x.pyEquals(y) { return try x.pyLess(y) }
            return a.count < b.count
        default:
            if let a = this.numeric, let b = other.numeric { return a < b }
            if case .undefined(let hint) = this { throw RawTemplateError(.undefined, hint) }
            if case .undefined(let hint) = other { throw RawTemplateError(.undefined, hint) }
            throw RawTemplateError(
                .type, "'<' not supported between instances of '\(typeName)' and '\(other.typeName)'")
        }
    }
}

/// Python's `repr(str)`: single quotes unless the text has a single quote and no double quote.
func pythonStringRepr(_ s: String) -> String {
    let quote: Character = (s.contains("'") && !s.contains("\"")) ? "\"" : "'"
    var out = String(quote)
    for scalar in s.unicodeScalars {
        switch scalar {
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if Character(scalar) == quote {
                out += "\\" + String(quote)
            } else if scalar.value < 0x20 || scalar.value == 0x7F {
                out += "\\x" + hex(scalar.value, width: 2)
            } else if (0x80..<0xA0).contains(scalar.value) {
                out += "\\x" + hex(scalar.value, width: 2)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    out.append(quote)
    return out
}

func hex(_ value: UInt32, width: Int) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: max(0, width - digits.count)) + digits
}
