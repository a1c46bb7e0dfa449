import Foundation

/// A parsed chat template (the Jinja `chat_template` of a tokenizer_config.json), rendered the way
/// transformers' `apply_chat_template(..., tokenize=False)` renders it: jinja2 semantics with
/// `trim_blocks`, `lstrip_blocks`, `loopcontrols`, the `{% generation %}` tag, and the globals
/// `raise_exception`, `strftime_now`, `namespace`, `dict`, `range`.
///
/// Parse once, render many times: the value is immutable and `Sendable`.
///
///     let template = try ChatTemplate(source: config.chatTemplate, name: "Qwen2.5")
///     let chat = try template.render(messages: messages, addGenerationPrompt: true)
///     chat.text                 // the prompt
///     chat.generationRanges     // assistant spans, when the template has {% generation %}
public struct ChatTemplate: Sendable {
    public let source: String
    /// Shown in errors (`name:line:column`).
    public let name: String?
    /// True when the template marks assistant text with `{% generation %}` blocks.
    public let hasGenerationBlocks: Bool
    let nodes: [Node]
    private let normalised: [UInt8]

    /// Parses `source`. Throws `TemplateError` (`.syntax`, `.unknownFilter`, `.unknownTest`) with the
    /// line and column of the problem.
    public init(source: String, name: String? = nil) throws {
        self.source = source
        self.name = name
        let bytes = Lexer.normalise(source)
        self.normalised = bytes
        do {
            var lexer = Lexer(source: bytes)
            try lexer.tokenize()
            var parser = Parser(tokens: lexer.tokens)
            self.nodes = try parser.parseTemplate()
            if let unknown = parser.unknownOutsideConditionals.first {
                let what = unknown.kind == .unknownFilter ? "filter" : "test"
                throw RawTemplateError(unknown.kind, "No \(what) named '\(unknown.name)'.", offset: unknown.offset)
            }
        } catch let error as RawTemplateError {
            throw Self.locate(error, in: bytes, name: name)
        }
        self.hasGenerationBlocks = Self.containsGeneration(nodes)
    }

    /// Renders a conversation as transformers does.
    ///
    /// - `messages`: JSON objects (`role`, `content` as a string or a list of parts, `tool_calls`,
    ///   `reasoning_content`, `name`, `tool_call_id` ...). As in transformers, a message's
    ///   `reasoning_content` / `thinking` / `reasoning` is copied under both `reasoning_content`
    ///   and `thinking` so templates find it under the name they read.
    /// - `tools`, `documents`: passed as `none` when nil (templates test `tools is not none`).
    /// - `extra`: every other template variable: `bos_token`, `eos_token`, `enable_thinking`,
    ///   `date_string`, `custom_tools` ...
    /// - `now`: what `strftime_now` formats (local time zone), for reproducible dates.
    ///
    /// Throws `TemplateError`; `.raised` carries the template's `raise_exception` message.
    public func render(
        messages: [ChatValue], addGenerationPrompt: Bool = false, tools: [ChatValue]? = nil,
        documents: [ChatValue]? = nil, extra: [String: ChatValue] = [:], now: Date = Date()
    ) throws -> RenderedChat {
        var variables: [String: Value] = [:]
        for (key, value) in extra { variables[key] = Value(value) }
        var converted: [Value] = []
        for message in messages {
            guard case .object(let object) = message else {
                throw TemplateError(
                    kind: .type, message: "Chat messages should be dicts, but got \(message.jsonString).",
                    templateName: name)
            }
            converted.append(Value(.object(Self.aliasReasoning(object))))
        }
        variables["messages"] = .list(converted)
        variables["tools"] = tools.map { .list($0.map(Value.init)) } ?? Value.none
        variables["documents"] = documents.map { .list($0.map(Value.init)) } ?? Value.none
        variables["add_generation_prompt"] = .bool(addGenerationPrompt)
        return try render(values: variables, now: now)
    }

    /// Renders `ChatMessage`s; see `render(messages:addGenerationPrompt:tools:documents:extra:now:)`.
    public func render(
        messages: [ChatMessage], addGenerationPrompt: Bool = false, tools: [ChatValue]? = nil,
        documents: [ChatValue]? = nil, extra: [String: ChatValue] = [:], now: Date = Date()
    ) throws -> RenderedChat {
        try render(
            messages: messages.map(\.value), addGenerationPrompt: addGenerationPrompt, tools: tools,
            documents: documents, extra: extra, now: now)
    }

    /// Renders with exactly these variables (no `messages` conversion, nothing added).
    public func render(variables: [String: ChatValue], now: Date = Date()) throws -> RenderedChat {
        try render(values: variables.mapValues(Value.init), now: now)
    }

    private func render(values: [String: Value], now: Date) throws -> RenderedChat {
        let renderer = Renderer(variables: values, now: now)
        do {
            _ = try renderer.execute(nodes)
        } catch let error as RawTemplateError {
            throw Self.locate(error, in: normalised, name: name)
        }
        return RenderedChat(text: renderer.buffers[0].text, generationRanges: renderer.generationRanges)
    }

    /// transformers' `_alias_reasoning_fields`: `{"thinking": r, **message, "reasoning_content": r}`.
    static func aliasReasoning(_ message: ChatObject) -> ChatObject {
        let reasoning = ["reasoning_content", "thinking", "reasoning"].lazy.compactMap { key -> ChatValue? in
            guard let v = message[key], v != .null else { return nil }
            return v
        }.first
        guard let reasoning else { return message }
        var aliased = ChatObject()
        aliased["thinking"] = reasoning
        for (key, value) in message { aliased[key] = value }
        aliased["reasoning_content"] = reasoning
        return aliased
    }

    private static func containsGeneration(_ nodes: [Node]) -> Bool {
        nodes.contains { node in
            switch node {
            case .generation: return true
            case .if(let branches, let otherwise):
                return branches.contains { containsGeneration($0.1) } || containsGeneration(otherwise ?? [])
            case .for(_, _, _, let body, let otherwise, _): return containsGeneration(body) || containsGeneration(otherwise)
            case .setBlock(_, _, let body, _), .callBlock(_, _, let body, _), .filterBlock(_, let body, _),
                .with(_, let body):
                return containsGeneration(body)
            case .macro(let m): return containsGeneration(m.body)
            default: return false
            }
        }
    }

    static func locate(_ error: RawTemplateError, in source: [UInt8], name: String?) -> TemplateError {
        var line = 0
        var column = 0
        if let offset = error.offset {
            line = 1
            column = 1
            for byte in source[..<min(offset, source.count)] {
                if byte == 0x0A {
                    line += 1
                    column = 1
                } else if byte & 0xC0 != 0x80 {
                    column += 1
                }
            }
        }
        return TemplateError(kind: error.kind, message: error.message, line: line, column: column, templateName: name)
    }
}

/// The rendered prompt and, for templates with `{% generation %}` blocks, where the assistant text is.
public struct RenderedChat: Sendable, Equatable {
    public let text: String
    /// Spans produced inside `{% generation %}` blocks, in Unicode scalar offsets into `text`
    /// (Python string indices: the same numbers transformers' `generation_indices` holds).
    public let generationRanges: [Range<Int>]

    public init(text: String, generationRanges: [Range<Int>]) {
        self.text = text
        self.generationRanges = generationRanges
    }

    /// `generationRanges` as byte offsets into `text.utf8` (what byte-level tokenizers' offsets use).
    public var generationUTF8Ranges: [Range<Int>] {
        var byteOffsets: [Int] = [0]
        byteOffsets.reserveCapacity(text.unicodeScalars.count + 1)
        var total = 0
        for scalar in text.unicodeScalars {
            total += UTF8.width(scalar)
            byteOffsets.append(total)
        }
        return generationRanges.map { byteOffsets[$0.lowerBound]..<byteOffsets[$0.upperBound] }
    }

    /// The text of each generation span.
    public var generatedTexts: [String] {
        let scalars = Array(text.unicodeScalars)
        return generationRanges.map { PyString.string(scalars[$0]) }
    }
}
