/// A JSON-like value handed to a chat template: messages, tools, documents and extra variables.
///
/// Objects keep their key order, because templates print tool schemas with `tojson` and the
/// order of keys is part of the rendered text. Integers and doubles stay distinct (`1` vs `1.0`
/// render differently, as in Python).
public enum ChatValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([ChatValue])
    case object(ChatObject)

    /// The value under `key` when this is an object, else nil.
    public subscript(key: String) -> ChatValue? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }
}

/// A JSON object that keeps the order its keys were inserted in.
public struct ChatObject: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral {
    public private(set) var keys: [String] = []
    private var storage: [String: ChatValue] = [:]

    public init() {}

    public init(_ pairs: [(String, ChatValue)]) {
        for (key, value) in pairs { self[key] = value }
    }

    public init(dictionaryLiteral elements: (String, ChatValue)...) {
        self.init(elements)
    }

    public var count: Int { keys.count }
    public var isEmpty: Bool { keys.isEmpty }

    /// Setting an existing key keeps its position; setting nil removes it.
    public subscript(key: String) -> ChatValue? {
        get { storage[key] }
        set {
            if let newValue {
                if storage.updateValue(newValue, forKey: key) == nil { keys.append(key) }
            } else if storage.removeValue(forKey: key) != nil {
                keys.removeAll { $0 == key }
            }
        }
    }

    public func makeIterator() -> AnyIterator<(key: String, value: ChatValue)> {
        var index = 0
        return AnyIterator {
            guard index < keys.count else { return nil }
            defer { index += 1 }
            let key = keys[index]
            return (key, storage[key] ?? .null)
        }
    }

    public static func == (lhs: ChatObject, rhs: ChatObject) -> Bool {
        lhs.keys == rhs.keys && lhs.storage == rhs.storage
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(keys)
        for key in keys { hasher.combine(storage[key]) }
    }
}

extension ChatValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: ChatValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, ChatValue)...) { self = .object(ChatObject(elements)) }
    public init(nilLiteral: ()) { self = .null }
}

/// A chat message, built with the fields templates read. `content` may be a string or a list of
/// parts (`[{"type": "text", "text": ...}]`); extra fields (`tool_call_id`, `name`, ...) go in `extra`.
public struct ChatMessage: Sendable, Hashable {
    public var role: String
    public var content: ChatValue
    public var reasoningContent: String?
    public var toolCalls: [ChatValue]?
    public var extra: ChatObject

    public init(
        role: String, content: ChatValue, reasoningContent: String? = nil, toolCalls: [ChatValue]? = nil,
        extra: ChatObject = [:]
    ) {
        self.role = role
        self.content = content
        self.reasoningContent = reasoningContent
        self.toolCalls = toolCalls
        self.extra = extra
    }

    /// The message as the JSON object templates see: `role`, `content`, then the optional fields.
    public var value: ChatValue {
        var object: ChatObject = ["role": .string(role), "content": content]
        if let reasoningContent { object["reasoning_content"] = .string(reasoningContent) }
        if let toolCalls { object["tool_calls"] = .array(toolCalls) }
        for (key, value) in extra { object[key] = value }
        return .object(object)
    }
}
