import Foundation
import TailorTokenizers

/// LLaMA-Factory's `template:` formats for the model families Tailor trains, encoded as
/// LLaMA-Factory encodes them: each message is a list of slots (text with one `{{content}}`, BOS,
/// EOS), every text slot is tokenized on its own (`add_special_tokens=False`), and the ids are
/// joined; a turn's prompt (prefix, system, user) is masked and its reply (assistant slots) trained.
/// Tokenizing slot by slot is why these are not Jinja templates: a SentencePiece tokenizer puts a
/// word-start mark at every slot's start, which one rendering of the whole text would not.
///
/// Names Tailor's built-in templates also use (alpaca, chatml, qwen, llama3, llama2, mistral,
/// deepseek) mean Tailor's there; `llamafactory:NAME` picks LLaMA-Factory's for any name.
/// Tests/Fixtures/data/llamafactory_templates.json (scripts/reference/make_llamafactory_template_fixtures.py,
/// LLaMA-Factory's own code) checks every one token for token.
public struct LlamaFactoryTemplate: Sendable, Equatable {
    public enum Slot: Sendable, Equatable {
        /// Text; `{{content}}` in it is replaced by the message (its first occurrence, as LF does).
        case text(String)
        case bos, eos
    }

    public enum Style: Sendable, Equatable {
        /// Prefix and system before the first user message.
        case standard
        /// The system text goes inside the first user message (LF's `Llama2Template`).
        case systemInFirstUser
        /// Adds an empty thought (`<think>\n\n</think>\n\n`) to replies without one (LF's
        /// `ReasoningTemplate`): trained with `enable_thinking` (the default), else in the prompt.
        case reasoning
    }

    public let name: String
    public var prefix: [Slot] = []
    public var system: [Slot] = [.text("{{content}}")]
    public var user: [Slot] = [.text("{{content}}")]
    public var assistant: [Slot] = [.text("{{content}}"), .eos]
    public var defaultSystem = ""
    public var style = Style.standard

    static let thought = (open: "<think>\n", close: "\n</think>\n\n")
    /// The thought words without their newlines: a reply holding either has a thought of its own.
    static let thoughtTags = (open: "<think>", close: "</think>")

    /// The LLaMA-Factory template called `name` (`llamafactory:` prefix allowed), or nil.
    public static func named(_ name: String) -> LlamaFactoryTemplate? {
        let key = name.hasPrefix(namePrefix) ? String(name.dropFirst(namePrefix.count)) : name
        return all.first { $0.name == key }
    }

    /// The explicit prefix that picks LLaMA-Factory's template over a built-in of the same name.
    public static let namePrefix = "llamafactory:"

    /// Every name, as help texts and errors list them.
    public static var names: [String] { all.map(\.name) }
}

extension LlamaFactoryTemplate {
    /// A turn as pieces of text and special tokens, before tokenizing (also what `render` shows).
    struct Pieces {
        enum Piece { case text(String), token(Int32?, String) }
        var prompt: [Piece] = []
        var reply: [Piece] = []
        var replyIndex: Int
    }

    /// The turns of `conversation` as LLaMA-Factory forms them.
    /// - Throws: `DataError.template` when the messages do not alternate user / assistant after an
    ///   optional system message, or use another role (tools are not supported here yet).
    func pieces(_ conversation: Conversation, bos: (String, Int32)?, eos: (String, Int32)?,
                enableThinking: Bool, maskHistory: Bool) throws -> [Pieces] {
        var messages = conversation.messages
        var systemText = defaultSystem
        var offset = 0
        if messages.first?.role == .system {
            let given = messages.removeFirst().content
            if !given.isEmpty { systemText = given }
            offset = 1
        }
        guard !messages.isEmpty, messages.count % 2 == 0 else {
            throw DataError.template(conversation.source, message: "template \(name) (LLaMA-Factory's) needs user / assistant pairs after an optional system message; this conversation has \(messages.count) such messages")
        }
        for (i, m) in messages.enumerated() where m.role != (i % 2 == 0 ? .user : .assistant) {
            throw DataError.template(conversation.source, message: "template \(name) (LLaMA-Factory's): message \(i + offset + 1) is '\(m.role.rawValue)', expected '\(i % 2 == 0 ? "user" : "assistant")' (roles must alternate user / assistant)")
        }
        var contents = messages.map(\.content)
        if style == .reasoning {
            for i in stride(from: 1, to: contents.count, by: 2) {
                let isLast = i == contents.count - 1
                if !enableThinking || (maskHistory && !isLast) { contents[i] = Self.removeThought(contents[i]) }
            }
        }
        func expand(_ slots: [Slot], _ content: String) -> [Pieces.Piece] {
            slots.compactMap { slot in
                switch slot {
                case .text(let text):
                    guard let range = text.range(of: "{{content}}") else { return .text(text) }
                    return .text(text.replacingCharacters(in: range, with: content))
                case .bos: return bos.map { .token($0.1, $0.0) }
                case .eos: return eos.map { .token($0.1, $0.0) }
                }
            }
        }
        var turns: [Pieces] = []
        for pair in stride(from: 0, to: contents.count, by: 2) {
            var turn = Pieces(replyIndex: pair + 1 + offset)
            var question = contents[pair]
            if pair == 0 {
                turn.prompt = expand(prefix, "")
                if !systemText.isEmpty {
                    if style == .systemInFirstUser {
                        // LF takes the system formatter's first slot as text and prepends it.
                        if case .text(let text)? = expand(system, systemText).first { question = text + question }
                    } else {
                        turn.prompt += expand(system, systemText)
                    }
                }
            }
            turn.prompt += expand(user, question)
            turn.reply = expand(assistant, contents[pair + 1])
            if style == .reasoning, !(maskHistory && pair + 2 < contents.count) {
                let reply = contents[pair + 1]
                if !reply.contains(Self.thoughtTags.open), !reply.contains(Self.thoughtTags.close) {
                    let empty = Pieces.Piece.text(Self.thought.open + Self.thought.close)
                    if enableThinking { turn.reply.insert(empty, at: 0) } else { turn.prompt.append(empty) }
                }
            }
            turns.append(turn)
        }
        return turns
    }

    /// `content` without its `<think>\n…\n</think>\n\n` blocks and then leading newlines (LF's `remove_thought`).
    static func removeThought(_ content: String) -> String {
        var out = Substring(content)
        var result = ""
        while let open = out.range(of: thought.open), let close = out.range(of: thought.close, range: open.upperBound..<out.endIndex) {
            result += out[..<open.lowerBound]
            out = out[close.upperBound...]
        }
        result += out
        return String(result.drop { $0 == "\n" })
    }
}
