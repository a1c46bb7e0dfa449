import TailorTokenizers

/// An Ollama Modelfile for an exported GGUF: `FROM ./file.gguf`, the chat template in Ollama's Go-template form,
/// `PARAMETER stop` for the end-of-turn markers, and `SYSTEM` when the chat template writes a default system prompt.
///
/// Written only for the chat formats whose Go-template form Tailor knows (ChatML — Qwen, SmolLM —, Llama 3 and
/// Mistral's [INST]), and
/// only when the model's Jinja template renders test conversations exactly as that Go template would (with and
/// without a system message, several turns); otherwise `make` says why not. The Go templates follow the structure of
/// Ollama's own library templates; Tailor has no Go or Ollama to run them, so the equality is checked against
/// `Format.render`, the same text written out by hand in Swift.
public struct OllamaModelfile: Sendable, Equatable {
    /// A chat format with a known Go-template form.
    public enum Format: String, Sendable, CaseIterable {
        case chatML = "ChatML"
        case llama3 = "Llama 3"
        /// Mistral instruct's `[INST] ... [/INST]` form as Tailor's builtin "mistral" template writes it: the system
        /// prompt and a blank line open the first user turn, a reply follows `[/INST]` directly and ends with `</s>`.
        case mistral = "Mistral"

        /// The TEMPLATE, in Ollama's Go-template syntax (`.System`, `.Messages` with `.Role` / `.Content`).
        public var goTemplate: String {
            switch self {
            case .chatML:
                return """
                {{- if .System }}<|im_start|>system
                {{ .System }}<|im_end|>
                {{ end }}
                {{- range $i, $_ := .Messages }}
                {{- $last := eq (len (slice $.Messages $i)) 1 }}
                {{- if eq .Role "user" }}<|im_start|>user
                {{ .Content }}<|im_end|>
                {{ else if eq .Role "assistant" }}<|im_start|>assistant
                {{ .Content }}{{ if not $last }}<|im_end|>
                {{ end }}
                {{- end }}
                {{- if and (ne .Role "assistant") $last }}<|im_start|>assistant
                {{ end }}
                {{- end }}
                """
            case .llama3:
                return """
                {{- if .System }}<|start_header_id|>system<|end_header_id|>

                {{ .System }}<|eot_id|>
                {{- end }}
                {{- range $i, $_ := .Messages }}
                {{- $last := eq (len (slice $.Messages $i)) 1 }}
                {{- if eq .Role "user" }}<|start_header_id|>user<|end_header_id|>

                {{ .Content }}<|eot_id|>
                {{- else if eq .Role "assistant" }}<|start_header_id|>assistant<|end_header_id|>

                {{ .Content }}{{ if not $last }}<|eot_id|>{{ end }}
                {{- end }}
                {{- if and (ne .Role "assistant") $last }}<|start_header_id|>assistant<|end_header_id|>

                {{ end }}
                {{- end }}
                """
            case .mistral:
                // Ollama's own mistral-instruct template ranges over .Messages the same way, but puts the system prompt
                // into the last user turn and a space before each reply, which this template's form does not. Ollama
                // keeps system messages in .Messages (and joins them into .System), so "first" is tracked in a variable.
                return """
                {{- $system := .System }}
                {{- range .Messages }}
                {{- if eq .Role "user" }}[INST] {{ if $system }}{{ $system }}

                {{ end }}{{ .Content }}[/INST]
                {{- $system = "" }}
                {{- else if eq .Role "assistant" }}{{ .Content }}</s>
                {{- end }}
                {{- end }}
                """
            }
        }

        /// What `goTemplate` renders for `.System`.
        func systemBlock(_ system: String) -> String {
            switch self {
            case .chatML: return "<|im_start|>system\n\(system)<|im_end|>\n"
            case .llama3: return "<|start_header_id|>system<|end_header_id|>\n\n\(system)<|eot_id|>"
            case .mistral: return "[INST] \(system)\n\n"
            }
        }

        /// What `goTemplate` renders for a system prompt and user / assistant turns ending with a user turn.
        func render(system: String?, turns: [(role: String, content: String)]) -> String {
            var text = system.map(systemBlock) ?? ""
            switch self {
            case .chatML:
                for turn in turns { text += "<|im_start|>\(turn.role)\n\(turn.content)<|im_end|>\n" }
                return text + "<|im_start|>assistant\n"
            case .llama3:
                for turn in turns { text += "<|start_header_id|>\(turn.role)<|end_header_id|>\n\n\(turn.content)<|eot_id|>" }
                return text + "<|start_header_id|>assistant<|end_header_id|>\n\n"
            case .mistral:
                // The system block is the first user turn's opening, not a block of its own.
                text = ""
                var system = system
                for turn in turns {
                    if turn.role == "user" {
                        text += "[INST] " + (system.map { "\($0)\n\n" } ?? "") + turn.content + "[/INST]"
                        system = nil
                    } else {
                        text += turn.content + "</s>"
                    }
                }
                return text
            }
        }

        /// `PARAMETER stop` values: the markers that end or start a turn.
        public var stops: [String] {
            switch self {
            case .chatML: return ["<|im_start|>", "<|im_end|>"]
            case .llama3: return ["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
            case .mistral: return ["[INST]", "[/INST]"]
            }
        }
    }

    public let format: Format
    /// The default system prompt the chat template writes when a conversation has none.
    public let system: String?
    /// The Modelfile's text.
    public let text: String

    /// The Modelfile for `gguf` (a file name beside it) of a model with `chatTemplate`, or why none is written.
    /// - Parameters:
    ///   - bosToken: the text of the BOS token; a template that writes it first is compared without it (llama.cpp
    ///     adds BOS itself, and Ollama's templates leave it out).
    public static func make(chatTemplate: String?, gguf: String, bosToken: String?, eosToken: String?) -> Result<OllamaModelfile, Refusal> {
        guard let chatTemplate else { return .failure(Refusal(reason: "the model has no chat template")) }
        guard let template = try? ChatTemplate(source: chatTemplate) else {
            return .failure(Refusal(reason: "its chat template does not parse"))
        }
        var extra: [String: ChatValue] = [:]
        if let bosToken { extra["bos_token"] = .string(bosToken) }
        if let eosToken { extra["eos_token"] = .string(eosToken) }
        func jinja(_ messages: [(role: String, content: String)]) -> String? {
            let values = messages.map { ChatMessage(role: $0.role, content: .string($0.content)) }
            guard var text = try? template.render(messages: values, addGenerationPrompt: true, extra: extra).text else { return nil }
            if let bosToken, !bosToken.isEmpty, text.hasPrefix(bosToken) { text.removeFirst(bosToken.count) }
            return text
        }
        let user = [(role: "user", content: "What is 2+2?")]
        let turns = user + [(role: "assistant", content: "4."), (role: "user", content: "And 3+3?")]
        let system = "You answer briefly."
        for format in Format.allCases {
            // The default system prompt: what the template writes before the first user turn when given none.
            guard let bare = jinja(user) else { continue }
            let withoutSystem = format.render(system: nil, turns: user)
            var defaultSystem: String?
            if bare != withoutSystem {
                let marks = format.systemBlock("\u{1}").components(separatedBy: "\u{1}")
                let head = bare.hasSuffix(withoutSystem) ? String(bare.dropLast(withoutSystem.count)) : ""
                guard marks.count == 2, head.count >= marks[0].count + marks[1].count,
                      head.hasPrefix(marks[0]), head.hasSuffix(marks[1]) else { continue }
                defaultSystem = String(head.dropFirst(marks[0].count).dropLast(marks[1].count))
            }
            let cases: [(system: String?, turns: [(role: String, content: String)])] = [
                (nil, user), (nil, turns), (system, user), (system, turns),
            ]
            let agrees = cases.allSatisfy { c in
                let messages = (c.system.map { [(role: "system", content: $0)] } ?? []) + c.turns
                return jinja(messages) == format.render(system: c.system ?? defaultSystem, turns: c.turns)
            }
            guard agrees else { continue }
            return .success(OllamaModelfile(format: format, system: defaultSystem, text: text(format, gguf: gguf, system: defaultSystem)))
        }
        return .failure(Refusal(reason: "its chat template is not one whose Ollama Go-template form Tailor knows "
            + "(\(Format.allCases.map(\.rawValue).joined(separator: ", ")), rendering test conversations exactly as that form does)"))
    }

    static func text(_ format: Format, gguf: String, system: String?) -> String {
        var lines = ["FROM ./\(gguf)", "", "TEMPLATE \"\"\"\(format.goTemplate)\"\"\"", ""]
        lines += format.stops.map { "PARAMETER stop \"\($0)\"" }
        if let system { lines += ["", "SYSTEM \"\"\"\(system)\"\"\""] }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Why no Modelfile was written.
    public struct Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        public let reason: String
        public var description: String { "no Ollama Modelfile written: \(reason)" }
    }
}
