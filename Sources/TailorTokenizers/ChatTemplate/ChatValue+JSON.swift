import TailorJSON

/// Chat values and JSON: templates see `ChatValue`s built from TailorJSON's `JSONValue`, so object key order
/// and the int/double distinction (`1` is an int, `1.0` and `1e3` are doubles, as Python's `json.loads` reads
/// them) reach the template as the file had them.
extension ChatValue {
    /// The chat value of a JSON value. An integer beyond `Int` becomes a double.
    public init(_ json: JSONValue) {
        switch json {
        case .null: self = .null
        case .bool(let b): self = .bool(b)
        case .int(let i): self = .int(i)
        case .bigInteger: self = .double(json.doubleValue ?? .nan)
        case .double(let d): self = .double(d)
        case .string(let s): self = .string(s)
        case .array(let items): self = .array(items.map(ChatValue.init))
        case .object(let object): self = .object(ChatObject(object.members.map { ($0.key, ChatValue($0.value)) }))
        }
    }

    /// The value as JSON.
    public var jsonValue: JSONValue {
        switch self {
        case .null: return .null
        case .bool(let b): return .bool(b)
        case .int(let i): return .int(i)
        case .double(let d): return .double(d)
        case .string(let s): return .string(s)
        case .array(let items): return .array(items.map(\.jsonValue))
        case .object(let object): return .object(JSONObject(object.map { ($0.key, $0.value.jsonValue) }))
        }
    }

    /// Parses JSON text. Throws `TemplateError` (kind `.syntax`) naming the line and column of bad input.
    public init(json text: String) throws {
        do {
            self.init(try JSONValue(parsing: text))
        } catch {
            throw TemplateError(kind: .syntax, message: "JSON: \(error.reason)", line: error.line, column: error.column)
        }
    }

    /// The value as compact JSON, written as Python's `json.dumps(value, ensure_ascii=False)` writes it.
    public var jsonString: String { jsonValue.text(.python.ensuringASCII(false)) }
}

extension Value {
    /// The value as `json.dumps` serialises it: tuples and markup as lists and strings, dict keys that are
    /// None, bools, ints or floats as their JSON text; with `sortKeys` the items in Python's `sorted` order of
    /// the original keys (so int keys sort as numbers).
    /// - Throws: `RawTemplateError` (`TypeError`) for what `json.dumps` cannot serialise.
    func jsonValue(sortKeys: Bool) throws -> JSONValue {
        let value = plain
        switch value {
        case .none: return .null
        case .bool(let b): return .bool(b)
        case .int(let i): return .int(i)
        case .double(let d): return .double(d)
        case .string(let s), .markup(let s): return .string(s)
        case .list(let items): return .array(try items.map { try $0.jsonValue(sortKeys: sortKeys) })
        case .dict(let dict):
            var pairs = dict.items
            if sortKeys { pairs.sort { (try? $0.0.pyLess($1.0)) ?? false } }
            var members: [(String, JSONValue)] = []
            for (k, v) in pairs {
                let key: String
                switch k.plain {
                case .string(let s): key = s
                case .none: key = "null"
                case .bool(let b): key = b ? "true" : "false"
                case .int(let i): key = String(i)
                case .double(let d): key = pythonJSONFloat(d)
                default: throw RawTemplateError(.type, "keys must be str, int, float, bool or None, not \(k.typeName)")
                }
                members.append((key, try v.jsonValue(sortKeys: sortKeys)))
            }
            return .object(JSONObject(members))
        default:
            if case .undefined(let hint) = value, hint.isEmpty == false {
                throw RawTemplateError(.type, "Object of type Undefined is not JSON serializable")
            }
            throw RawTemplateError(.type, "Object of type \(value.typeName) is not JSON serializable")
        }
    }
}
