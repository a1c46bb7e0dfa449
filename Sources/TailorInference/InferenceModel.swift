import Foundation
import TailorModels
import TailorTensor
import TailorTokenizers

/// A Hugging Face model folder made ready to talk to: the model, its tokenizer, its chat
/// template, its generation defaults, the adapters loaded beside it and a generator.
/// The CLI (`tailor generate`, `tailor chat`) and the server build on this.
public final class InferenceModel: @unchecked Sendable {
    public let folder: URL
    public let model: CausalLM
    public let tokenizer: PretrainedTokenizer
    /// tokenizer_config.json's chat_template, parsed; nil when the folder has none.
    public let template: ChatTemplate?
    /// generation_config.json's values (or transformers' defaults), with every end-of-sequence id
    /// the folder names: config.json's and generation_config's eos_token_id, tokenizer_config's
    /// eos_token, and the template's end-of-turn token when the vocabulary has a known one.
    public let defaults: GenerationParameters
    public let adapters: AdapterLibrary
    public let generator: Generator

    /// End-of-turn tokens of common chat templates, stopped on when present in the vocabulary.
    public static let endOfTurnTokens = ["<|im_end|>", "<|eot_id|>", "<|end|>", "<end_of_turn>", "<|end_of_text|>", "<|endoftext|>"]

    /// Loads `folder` (config.json, safetensors weights, tokenizer.json, and when present
    /// tokenizer_config.json and generation_config.json) on `backend`.
    /// `rounding` rounds the frozen f32 product weights to bf16 as they load (`ProductWeightRounding`:
    /// what `--matmul bf16` multiplies on a CPU with bf16 products).
    /// - Throws: `ModelError`, `TokenizerError`, `TemplateError` or `InferenceError`, each naming the file at fault.
    public convenience init(folder: URL, backend: Backend, rounding: ProductWeightRounding? = nil) throws {
        try self.init(folder: folder, model: try CausalLM.load(folder: folder, backend: backend, rounding: rounding))
    }

    /// `folder`'s tokenizer, template and generation defaults beside a model already loaded from it
    /// (e.g. the one a training run is training, its adapters attached).
    public init(folder: URL, model: CausalLM) throws {
        self.folder = folder
        self.model = model
        tokenizer = try PretrainedTokenizer(folder: folder)
        template = try tokenizer.parsedChatTemplate()
        let generationConfig = folder.appendingPathComponent("generation_config.json")
        var parameters = FileManager.default.fileExists(atPath: generationConfig.path)
            ? try GenerationParameters(generationConfig: generationConfig) : GenerationParameters()
        var eos = parameters.eosTokenIds
        for id in model.config.eosTokenIds + tokenizer.eosTokenIds {
            // config.json and the tokenizer files check their ids on reading; a ModelConfig built in code may not have.
            guard let id = Int32(exactly: id), id >= 0 else {
                throw InferenceError.badParameter(name: "eos_token_id", value: "\(id)", problem: "is not a token id (0 to \(Int32.max))")
            }
            if !eos.contains(id) { eos.append(id) }
        }
        for token in Self.endOfTurnTokens {
            if let id = tokenizer.tokenizer.tokenToId(token).flatMap({ Int32(exactly: $0) }), tokenizer.tokenizer.isSpecial(Int(id)), !eos.contains(id) {  // allowed: an Int32 id widens
                eos.append(id)
            }
        }
        parameters.eosTokenIds = eos
        defaults = parameters
        adapters = AdapterLibrary(model: model)
        generator = Generator(model: model, tokenizer: tokenizer.tokenizer, adapters: adapters)
    }

    /// The prompt ids of a conversation rendered with the chat template and a generation prompt
    /// (what `apply_chat_template(messages, add_generation_prompt=True, tokenize=True)` gives).
    /// `tools` is the template's `tools` list (OpenAI function definitions); `extra` passes template
    /// switches such as Qwen3's `enable_thinking`.
    /// - Throws: `InferenceError.missingFile` when the folder has no chat template, `.template` when it fails.
    public func chatPrompt(_ messages: [ChatMessage], tools: [ChatValue]? = nil, extra: [String: ChatValue] = [:]) throws -> [Int32] {
        guard let template else {
            throw InferenceError.missingFile(path: folder.appendingPathComponent("tokenizer_config.json").path + " (chat_template)",
                                             purpose: "to render chat messages; pass --raw to send plain text instead")
        }
        var variables = extra
        if let bos = tokenizer.bosToken, variables["bos_token"] == nil { variables["bos_token"] = .string(bos) }
        if let eos = tokenizer.eosToken, variables["eos_token"] == nil { variables["eos_token"] = .string(eos) }
        do {
            let text = try template.render(messages: messages, addGenerationPrompt: true, tools: tools, extra: variables).text
            return tokenizer.tokenizer.encodeInt32(text, addSpecialTokens: false)
        } catch let error as TemplateError {
            throw InferenceError.template("\(error)")
        }
    }

    /// The ids of plain text, with the tokenizer's special tokens (BOS) as transformers adds them.
    public func rawPrompt(_ text: String) -> [Int32] {
        tokenizer.tokenizer.encodeInt32(text, addSpecialTokens: true)
    }
}
