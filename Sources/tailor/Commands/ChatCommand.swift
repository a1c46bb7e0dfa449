import ArgumentParser
import Foundation
import TailorInference
import TailorTokenizers

struct ChatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Talk to a model (and its LoRA adapter) in the terminal, with its chat template.",
        discussion: """
        Type a message and press Enter; the answer streams as it is generated. The conversation is kept
        and sent with each turn. Commands:
          /reset                      forget the conversation (the system message stays)
          /system TEXT                set the system message (and forget the conversation)
          /params [name=value ...]    show or change sampling: temperature, top_k, top_p, min_p,
                                      repetition_penalty, no_repeat_ngram_size, max_new_tokens,
                                      seed, do_sample
          /help                       this list
          /exit, /quit, Ctrl-D        leave
        With --compare (needs --adapter), each message is answered by the base model and then by the
        adapter, each keeping its own conversation; both answers stream, then show side by side.
        """
    )

    @OptionGroup var options: GenerationOptions

    @Option(help: "System message. Default: none.")
    var system: String?

    @Flag(help: "Answer every message twice, the base model then the adapter, and show both side by side. Default: off.")
    var compare = false

    @Option(name: .customLong("template-var"), help: "A chat-template variable as key=value, e.g. enable_thinking=false (repeatable). Default: none.")
    var templateVars: [String] = []

    func validate() throws {
        try options.validateFlags()
        if compare && options.adapter == nil { throw ValidationError("--compare needs --adapter (the fine-tuned answer to compare with the base)") }
    }

    func run() async throws {
        let loaded = try await options.load()
        guard loaded.template != nil else {
            throw ValidationError("\(options.model) has no chat template (neither chat_template.jinja nor a chat_template in tokenizer_config.json); use `tailor generate --raw` for plain text")
        }
        var parameters = try options.parameters(defaults: loaded.defaults)
        let extra = try templateVariables(templateVars)
        var systemMessage = system
        let sides: [(label: String?, adapter: AdapterSelection)] = compare
            ? [("base", .base), ("adapter", .named("adapter"))]
            : [(nil, options.adapter == nil ? .base : .named("adapter"))]
        var histories = Array(repeating: [ChatMessage](), count: sides.count)
        emit("tailor chat: \(loaded.folder.lastPathComponent)\(options.adapter.map { " + \($0)" } ?? ""); /help for commands, /exit to leave\n")
        while true {
            emit("> ")
            guard let line = readLine(strippingNewline: true) else { emit("\n"); break }
            let input = line.trimmingCharacters(in: .whitespaces)
            if input.isEmpty { continue }
            if input.hasPrefix("/") {
                let parts = input.split(separator: " ", maxSplits: 1).map(String.init)
                switch parts[0] {
                case "/exit", "/quit":
                    return
                case "/reset":
                    histories = Array(repeating: [], count: sides.count)
                    emit("(conversation cleared)\n")
                case "/system":
                    systemMessage = parts.count > 1 ? parts[1] : nil
                    histories = Array(repeating: [], count: sides.count)
                    emit("(system message \(systemMessage == nil ? "removed" : "set"); conversation cleared)\n")
                case "/params":
                    var updated = parameters
                    do {
                        for pair in (parts.count > 1 ? parts[1] : "").split(separator: " ") {
                            let kv = pair.split(separator: "=", maxSplits: 1).map(String.init)
                            guard kv.count == 2 else { throw InferenceError.badParameter(name: String(pair), value: "", problem: "is not name=value") }
                            try updated.set(kv[0], to: kv[1])
                            if ["temperature", "top_k", "top_p", "min_p"].contains(kv[0]) && !options.greedy { updated.doSample = true }
                        }
                        try updated.validate()
                        parameters = updated
                        emit("(\(parameters.summary))\n")
                    } catch {
                        emit("error: \(error)\n")
                    }
                case "/help":
                    emit(Self.configuration.discussion + "\n")
                default:
                    emit("unknown command \(parts[0]); /help lists them\n")
                }
                continue
            }
            var answers: [String] = []
            for (index, side) in sides.enumerated() {
                if let label = side.label { emit("[\(label)] ") }
                var messages: [ChatMessage] = []
                if let systemMessage { messages.append(ChatMessage(role: "system", content: .string(systemMessage))) }
                messages += histories[index]
                messages.append(ChatMessage(role: "user", content: .string(input)))
                do {
                    let prompt = try loaded.chatPrompt(messages, extra: extra)
                    let result = try loaded.generator.generate(prompts: [prompt], parameters: parameters, adapter: side.adapter) { event in
                        if case let .token(_, _, text) = event { emit(text) }
                    }[0]
                    emit("\n")
                    histories[index] = Array(messages.dropFirst(systemMessage == nil ? 0 : 1))
                        + [ChatMessage(role: "assistant", content: .string(result.text))]
                    answers.append(result.text)
                    if options.stats { note(statsLine(loaded.generator.lastStats)) }
                } catch {
                    emit("\nerror: \(error)\n")
                }
            }
            if compare && answers.count == 2 {
                let table = SideBySide(width: terminalColumns()).lines(left: ("base", answers[0]), right: ("adapter", answers[1]))
                emit("\n" + table.joined(separator: "\n") + "\n\n")
            }
        }
    }
}
