import ArgumentParser
import Foundation
import TailorFormats
import TailorInference
import TailorJSON
import TailorModels
import TailorTensor
import TailorTokenizers

/// Options shared by `generate` and `chat`: the model folder, adapters and sampling settings.
struct GenerationOptions: ParsableArguments {
    @Option(help: "Hugging Face model folder (config.json, *.safetensors, tokenizer.json, tokenizer_config.json), or a .gguf file (imported once into ~/.cache/tailor, dequantized to f32), or a hub id ORG/NAME (from the Hugging Face cache, downloaded into it when missing).")
    var model: String

    @Option(help: "peft/Tailor adapter folder to apply (adapter_config.json + adapter_model.safetensors): LoRA, DoRA, AdaLoRA, IA³ or prompt tuning. Default: none, the base model.")
    var adapter: String?

    @Option(parsing: .unconditional, help: "Most new tokens. Default: generation_config.json's max_new_tokens, else 256.")
    var maxNewTokens: Int?

    @Flag(help: "Greedy decoding, even when generation_config.json samples. Default: as generation_config.json says (greedy without one).")
    var greedy = false

    @Flag(help: "Sample, even when generation_config.json does not. Implied by --temperature, --top-k, --top-p, --min-p.")
    var sample = false

    @Option(parsing: .unconditional, help: "Sampling temperature (> 0). Default: generation_config.json's, else 1.0.")
    var temperature: Double?

    @Option(parsing: .unconditional, help: "Keep the k most likely tokens when sampling; 0 = off. Default: generation_config.json's, else 50.")
    var topK: Int?

    @Option(parsing: .unconditional, help: "Nucleus sampling: keep tokens up to this cumulative probability, in (0, 1]. Default: generation_config.json's, else 1.0 (off).")
    var topP: Double?

    @Option(parsing: .unconditional, help: "Drop tokens less likely than min_p × the top probability, in [0, 1]. Default: off.")
    var minP: Double?

    @Option(parsing: .unconditional, help: "transformers' repetition_penalty on prompt and output tokens (> 0; 1 = off). Default: generation_config.json's, else 1.0.")
    var repetitionPenalty: Double?

    @Option(parsing: .unconditional, help: "Never repeat an n-gram of this size; 0 = off. Default: generation_config.json's, else 0.")
    var noRepeatNgramSize: Int?

    @Option(parsing: .unconditional, help: "Seed of the sampler, for reproducible samples. Default: from the clock.")
    var seed: UInt64?

    @Option(name: .customLong("stop"), help: "Stop when the output contains this text (repeatable). Default: none; eos and end-of-turn tokens always stop.")
    var stop: [String] = []

    @Flag(help: "Drop the start of a prompt too long for the context (max_position_embeddings − max_new_tokens) instead of failing. Default: fail.")
    var truncate = false

    @Flag(help: "Print prefill and decode tokens/s to stderr after each answer. Default: off.")
    var stats = false

    @OptionGroup var compute: DeviceOptions

    @OptionGroup var hub: HubOptions

    /// Loads the model folder and the adapter (as "adapter"), as the options say.
    func load() async throws -> InferenceModel {
        let (backend, note) = try compute.backend(batchInvariant: true)
        if let note { printError(note) }
        let loaded = try DeviceOptions.inferenceModel(folder: try await ModelArgument.folder(for: model, hub: hub), backend: backend)
        if let adapter { try loaded.adapters.load(name: "adapter", folder: URL(fileURLWithPath: adapter)) }
        return loaded
    }

    /// The model's defaults with the flags applied.
    func parameters(defaults: GenerationParameters) throws -> GenerationParameters {
        var p = defaults
        if let maxNewTokens { p.maxNewTokens = maxNewTokens }
        if let temperature { p.temperature = temperature }
        if let topK { p.topK = topK }
        if let topP { p.topP = topP }
        if let minP { p.minP = minP }
        if let repetitionPenalty { p.repetitionPenalty = repetitionPenalty }
        if let noRepeatNgramSize { p.noRepeatNgramSize = noRepeatNgramSize }
        if let seed { p.seed = seed }
        p.stopStrings += stop
        p.truncatePrompt = truncate
        if sample || temperature != nil || topK != nil || topP != nil || minP != nil { p.doSample = true }
        if greedy { p.doSample = false }
        try p.validate()
        return p
    }

    func validateFlags() throws {
        if greedy && sample { throw ValidationError("--greedy and --sample contradict each other; pass one") }
        if let maxNewTokens, maxNewTokens < 1 { throw ValidationError("--max-new-tokens must be ≥ 1 (got \(maxNewTokens))") }
        // The flags' values on their own, before any model loads (the folder's defaults are checked when read).
        _ = try parameters(defaults: GenerationParameters())
    }
}

/// `key=value` template variables (`enable_thinking=false`), values read as JSON when they parse.
func templateVariables(_ pairs: [String]) throws -> [String: ChatValue] {
    var result: [String: ChatValue] = [:]
    for pair in pairs {
        guard let eq = pair.firstIndex(of: "="), eq != pair.startIndex else {
            throw ValidationError("--template-var '\(pair)' is not key=value (e.g. enable_thinking=false)")
        }
        let key = String(pair[..<eq]), text = String(pair[pair.index(after: eq)...])
        switch text.lowercased() {
        case "true": result[key] = .bool(true)
        case "false": result[key] = .bool(false)
        default:
            if let i = Int(text) { result[key] = .int(i) } else if let d = Double(text) { result[key] = .double(d) } else { result[key] = .string(text) }
        }
    }
    return result
}

/// Writes text to stdout now (streaming).
func emit(_ text: String) {
    FileHandle.standardOutput.write(Data(text.utf8))
}

/// Writes a line to stderr.
func note(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

func statsLine(_ s: GenerationStats) -> String {
    "[prefill \(s.prefillTokens) tokens, \(fmt(s.prefillTokensPerSecond, 1)) tok/s; decode \(s.decodeTokens) tokens, \(fmt(s.decodeTokensPerSecond, 1)) tok/s]"
}

struct GenerateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate text from a model folder, with or without a LoRA adapter.",
        discussion: """
        A --prompt is rendered with the model's chat template as one user turn (with --system as the
        system turn) unless --raw is given, and the answer streams to stdout. --prompts FILE.jsonl
        reads one JSON object per line, {"prompt": "..."} or {"messages": [{"role": ..., "content": ...}]},
        generates them in batches, and writes one JSON line per prompt ({"index", "prompt", "completion",
        "finish_reason", "prompt_tokens", "completion_tokens"}) to --output or stdout.
        Sampling defaults come from the folder's generation_config.json; flags override them.
        """
    )

    @OptionGroup var options: GenerationOptions

    @Option(help: "The prompt text. Default: none (give --prompt or --prompts).")
    var prompt: String?

    @Option(help: "A JSONL file of prompts. Default: none.")
    var prompts: String?

    @Option(help: "Where --prompts writes its JSONL results. Default: stdout.")
    var output: String?

    @Option(parsing: .unconditional, help: "Prompts generated together with --prompts.")
    var batchSize: Int = 8

    @Flag(help: "Send the prompt as plain text (with the tokenizer's BOS), not through the chat template. Default: off.")
    var raw = false

    @Option(help: "System message for the chat template. Default: none.")
    var system: String?

    @Option(name: .customLong("template-var"), help: "A chat-template variable as key=value, e.g. enable_thinking=false (repeatable). Default: none.")
    var templateVars: [String] = []

    func validate() throws {
        try options.validateFlags()
        guard (prompt == nil) != (prompts == nil) else { throw ValidationError("give exactly one of --prompt and --prompts") }
        guard batchSize > 0 else { throw ValidationError("--batch-size must be ≥ 1 (got \(batchSize))") }
        if let output, let prompts, FileIdentity.same(output, prompts) {
            throw ValidationError("--output \(output) is the --prompts file: writing the results would overwrite the prompts; give another --output path")
        }
    }

    func run() async throws {
        let loaded = try await options.load()
        let parameters = try options.parameters(defaults: loaded.defaults)
        let extra = try templateVariables(templateVars)
        let adapter: AdapterSelection = options.adapter == nil ? .base : .named("adapter")
        func ids(for text: String) throws -> [Int32] {
            if raw { return loaded.rawPrompt(text) }
            var messages: [ChatMessage] = []
            if let system { messages.append(ChatMessage(role: "system", content: .string(system))) }
            messages.append(ChatMessage(role: "user", content: .string(text)))
            return try loaded.chatPrompt(messages, extra: extra)
        }
        if let prompt {
            let results = try loaded.generator.generate(prompts: [try ids(for: prompt)], parameters: parameters, adapter: adapter) { event in
                if case let .token(_, _, text) = event { emit(text) }
            }
            emit("\n")
            if options.stats { note(statsLine(loaded.generator.lastStats)) }
            _ = results
            return
        }
        guard let prompts else { return }
        let items = try readPrompts(prompts)
        var lines: [String] = []
        var start = 0
        while start < items.count {
            let batch = Array(items[start..<min(items.count, start + batchSize)])
            let promptIds = try batch.map { item -> [Int32] in
                if let messages = item.messages { return try loaded.chatPrompt(messages, extra: extra) }
                return try ids(for: item.text)
            }
            let results = try loaded.generator.generate(prompts: promptIds, parameters: parameters, adapter: adapter)
            for (offset, result) in results.enumerated() {
                let record: JSONValue = [
                    "index": .int(start + offset), "prompt": .string(batch[offset].text), "completion": .string(result.text),
                    "finish_reason": .string(result.finishReason.description), "prompt_tokens": .int(result.promptTokenCount),
                    "completion_tokens": .int(result.tokens.count),
                ]
                lines.append(record.text(.compact.sortingKeys()))
            }
            if options.stats { note(statsLine(loaded.generator.lastStats)) }
            start += batchSize
        }
        let text = lines.joined(separator: "\n") + "\n"
        if let output { try Data(text.utf8).write(to: URL(fileURLWithPath: output)) } else { emit(text) }
    }

    struct PromptItem {
        var text: String
        var messages: [ChatMessage]?
    }

    func readPrompts(_ path: String) throws -> [PromptItem] {
        guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("\(path): cannot be read") }
        var items: [PromptItem] = []
        for (number, line) in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            let value: JSONValue
            do { value = try JSONValue(parsing: Array(line.utf8)[...], line: number + 1, file: path) } catch {
                throw ValidationError("\(path):\(number + 1): not valid JSON at column \(error.column): \(error.reason)")
            }
            guard let object = value.objectValue else { throw ValidationError("\(path):\(number + 1): not a JSON object") }
            if let text = object["prompt"]?.stringValue {
                items.append(PromptItem(text: text))
            } else if let messages = object["messages"]?.arrayValue(of: \.objectValue) {
                let parsed = try messages.enumerated().map { index, message -> ChatMessage in
                    guard let role = message["role"]?.stringValue, let content = message["content"]?.stringValue else {
                        throw ValidationError("\(path):\(number + 1): messages[\(index)] needs string fields 'role' and 'content'")
                    }
                    return ChatMessage(role: role, content: .string(content))
                }
                items.append(PromptItem(text: messages.last?["content"]?.stringValue ?? "", messages: parsed))
            } else {
                throw ValidationError("\(path):\(number + 1): needs a string field 'prompt' or a list 'messages'")
            }
        }
        return items
    }
}
