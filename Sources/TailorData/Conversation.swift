import TailorTokenizers

/// Who speaks a message. Dataset spellings (`human`, `gpt`, `observation`, `function_call` ...)
/// are read with `Role.parse`.
public enum Role: String, Sendable, Hashable, CaseIterable {
    case system, user, assistant, tool

    /// The role for a dataset's spelling, or nil when unknown. `function_call` is an assistant
    /// message carrying a tool call (sharegpt); `observation` / `function` are tool results.
    public static func parse(_ raw: String) -> Role? {
        switch raw.lowercased() {
        case "system": return .system
        case "user", "human", "question", "prompter": return .user
        case "assistant", "gpt", "bot", "model", "chatgpt", "answer", "function_call": return .assistant
        case "tool", "observation", "function", "ipython", "tool_response": return .tool
        default: return nil
        }
    }
}

/// One message of a conversation.
public struct Message: Sendable, Hashable {
    public var role: Role
    public var content: String
    /// The model's reasoning (`reasoning_content` / `thinking`), rendered by templates that support it.
    public var reasoning: String?
    /// OpenAI-style tool calls (`[{"type": "function", "function": {"name", "arguments"}}]`).
    public var toolCalls: [ChatValue]?
    /// Other fields handed to the template as they are (`name`, `tool_call_id` ...).
    public var extra: ChatObject
    /// Whether this assistant message is trained on (OpenAI `weight`, LLaMA-Factory `loss_weight`);
    /// nil = decided by the encoder's options.
    public var train: Bool?

    public init(role: Role, content: String, reasoning: String? = nil, toolCalls: [ChatValue]? = nil,
                extra: ChatObject = [:], train: Bool? = nil) {
        self.role = role
        self.content = content
        self.reasoning = reasoning
        self.toolCalls = toolCalls
        self.extra = extra
        self.train = train
    }

    /// The message as a chat template reads it.
    public var chatValue: ChatValue {
        ChatMessage(role: role.rawValue, content: .string(content), reasoningContent: reasoning,
                    toolCalls: toolCalls, extra: extra).value
    }
}

/// One training sample, whatever file format it came from.
///
/// - chat (alpaca, sharegpt, messages, column templates): `messages`, optionally `tools`;
/// - plain text (continued pre-training): `text`, no messages;
/// - preference (DPO): `messages` is the prompt plus the chosen reply, `rejected` the other reply
///   (the message(s) that replace the messages after the prompt's `promptCount`).
public struct Conversation: Sendable, Hashable {
    public var messages: [Message]
    public var tools: [ChatValue]?
    public var text: String?
    public var rejected: [Message]?
    /// For a preference record: how many of `messages` are the prompt (the rest is the chosen
    /// reply). nil: the prompt is `messages` without its trailing assistant messages.
    public var promptCount: Int?
    /// KTO's unpaired label (a boolean `label` field): whether the last reply is desirable; nil otherwise.
    public var desirable: Bool?
    /// Rendered without the chat template, contents laid end to end (column prompt templates).
    public var raw: Bool
    public var source: SourceLocation

    public init(messages: [Message], tools: [ChatValue]? = nil, text: String? = nil, rejected: [Message]? = nil,
                raw: Bool = false, source: SourceLocation) {
        self.messages = messages
        self.tools = tools
        self.text = text
        self.rejected = rejected
        self.raw = raw
        self.source = source
    }

    public var isPlainText: Bool { text != nil }
    public var isPreference: Bool { rejected != nil }

    /// A KTO record's prompt and completion (nil unless it has a `desirable` label): the prompt is
    /// the first `promptCount` messages, or the messages before the trailing assistant ones.
    public var completionParts: (prompt: [Message], completion: [Message])? {
        guard desirable != nil else { return nil }
        var split = min(promptCount ?? messages.count, messages.count)
        if promptCount == nil { while split > 0, messages[split - 1].role == .assistant { split -= 1 } }
        return (Array(messages[..<split]), Array(messages[split...]))
    }

    /// A preference record's prompt, chosen and rejected messages (nil for other records).
    public var preferenceParts: (prompt: [Message], chosen: [Message], rejected: [Message])? {
        guard let rejected else { return nil }
        var split = min(promptCount ?? messages.count, messages.count)
        if promptCount == nil { while split > 0, messages[split - 1].role == .assistant { split -= 1 } }
        return (Array(messages[..<split]), Array(messages[split...]), rejected)
    }

    /// All text of the sample (for hashing, length filters and dedup).
    public var allText: String {
        if let text { return text }
        var parts = messages.map { $0.role.rawValue + "\u{1F}" + ($0.reasoning ?? "") + "\u{1F}" + $0.content }
        if let rejected { parts += rejected.map { "rejected\u{1F}" + $0.content } }
        return parts.joined(separator: "\u{1E}")
    }
}
