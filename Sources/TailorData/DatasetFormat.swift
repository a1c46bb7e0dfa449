import Foundation
import TailorTokenizers

/// The record layouts TailorData reads. `auto` looks at the first record's fields.
public enum DatasetFormat: String, Sendable, Hashable, CaseIterable {
    case auto
    /// `instruction`, `input`, `output`, optional `system` and `history` ([[user, assistant], ...]).
    case alpaca
    /// `conversations` of `{from, value}` with human/gpt/system/function_call/observation, optional `system`, `tools`.
    case sharegpt
    /// OpenAI `messages` of `{role, content}` (content a string or text parts), `tool_calls`, `tools`.
    case messages
    /// `prompt` + `chosen` + `rejected` (strings or message lists), or LLaMA-Factory's
    /// `conversations` + `chosen` + `rejected`, or alpaca fields with `chosen` / `rejected`.
    case preference
    /// `text` (continued pre-training); every token trained.
    case text
    /// Any columns, formatted by a `ColumnTemplate`.
    case columns
    /// Pre-tokenized `input_ids`, optional `labels` and `attention_mask` (see `TokenizedRecord`):
    /// no chat template, no tokenizer. `DatasetLoader` puts these in `LoadedDataset.tokenized`.
    case tokenized

    /// Guesses the format from one record's fields, or nil.
    public static func detect(_ record: ChatValue) -> DatasetFormat? {
        guard case .object(let o) = record else { return nil }
        let keys = Set(o.keys)
        // Token ids win: tokenized datasets often keep the text columns they were made from.
        if keys.contains(TokenizedRecord.idsField) || keys.contains(TokenizedRecord.chosenIdsField) || keys.contains("completion_ids") {
            return .tokenized
        }
        // Either reply marks a preference record, so one without the other is named as missing;
        // TRL's unpaired (KTO) records are prompt + completion + label.
        if keys.contains("chosen") || keys.contains("rejected") || (keys.contains("completion") && keys.contains("label")) {
            return .preference
        }
        if keys.contains("instruction") && (keys.contains("output") || keys.contains("response")) { return .alpaca }
        for key in ["conversations", "messages"] {
            if case .array(let list)? = o[key] {
                if case .object(let first)? = list.first {
                    if first["from"] != nil { return .sharegpt }
                    if first["role"] != nil { return .messages }
                }
                return key == "conversations" ? .sharegpt : .messages
            }
        }
        if keys.contains("text") { return .text }
        // A conversation field that is not a list: its format, so the converter names the field and its type.
        if let v = o["messages"], v != .null { return .messages }
        if let v = o["conversations"], v != .null { return .sharegpt }
        return nil
    }
}

/// A prompt template over arbitrary columns: `{Column}` is replaced by that field's text
/// (`{{` and `}}` stand for braces). The prompt is masked, the response trained, and the
/// sample is rendered raw (no chat template) unless `useChatTemplate` is set.
///
///     // seed 000: medical chain-of-thought
///     ColumnTemplate(prompt: "诊断问题:{Question}\n详细分析:{Complex_CoT}\n### 答案:\n", response: "{Response}")
public struct ColumnTemplate: Sendable, Hashable {
    public var system: String?
    public var prompt: String
    public var response: String
    /// Render as a user/assistant chat with the model's template instead of raw text.
    public var useChatTemplate: Bool

    public init(system: String? = nil, prompt: String, response: String, useChatTemplate: Bool = false) {
        self.system = system
        self.prompt = prompt
        self.response = response
        self.useChatTemplate = useChatTemplate
    }

    /// The column names the templates use.
    public var columns: [String] {
        [system ?? "", prompt, response].flatMap { Self.placeholders($0).map(\.name) }
    }

    static func placeholders(_ template: String) -> [(range: Range<String.Index>, name: String)] {
        var out: [(Range<String.Index>, String)] = []
        var i = template.startIndex
        while i < template.endIndex {
            if template[i] == "{" {
                let next = template.index(after: i)
                if next < template.endIndex, template[next] == "{" { i = template.index(after: next); continue }
                if let close = template[next...].firstIndex(of: "}") {
                    let name = String(template[next..<close])
                    if !name.isEmpty, !name.contains("{") {
                        out.append((i..<template.index(after: close), name))
                        i = template.index(after: close)
                        continue
                    }
                }
            }
            i = template.index(after: i)
        }
        return out
    }

    func fill(_ template: String, _ fields: ChatObject, at: SourceLocation) throws -> String {
        var out = ""
        var last = template.startIndex
        for p in Self.placeholders(template) {
            out += template[last..<p.range.lowerBound]
            guard let v = fields[p.name] else { throw DataError.missingField(at, field: p.name) }
            out += try RecordConverter.text(v, field: p.name, at: at)
            last = p.range.upperBound
        }
        out += template[last...]
        return out.replacingOccurrences(of: "{{", with: "{").replacingOccurrences(of: "}}", with: "}")
    }
}

/// Turns records into conversations, throwing `DataError` with the field path at fault.
public struct RecordConverter: Sendable {
    public var format: DatasetFormat
    public var columnTemplate: ColumnTemplate?

    public init(format: DatasetFormat, columnTemplate: ColumnTemplate? = nil) {
        self.format = format
        self.columnTemplate = columnTemplate
    }

    public func convert(_ record: Record) throws -> Conversation {
        let at = record.source
        guard case .object(let o) = record.value else {
            throw DataError.wrongType(at, field: "(record)", expected: "a JSON object", found: Self.typeName(record.value))
        }
        // KTO's unpaired records (LLaMA-Factory's `messages` + boolean `label`): kept apart so that no
        // stage trains them as what they are not.
        func unpaired(_ conversation: Conversation) -> Conversation {
            var conversation = conversation
            if case .bool(let label)? = o["label"] { conversation.desirable = label }
            return conversation
        }
        switch format {
        case .alpaca: return unpaired(try alpaca(o, at: at))
        case .sharegpt: return unpaired(try sharegpt(o, key: o["conversations"] != nil ? "conversations" : "messages", at: at))
        case .messages: return unpaired(try messages(o, key: o["messages"] != nil ? "messages" : "conversations", at: at))
        case .preference: return try preference(o, at: at)
        case .text:
            let key = o["text"] != nil ? "text" : "content"
            guard let v = o[key] else { throw DataError.missingField(at, field: "text") }
            return Conversation(messages: [], text: try Self.text(v, field: key, at: at), source: at)
        case .columns:
            guard let t = columnTemplate else {
                throw DataError.invalidOption(name: "format", reason: "'columns' needs a prompt template (--prompt-template / --response-template)")
            }
            var msgs: [Message] = []
            if let s = t.system { msgs.append(Message(role: .system, content: try t.fill(s, o, at: at))) }
            msgs.append(Message(role: .user, content: try t.fill(t.prompt, o, at: at)))
            msgs.append(Message(role: .assistant, content: try t.fill(t.response, o, at: at)))
            return Conversation(messages: msgs, raw: !t.useChatTemplate, source: at)
        case .tokenized:
            throw DataError.invalidOption(name: "format", reason: "\(at): a tokenized record holds token ids, not a conversation; read it with DatasetLoader (LoadedDataset.tokenized) or TokenizedRecord.sample")
        case .auto:
            guard let f = DatasetFormat.detect(record.value) else {
                throw DataError.unknownFormat(path: at.file, reason: "line \(at.line): cannot tell the format from fields \(o.keys)")
            }
            return try RecordConverter(format: f, columnTemplate: columnTemplate).convert(record)
        }
    }

    // MARK: Formats

    func alpaca(_ o: ChatObject, at: SourceLocation) throws -> Conversation {
        var msgs: [Message] = []
        if let s = o["system"], s != .null {
            let text = try Self.text(s, field: "system", at: at)
            if !text.isEmpty { msgs.append(Message(role: .system, content: text)) }
        }
        if let h = o["history"], h != .null {
            guard case .array(let turns) = h else {
                throw DataError.wrongType(at, field: "history", expected: "a list of [user, assistant] pairs", found: Self.typeName(h))
            }
            for (i, turn) in turns.enumerated() {
                guard case .array(let pair) = turn, pair.count == 2 else {
                    throw DataError.wrongType(at, field: "history[\(i)]", expected: "a [user, assistant] pair", found: Self.typeName(turn))
                }
                msgs.append(Message(role: .user, content: try Self.text(pair[0], field: "history[\(i)][0]", at: at)))
                msgs.append(Message(role: .assistant, content: try Self.text(pair[1], field: "history[\(i)][1]", at: at)))
            }
        }
        msgs.append(Message(role: .user, content: try alpacaPrompt(o, at: at)))
        let outKey = o["output"] != nil ? "output" : "response"
        guard let out = o[outKey] else { throw DataError.missingField(at, field: "output") }
        msgs.append(Message(role: .assistant, content: try Self.text(out, field: outKey, at: at)))
        return Conversation(messages: msgs, source: at)
    }

    /// LLaMA-Factory's join: instruction, then a newline and the input when there is one.
    func alpacaPrompt(_ o: ChatObject, at: SourceLocation) throws -> String {
        guard let ins = o["instruction"] else { throw DataError.missingField(at, field: "instruction") }
        var prompt = try Self.text(ins, field: "instruction", at: at)
        if let inp = o["input"], inp != .null {
            let input = try Self.text(inp, field: "input", at: at)
            if !input.isEmpty { prompt += "\n" + input }
        }
        return prompt
    }

    func sharegpt(_ o: ChatObject, key: String, at: SourceLocation) throws -> Conversation {
        var msgs: [Message] = []
        if let s = o["system"], s != .null {
            let text = try Self.text(s, field: "system", at: at)
            if !text.isEmpty { msgs.append(Message(role: .system, content: text)) }
        }
        msgs += try shareGPTMessages(o[key], field: key, at: at)
        return Conversation(messages: msgs, tools: try Self.tools(o["tools"], at: at), source: at)
    }

    func shareGPTMessages(_ value: ChatValue?, field: String, at: SourceLocation) throws -> [Message] {
        guard let value else { throw DataError.missingField(at, field: field) }
        let list: [ChatValue]
        switch value {
        case .array(let l): list = l
        case .object: list = [value]
        default: throw DataError.wrongType(at, field: field, expected: "a list of {from, value} messages", found: Self.typeName(value))
        }
        return try list.enumerated().map { i, m in try shareGPTMessage(m, field: "\(field)[\(i)]", at: at) }
    }

    func shareGPTMessage(_ m: ChatValue, field: String, at: SourceLocation) throws -> Message {
        guard case .object(let mo) = m else {
            throw DataError.wrongType(at, field: field, expected: "a {from, value} object", found: Self.typeName(m))
        }
        guard let fromValue = mo["from"] ?? mo["role"] else { throw DataError.missingField(at, field: "\(field).from") }
        let from = try Self.text(fromValue, field: "\(field).from", at: at)
        guard let role = Role.parse(from) else { throw DataError.unknownRole(at, field: "\(field).from", role: from) }
        guard let v = mo["value"] ?? mo["content"] else { throw DataError.missingField(at, field: "\(field).value") }
        let text = try Self.content(v, field: "\(field).value", at: at)
        if from.lowercased() == "function_call" {
            return Message(role: .assistant, content: "", toolCalls: [Self.toolCall(fromJSONText: text)])
        }
        return Message(role: role, content: text, train: Self.weight(mo))
    }

    func messages(_ o: ChatObject, key: String, at: SourceLocation) throws -> Conversation {
        guard let value = o[key] else { throw DataError.missingField(at, field: key) }
        guard case .array(let list) = value else {
            throw DataError.wrongType(at, field: key, expected: "a list of {role, content} messages", found: Self.typeName(value))
        }
        var msgs: [Message] = []
        if let s = o["system"], s != .null { msgs.append(Message(role: .system, content: try Self.text(s, field: "system", at: at))) }
        for (i, m) in list.enumerated() { msgs.append(try openAIMessage(m, field: "\(key)[\(i)]", at: at)) }
        return Conversation(messages: msgs, tools: try Self.tools(o["tools"], at: at), source: at)
    }

    func openAIMessage(_ m: ChatValue, field: String, at: SourceLocation) throws -> Message {
        guard case .object(let mo) = m else {
            throw DataError.wrongType(at, field: field, expected: "a {role, content} object", found: Self.typeName(m))
        }
        if mo["role"] == nil, mo["from"] != nil { return try shareGPTMessage(m, field: field, at: at) }
        guard let roleValue = mo["role"] else { throw DataError.missingField(at, field: "\(field).role") }
        let raw = try Self.text(roleValue, field: "\(field).role", at: at)
        guard let role = Role.parse(raw) else { throw DataError.unknownRole(at, field: "\(field).role", role: raw) }
        var toolCalls: [ChatValue]? = nil
        if let tc = mo["tool_calls"], tc != .null {
            guard case .array(let calls) = tc else {
                throw DataError.wrongType(at, field: "\(field).tool_calls", expected: "a list", found: Self.typeName(tc))
            }
            toolCalls = calls
        }
        let content: String
        if let c = mo["content"], c != .null { content = try Self.content(c, field: "\(field).content", at: at) }
        else if toolCalls != nil { content = "" }
        else { throw DataError.missingField(at, field: "\(field).content") }
        var reasoning: String? = nil
        for k in ["reasoning_content", "thinking", "reasoning"] {
            if let r = mo[k], r != .null { reasoning = try Self.text(r, field: "\(field).\(k)", at: at); break }
        }
        var extra = ChatObject()
        for k in ["name", "tool_call_id"] { if let v = mo[k], v != .null { extra[k] = v } }
        return Message(role: role, content: content, reasoning: reasoning, toolCalls: toolCalls, extra: extra,
                       train: Self.weight(mo))
    }

    func preference(_ o: ChatObject, at: SourceLocation) throws -> Conversation {
        var prompt: [Message]
        var tools: [ChatValue]? = nil
        if let p = o["prompt"] {
            if case .array = p { prompt = try messageList(p, field: "prompt", at: at) }
            else { prompt = [Message(role: .user, content: try Self.text(p, field: "prompt", at: at))] }
        } else if o["conversations"] != nil || o["messages"] != nil {
            let key = o["conversations"] != nil ? "conversations" : "messages"
            let conv = try sharegpt(o, key: key, at: at)
            prompt = conv.messages
            tools = conv.tools
        } else if o["instruction"] != nil {
            prompt = [Message(role: .user, content: try alpacaPrompt(o, at: at))]
            if let s = o["system"], case .string(let text) = s, !text.isEmpty { prompt.insert(Message(role: .system, content: text), at: 0) }
        } else if o["completion"] != nil {
            throw DataError.missingField(at, field: "prompt")
        } else if case .array? = o["chosen"], case .array? = o["rejected"] {
            prompt = []  // TRL's implicit prompt, taken from the replies below
        } else {
            throw DataError.missingField(at, field: "prompt")
        }
        func reply(_ key: String) throws -> [Message] {
            guard let v = o[key] else { throw DataError.missingField(at, field: key) }
            switch v {
            case .string(let s): return [Message(role: .assistant, content: s)]
            case .object: return [try shareGPTMessage(v, field: key, at: at)]
            case .array: return try messageList(v, field: key, at: at)
            default: throw DataError.wrongType(at, field: key, expected: "a string, a message or a list of messages", found: Self.typeName(v))
            }
        }
        if o["completion"] != nil, o["chosen"] == nil, o["rejected"] == nil {
            // TRL's unpaired record (KTO): one completion and whether it is desirable.
            guard case .bool(let label)? = o["label"] else {
                throw DataError.wrongType(at, field: "label", expected: "true (desirable) or false (undesirable)",
                                          found: o["label"].map(Self.typeName) ?? "nothing")
            }
            var conversation = Conversation(messages: prompt + (try reply("completion")), tools: tools, source: at)
            conversation.promptCount = prompt.count
            conversation.desirable = label
            return conversation
        }
        var chosen = try reply("chosen"), rejected = try reply("rejected")
        if o["prompt"] == nil, prompt.isEmpty {
            // TRL's implicit prompt (extract_prompt): chosen and rejected are whole conversations,
            // and the messages they share at the start are the prompt.
            var shared = 0
            while shared < min(chosen.count, rejected.count) - 1, chosen[shared] == rejected[shared] { shared += 1 }
            prompt = Array(chosen[..<shared])
            chosen.removeFirst(shared)
            rejected.removeFirst(shared)
        }
        var conversation = Conversation(messages: prompt + chosen, tools: tools, rejected: rejected, source: at)
        conversation.promptCount = prompt.count
        return conversation
    }

    func messageList(_ v: ChatValue, field: String, at: SourceLocation) throws -> [Message] {
        guard case .array(let list) = v else {
            throw DataError.wrongType(at, field: field, expected: "a list of messages", found: Self.typeName(v))
        }
        return try list.enumerated().map { i, m in try openAIMessage(m, field: "\(field)[\(i)]", at: at) }
    }

    // MARK: Field helpers

    /// A field's text: a string, a number, or a list of text parts (`{"type": "text", "text"|"value": ...}`).
    static func text(_ v: ChatValue, field: String, at: SourceLocation) throws -> String {
        switch v {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .double(let d): return String(d)
        case .array(let parts):
            var out = ""
            for (i, p) in parts.enumerated() {
                switch p {
                case .string(let s): out += s
                case .object(let po):
                    if let t = po["text"] ?? po["value"], case .string(let s) = t { out += s }
                    else { throw DataError.wrongType(at, field: "\(field)[\(i)]", expected: "a text part {\"type\": \"text\", \"text\": ...}", found: typeName(p)) }
                default: throw DataError.wrongType(at, field: "\(field)[\(i)]", expected: "a string or text part", found: typeName(p))
                }
            }
            return out
        default: throw DataError.wrongType(at, field: field, expected: "a string", found: typeName(v))
        }
    }

    /// A message's content: a string, or a list of text parts (`{"type": "text", "text": ...}`, as OpenAI
    /// and transformers' multimodal messages write them), joined. Anything else is an error rather than
    /// text made up for it: a number (`42`, which a template would print), a list of bare strings (which
    /// no chat template reads as text), a part of another type (an image).
    static func content(_ v: ChatValue, field: String, at: SourceLocation) throws -> String {
        switch v {
        case .string(let s): return s
        case .array(let parts):
            var out = ""
            for (i, part) in parts.enumerated() {
                let place = "\(field)[\(i)]"
                guard case .object(let po) = part else {
                    let bare = part.stringValue != nil ? " (a list of bare strings is no message content; join them into one string)" : ""
                    throw DataError.wrongType(at, field: place, expected: "a text part {\"type\": \"text\", \"text\": ...}" + bare,
                                              found: typeName(part))
                }
                if let type = po["type"], type != .string("text") {
                    throw DataError.wrongType(at, field: "\(place).type", expected: "\"text\" (Tailor trains on text parts only)",
                                              found: type.stringValue.map { "\"\($0)\"" } ?? typeName(type))
                }
                guard let t = po["text"] ?? po["value"], case .string(let s) = t else {
                    throw DataError.missingField(at, field: "\(place).text")
                }
                out += s
            }
            return out
        case .int, .double:
            let number = (try? text(v, field: field, at: at)) ?? ""
            throw DataError.wrongType(at, field: field, expected: "a string (write a number meant as text in quotes: \"\(number)\")",
                                      found: "the number \(number)")
        default:
            throw DataError.wrongType(at, field: field, expected: "a string or a list of text parts {\"type\": \"text\", \"text\": ...}",
                                      found: typeName(v))
        }
    }

    static func typeName(_ v: ChatValue) -> String {
        switch v {
        case .null: return "null"
        case .bool: return "a boolean"
        case .int, .double: return "a number"
        case .string: return "a string"
        case .array: return "a list"
        case .object: return "an object"
        }
    }

    static func weight(_ o: ChatObject) -> Bool? {
        for k in ["weight", "loss_weight", "train"] {
            switch o[k] {
            case .int(let i)?: return i != 0
            case .double(let d)?: return d != 0
            case .bool(let b)?: return b
            default: continue
            }
        }
        return nil
    }

    /// sharegpt's `tools`: a JSON string or a list.
    static func tools(_ v: ChatValue?, at: SourceLocation) throws -> [ChatValue]? {
        guard let v, v != .null else { return nil }
        switch v {
        case .array(let l): return l.isEmpty ? nil : l
        case .string(let s):
            if s.trimmingCharacters(in: .whitespaces).isEmpty { return nil }
            guard let parsed = try? ChatValue(json: s) else {
                throw DataError.wrongType(at, field: "tools", expected: "a JSON list of tool schemas", found: "text that is not JSON")
            }
            if case .array(let l) = parsed { return l.isEmpty ? nil : l }
            return [parsed]
        default: throw DataError.wrongType(at, field: "tools", expected: "a list of tool schemas", found: typeName(v))
        }
    }

    /// A sharegpt `function_call` value (`{"name", "arguments"}` as JSON text) as an OpenAI tool call.
    static func toolCall(fromJSONText text: String) -> ChatValue {
        var function = ChatObject()
        if let parsed = try? ChatValue(json: text), case .object(let o) = parsed {
            function["name"] = o["name"] ?? .string("")
            var args = o["arguments"] ?? .object([:])
            if case .string(let s) = args, let a = try? ChatValue(json: s) { args = a }
            function["arguments"] = args
        } else {
            function["name"] = .string("")
            function["arguments"] = .string(text)
        }
        return .object(["type": "function", "function": .object(function)])
    }
}
