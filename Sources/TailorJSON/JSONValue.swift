/// A JSON value as the file holds it: the one JSON type of Tailor, for every file it reads or writes
/// (config.json, tokenizer.json, adapter_config.json, safetensors headers, data records, ...).
///
/// - Objects keep their keys in file order (`JSONObject`); a key given twice keeps its first place and
///   its last value, as Python's `json.loads` does (the reader can reject repeats instead).
/// - Numbers keep what they were written as: an integer literal (no fraction, no exponent) is `.int`
///   when it fits `Int` and `.bigInteger` (its digits) beyond, so `"r": 16` writes back as `16` and no
///   integer is rounded; `1.0`, `2e3` are `.double` and write back as Python writes floats (`1.0`, `2000.0`).
/// - Strings and keys compare byte for byte (code point for code point, as in Python), not by Swift's
///   canonical equivalence: a vocabulary may hold both "é" and "e\u{301}".
///
/// Read with `JSONValue(parsing:file:options:)` (errors name the file, line and column); write with
/// `text(_:)` / `bytes(_:)` in one of the `JSONFormat`s.
public enum JSONValue: Sendable {
    case null
    case bool(Bool)
    /// An integer literal that fits `Int`.
    case int(Int)
    /// An integer literal outside `Int`'s range, kept as its text (an optional `-` and digits).
    case bigInteger(String)
    /// A number with a fraction or an exponent; Python's `NaN` / `Infinity` where the reader allows them.
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)
}

// MARK: - Reading values

extension JSONValue {
    /// The JSON type's name ("null", "boolean", "number", "string", "array", "object"), for messages.
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .int, .bigInteger, .double: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    /// The member `key` when this is an object holding it.
    public subscript(key: String) -> JSONValue? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// The value of an integer literal that fits `Int` (`16`, not `16.0`).
    public var intValue: Int? {
        if case .int(let i) = self { return i }
        return nil
    }

    /// An integer literal, or a whole number written as a float (`4096.0`), that fits `Int`.
    public var integralValue: Int? {
        switch self {
        case .int(let i): return i
        case .double(let d): return Int(exactly: d)
        default: return nil
        }
    }

    /// An integer literal that fits `T` exactly (for `UInt64` seeds beyond `Int.max`, `Int32` ids).
    public func integer<T: FixedWidthInteger>(as type: T.Type) -> T? {
        switch self {
        case .int(let i): return T(exactly: i)
        case .bigInteger(let text): return T(text)
        default: return nil
        }
    }

    /// Any number as a `Double` (integers converted, big ones rounded).
    public var doubleValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .bigInteger(let text): return Double(text)
        case .double(let d): return d
        default: return nil
        }
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let items) = self { return items }
        return nil
    }

    /// The elements each read by `element` (`\.stringValue`, `\.intValue`) when this is an array and every
    /// element reads; nil otherwise.
    public func arrayValue<T>(of element: (JSONValue) -> T?) -> [T]? {
        guard case .array(let items) = self else { return nil }
        var result: [T] = []
        result.reserveCapacity(items.count)
        for item in items {
            guard let value = element(item) else { return nil }
            result.append(value)
        }
        return result
    }

    public var objectValue: JSONObject? {
        if case .object(let object) = self { return object }
        return nil
    }
}

// MARK: - Equality

extension JSONValue: Hashable {
    /// Same case and same contents: strings and keys byte for byte, objects in the same key order,
    /// `.int(1)` unequal to `.double(1)` (they write differently).
    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case let (.bool(a), .bool(b)): return a == b
        case let (.int(a), .int(b)): return a == b
        case let (.bigInteger(a), .bigInteger(b)): return a.utf8.elementsEqual(b.utf8)
        case let (.double(a), .double(b)): return a == b
        case let (.string(a), .string(b)): return a.utf8.elementsEqual(b.utf8)
        case let (.array(a), .array(b)): return a == b
        case let (.object(a), .object(b)): return a == b
        default: return false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0)
        case .bool(let b): hasher.combine(1); hasher.combine(b)
        case .int(let i): hasher.combine(2); hasher.combine(i)
        case .bigInteger(let text): hasher.combine(3); ByteKey(text).hash(into: &hasher)
        case .double(let d): hasher.combine(4); hasher.combine(d)
        case .string(let s): hasher.combine(5); ByteKey(s).hash(into: &hasher)
        case .array(let items): hasher.combine(6); hasher.combine(items)
        case .object(let object): hasher.combine(7); hasher.combine(object)
        }
    }
}

// MARK: - Literals

extension JSONValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(nilLiteral: ()) { self = .null }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    /// Members in the order written.
    public init(dictionaryLiteral elements: (String, JSONValue)...) { self = .object(JSONObject(elements)) }
}

/// A string compared and hashed by its UTF-8 bytes.
struct ByteKey: Hashable {
    let string: String

    init(_ string: String) { self.string = string }

    static func == (a: ByteKey, b: ByteKey) -> Bool { a.string.utf8.elementsEqual(b.string.utf8) }

    func hash(into hasher: inout Hasher) {
        var copy = string  // native strings are contiguous already; withUTF8 copies only bridged ones
        copy.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}
