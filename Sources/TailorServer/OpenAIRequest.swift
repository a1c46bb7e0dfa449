import TailorJSON
import TailorTokenizers

/// A chat or completion request as OpenAI and vLLM define its fields, read from the body's JSON
/// (unknown fields are ignored, as OpenAI-compatible servers do).
public struct OpenAIRequest: Sendable {
    public enum Input: Sendable {
        /// /v1/chat/completions: the messages, and `tools` for the chat template.
        case chat(messages: [ChatMessage], tools: [ChatValue]?)
        /// /v1/completions: one or more prompts, each text or token ids.
        case completion(prompts: [Prompt])
    }

    public enum Prompt: Sendable, Equatable {
        case text(String)
        case tokens([Int32])
    }

    public var model: String
    public var input: Input
    public var stream = false
    /// stream_options.include_usage.
    public var includeUsage = false
    public var maxTokens: Int?
    public var temperature: Double?
    public var topP: Double?
    public var topK: Int?
    public var minP: Double?
    public var repetitionPenalty: Double?
    public var presencePenalty: Double = 0
    public var frequencyPenalty: Double = 0
    public var stop: [String] = []
    public var seed: UInt64?
    public var n = 1
    /// Log-probabilities per token: nil = none, else how many top tokens (chat: top_logprobs with
    /// logprobs true; completions: the integer logprobs).
    public var logprobs: Int?
    /// Chat-template variables from vLLM's chat_template_kwargs (`enable_thinking`) and tool_choice.
    public var templateVariables: [String: ChatValue] = [:]
    /// Completions: put the prompt before the answer in the text (OpenAI's echo).
    public var echo = false

    /// Largest n accepted (each choice takes a batch row).
    public static let maxChoices = 16

    /// Reads a request body.
    /// - Parameter chat: true for /v1/chat/completions, false for /v1/completions.
    /// - Throws: `ServerError.malformedJSON`, `.wrongType` (422) or `.invalidValue` (400) naming the field.
    public init(body: [UInt8], chat: Bool) throws {
        let value: JSONValue
        do { value = try JSONValue(parsing: body, options: .strict) } catch {
            throw ServerError.malformedJSON("line \(error.line), column \(error.column): \(error.reason)")
        }
        guard let object = value.objectValue else { throw ServerError.wrongType(param: "(body)", expected: "a JSON object", got: value.typeName) }
        let f = Fields(object: object)
        model = try f.string("model", required: true) ?? ""
        if chat {
            guard let list = object["messages"] else { throw ServerError.wrongType(param: "messages", expected: "a list of messages", got: "missing") }
            guard let items = list.arrayValue else { throw ServerError.wrongType(param: "messages", expected: "a list of messages", got: list.typeName) }
            guard !items.isEmpty else { throw ServerError.invalidValue(param: "messages", problem: "must hold at least one message") }
            let messages = try items.enumerated().map { try Self.message($1, index: $0) }
            var tools: [ChatValue]?
            if let t = object["tools"], !t.isNull {
                guard let list = t.arrayValue else { throw ServerError.wrongType(param: "tools", expected: "a list of tool definitions", got: t.typeName) }
                tools = list.map(ChatValue.init)
            }
            input = .chat(messages: messages, tools: tools)
            if let choice = object["tool_choice"], !choice.isNull { templateVariables["tool_choice"] = ChatValue(choice) }
            if let kwargs = object["chat_template_kwargs"], !kwargs.isNull {
                guard let members = kwargs.objectValue else {
                    throw ServerError.wrongType(param: "chat_template_kwargs", expected: "an object", got: kwargs.typeName)
                }
                for (key, value) in members { templateVariables[key] = ChatValue(value) }
            }
            if try f.bool("logprobs") == true { logprobs = try f.integer("top_logprobs", in: 0...20) ?? 0 }
            maxTokens = try f.integer("max_completion_tokens", in: 1...Int.max) ?? f.integer("max_tokens", in: 1...Int.max)
        } else {
            guard let prompt = object["prompt"] else { throw ServerError.wrongType(param: "prompt", expected: "a string, a list of strings or a list of token ids", got: "missing") }
            input = .completion(prompts: try Self.prompts(prompt))
            logprobs = try f.integer("logprobs", in: 0...20)
            echo = try f.bool("echo") ?? false
            maxTokens = try f.integer("max_tokens", in: 1...Int.max)
        }
        stream = try f.bool("stream") ?? false
        if let options = object["stream_options"], !options.isNull {
            guard let members = options.objectValue else { throw ServerError.wrongType(param: "stream_options", expected: "an object", got: options.typeName) }
            includeUsage = try Fields(object: members, prefix: "stream_options.").bool("include_usage") ?? false
        }
        temperature = try f.number("temperature", in: 0...2)
        topP = try f.number("top_p", in: 0...1)
        if let p = topP, p == 0 { throw ServerError.invalidValue(param: "top_p", problem: "must be in (0, 1]; 1 turns it off") }
        topK = try f.integer("top_k", in: -1...Int(Int32.max))
        minP = try f.number("min_p", in: 0...1)
        repetitionPenalty = try f.number("repetition_penalty", in: 0...100)
        if let r = repetitionPenalty, r == 0 { throw ServerError.invalidValue(param: "repetition_penalty", problem: "must be > 0; 1 turns it off") }
        presencePenalty = try f.number("presence_penalty", in: -2...2) ?? 0
        frequencyPenalty = try f.number("frequency_penalty", in: -2...2) ?? 0
        n = try f.integer("n", in: 1...Self.maxChoices) ?? 1
        if let s = object["seed"], !s.isNull {
            guard let v = s.integer(as: Int64.self) else { throw ServerError.wrongType(param: "seed", expected: "an integer", got: s.typeName) }
            seed = UInt64(bitPattern: v)
        }
        if let s = object["stop"], !s.isNull {
            if let one = s.stringValue {
                stop = [one]
            } else if let list = s.arrayValue(of: \.stringValue) {
                stop = list
            } else {
                throw ServerError.wrongType(param: "stop", expected: "a string or a list of strings", got: s.typeName)
            }
            guard stop.count <= 16 else { throw ServerError.invalidValue(param: "stop", problem: "has \(stop.count) strings; give at most 16") }
            if stop.contains("") { throw ServerError.invalidValue(param: "stop", problem: "must not contain an empty string") }
        }
    }

    /// One chat message: role and content (a string, null, or a list of text parts), with
    /// `tool_calls`, `tool_call_id`, `name` and `reasoning_content` passed to the template.
    static func message(_ value: JSONValue, index: Int) throws -> ChatMessage {
        let at = "messages[\(index)]"
        guard let object = value.objectValue else { throw ServerError.wrongType(param: at, expected: "an object", got: value.typeName) }
        let f = Fields(object: object, prefix: at + ".")
        let role = try f.string("role", required: true) ?? ""
        guard ["system", "user", "assistant", "tool", "developer"].contains(role) else {
            throw ServerError.invalidValue(param: at + ".role", problem: "is '\(role)'; use system, user, assistant, tool or developer")
        }
        var content: ChatValue = .string("")
        if let c = object["content"] {
            switch c {
            case .string, .null: content = ChatValue(c)
            case .array(let parts):
                for (p, part) in parts.enumerated() {
                    guard part["type"]?.stringValue == "text", part["text"]?.stringValue != nil else {
                        throw ServerError.invalidValue(param: "\(at).content[\(p)]", problem: "must be {\"type\": \"text\", \"text\": ...}; only text parts are supported")
                    }
                }
                content = ChatValue(c)
            default:
                throw ServerError.wrongType(param: at + ".content", expected: "a string or a list of text parts", got: c.typeName)
            }
        } else if role != "assistant" {
            throw ServerError.wrongType(param: at + ".content", expected: "a string", got: "missing")
        }
        var message = ChatMessage(role: role, content: content)
        message.reasoningContent = try f.string("reasoning_content")
        if let calls = object["tool_calls"], !calls.isNull {
            guard let list = calls.arrayValue else { throw ServerError.wrongType(param: at + ".tool_calls", expected: "a list", got: calls.typeName) }
            message.toolCalls = list.map(ChatValue.init)
        }
        for key in ["tool_call_id", "name"] { if let v = try f.string(key) { message.extra[key] = .string(v) } }
        return message
    }

    static func prompts(_ value: JSONValue) throws -> [Prompt] {
        let expected = "a string, a list of strings or a list of token ids"
        if let text = value.stringValue { return [.text(text)] }
        guard let items = value.arrayValue, !items.isEmpty else {
            if value.arrayValue != nil { throw ServerError.invalidValue(param: "prompt", problem: "must not be an empty list") }
            throw ServerError.wrongType(param: "prompt", expected: expected, got: value.typeName)
        }
        if let texts = value.arrayValue(of: \.stringValue) {
            guard texts.count <= maxChoices else { throw ServerError.invalidValue(param: "prompt", problem: "has \(texts.count) prompts; give at most \(maxChoices)") }
            return texts.map(Prompt.text)
        }
        if let ids = value.arrayValue(of: { $0.integer(as: Int32.self) }) {
            guard ids.allSatisfy({ $0 >= 0 }) else { throw ServerError.invalidValue(param: "prompt", problem: "holds a negative token id") }
            return [.tokens(ids)]
        }
        throw ServerError.wrongType(param: "prompt", expected: expected, got: "a list of mixed values")
    }
}

/// Typed reads of an object's fields, throwing `ServerError` with the field's name.
struct Fields {
    let object: JSONObject
    var prefix = ""

    func present(_ key: String) -> JSONValue? {
        guard let v = object[key], !v.isNull else { return nil }
        return v
    }

    func string(_ key: String, required: Bool = false) throws -> String? {
        guard let v = present(key) else {
            if required { throw ServerError.wrongType(param: prefix + key, expected: "a string", got: "missing") }
            return nil
        }
        guard let s = v.stringValue else { throw ServerError.wrongType(param: prefix + key, expected: "a string", got: v.typeName) }
        return s
    }

    func bool(_ key: String) throws -> Bool? {
        guard let v = present(key) else { return nil }
        guard let b = v.boolValue else { throw ServerError.wrongType(param: prefix + key, expected: "true or false", got: v.typeName) }
        return b
    }

    func number(_ key: String, in range: ClosedRange<Double>) throws -> Double? {
        guard let v = present(key) else { return nil }
        guard let d = v.doubleValue else { throw ServerError.wrongType(param: prefix + key, expected: "a number", got: v.typeName) }
        guard range.contains(d) else {
            throw ServerError.invalidValue(param: prefix + key, problem: "is \(d); it must be from \(range.lowerBound) to \(range.upperBound)")
        }
        return d
    }

    func integer(_ key: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let v = present(key) else { return nil }
        if case .bigInteger(let text) = v {
            throw ServerError.invalidValue(param: prefix + key, problem: "is \(text), beyond any limit this server accepts")
        }
        guard let i = v.intValue else { throw ServerError.wrongType(param: prefix + key, expected: "an integer", got: v.typeName) }
        guard range.contains(i) else {
            let upper = range.upperBound == Int.max ? "" : " to \(range.upperBound)"
            throw ServerError.invalidValue(param: prefix + key, problem: "is \(i); it must be \(range.upperBound == Int.max ? "at least \(range.lowerBound)" : "from \(range.lowerBound)\(upper)")")
        }
        return i
    }
}
