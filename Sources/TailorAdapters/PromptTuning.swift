import TailorModels
import TailorTensor

/// peft's PromptTuningConfig: how many virtual tokens, and how their embeddings start.
public struct PromptTuningConfig: Sendable, Equatable {
    /// `prompt_tuning_init`: where the table starts.
    public enum Initialization: Sendable, Equatable {
        /// `RANDOM` (peft's default): normal with std 1, as torch.nn.Embedding starts (drawn from
        /// Tailor's own generator, not torch's numbers).
        case random
        /// `TEXT`: the embeddings of `prompt_tuning_init_text`'s tokens, cut or repeated to P.
        case text(String)
        /// `SAMPLE_VOCAB`: the embeddings of P tokens drawn uniformly from the vocabulary.
        case sampleVocab

        /// peft's name.
        public var peftName: String {
            switch self {
            case .random: return "RANDOM"
            case .text: return "TEXT"
            case .sampleVocab: return "SAMPLE_VOCAB"
            }
        }
    }

    /// `num_virtual_tokens`: P.
    public var numVirtualTokens: Int
    public var initialization: Initialization
    /// `tokenizer_name_or_path`: the tokenizer TEXT initialization used (recorded in adapter_config.json).
    public var tokenizerNameOrPath: String?

    public init(numVirtualTokens: Int, initialization: Initialization = .random, tokenizerNameOrPath: String? = nil) {
        self.numVirtualTokens = numVirtualTokens
        self.initialization = initialization
        self.tokenizerNameOrPath = tokenizerNameOrPath
    }

    /// Checks the settings against a model: at least one virtual token, and fewer than its context.
    /// - Throws: `AdapterError.badOption` naming the key.
    public func check(for config: ModelConfig) throws {
        guard numVirtualTokens >= 1 else {
            throw AdapterError.badOption(name: "num_virtual_tokens", problem: "must be at least 1 (got \(numVirtualTokens))")
        }
        guard numVirtualTokens < config.maxPositionEmbeddings else {
            throw AdapterError.badOption(name: "num_virtual_tokens",
                                         problem: "is \(numVirtualTokens), but the model's context (max_position_embeddings) is \(config.maxPositionEmbeddings) positions and the virtual tokens come before every sequence; use fewer")
        }
        if case .text(let text) = initialization, text.isEmpty {
            throw AdapterError.badOption(name: "prompt_tuning_init_text", problem: "is empty; prompt_tuning_init TEXT starts from its tokens' embeddings")
        }
    }
}

/// Prompt tuning (peft's PROMPT_TUNING, Lester et al. 2021): a trained table of P virtual-token
/// embeddings put before every sequence (`VirtualTokens`); the base model is untouched.
///
///     let prompt = try PromptTuning.make(for: model, config: PromptTuningConfig(numVirtualTokens: 20))
///     try prompt.attach(to: model)          // model.virtualTokens = prompt.virtualTokens
///     try PromptTuningWriter.write(prompt, backend: model.backend, to: folder, baseModel: "…")
public final class PromptTuning: AttachableAdapters, @unchecked Sendable {
    public let config: PromptTuningConfig
    /// The table [P, C] the model reads while attached (`virtualTokens.embeddings`).
    public let table: Tensor
    public let virtualTokens: VirtualTokens

    public init(config: PromptTuningConfig, table: Tensor) {
        self.config = config
        self.table = table
        virtualTokens = VirtualTokens(embeddings: table)
    }

    /// peft's name of the one tensor trained and saved.
    public static let tensorName = VirtualTokens.gradientName

    /// Number of trainable parameters (peft's `get_nb_trainable_parameters()[0]`): P × C.
    public var parameterCount: Int { table.count }

    /// A fresh table for `model` as `config` starts it.
    /// - Parameter initTokenIds: TEXT initialization's token ids (`tokenizer(prompt_tuning_init_text)["input_ids"]`,
    ///   which the caller tokenizes); ignored otherwise.
    /// - Throws: `AdapterError.badOption` for settings that do not fit the model.
    public static func make(for model: CausalLM, config: PromptTuningConfig, initTokenIds: [Int32] = [], seed: UInt64 = 0) throws -> PromptTuning {
        try config.check(for: model.config)
        let p = config.numVirtualTokens, c = model.config.hiddenSize, vocab = model.config.vocabSize
        var generator = SplitMix64(state: seed ^ 0x7072_6f6d_7074)  // "prompt"
        let backend = model.backend
        let table: Tensor
        switch config.initialization {
        case .random:
            table = try backend.upload((0..<(p * c)).map { _ in Float(generator.nextGaussian()) }, shape: [p, c], dtype: .f32)
        case .text:
            guard !initTokenIds.isEmpty else {
                throw AdapterError.badOption(name: "prompt_tuning_init_text", problem: "has no tokens; prompt_tuning_init TEXT starts from its tokens' embeddings")
            }
            if let bad = initTokenIds.first(where: { $0 < 0 || Int($0) >= vocab }) {  // allowed: Int32 widens
                throw AdapterError.badOption(name: "prompt_tuning_init_text", problem: "has token id \(bad), outside this model's vocabulary of \(vocab); was the tokenizer made for another model?")
            }
            // peft: cut to P, or repeated until it covers P, then cut.
            let ids = (0..<p).map { initTokenIds[$0 % initTokenIds.count] }
            table = try embeddingRows(ids, of: model)
        case .sampleVocab:
            let ids = (0..<p).map { _ in Int32(generator.next() % UInt64(vocab)) }  // allowed: below vocab_size, which fits Int32
            table = try embeddingRows(ids, of: model)
        }
        return PromptTuning(config: config, table: table)
    }

    /// Rows `ids` of embed_tokens, in f32 (the table trains in f32 whatever the base's dtype).
    static func embeddingRows(_ ids: [Int32], of model: CausalLM) throws -> Tensor {
        let backend = model.backend
        let out = try backend.empty([ids.count, model.config.hiddenSize], dtype: .f32)  // [P, C]
        try backend.embeddingForward(ids: try backend.upload(ids, shape: [ids.count]), table: model.embedTokens, into: out)
        return out
    }

    /// Puts the virtual tokens before every sequence `model` runs.
    /// - Throws: `AdapterError.badOption` when the model already carries other virtual tokens.
    public func attach(to model: CausalLM) throws {
        if let current = model.virtualTokens, current !== virtualTokens {
            throw AdapterError.badOption(name: "adapter", problem: "cannot attach prompt tuning: the model already carries other virtual tokens; detach them first")
        }
        guard table.shape == [config.numVirtualTokens, model.config.hiddenSize] else {
            throw AdapterError.badOption(name: "token_dim", problem: "is \(table.shape.last ?? 0), but this model's hidden_size is \(model.config.hiddenSize); was the adapter made for another base model?")
        }
        model.virtualTokens = virtualTokens
    }

    public func detach(from model: CausalLM) throws {
        if model.virtualTokens === virtualTokens { model.virtualTokens = nil }
    }
}
