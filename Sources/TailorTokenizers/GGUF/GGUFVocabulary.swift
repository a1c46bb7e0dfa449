import Foundation

/// Typed reads of GGUF metadata, as `TailorFormats.GGUFFile` offers them (TailorTokenizers does not import
/// TailorFormats; a caller that has both declares `extension GGUFFile: GGUFMetadataSource {}`).
/// Each accessor throws, naming the key, when the key is absent or has another type.
public protocol GGUFMetadataSource {
    func has(_ key: String) -> Bool
    func string(_ key: String) throws -> String
    func int(_ key: String) throws -> Int
    func bool(_ key: String) throws -> Bool
    func stringArray(_ key: String) throws -> [String]
    func intArray(_ key: String) throws -> [Int]
    func floatArray(_ key: String) throws -> [Float]
}

/// A tokenizer as a llama.cpp GGUF file stores it (`tokenizer.ggml.*` and `tokenizer.chat_template`), in plain
/// Swift values. `+HFFiles` turns it into tokenizer.json / tokenizer_config.json / generation_config.json.
public struct GGUFVocabulary: Sendable, Equatable {
    /// `tokenizer.ggml.token_type` values (llama.cpp's `llama_token_type`).
    public enum TokenType: Int, Sendable {
        case undefined = 0, normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    }

    /// `tokenizer.ggml.model`: "gpt2" (byte-level BPE) or "llama" (SentencePiece with scores).
    public var model: String
    /// `tokenizer.ggml.pre`: llama.cpp's name of the pre-tokenizer ("smollm", "llama-bpe", "qwen2", "gpt-2" ...).
    public var pre: String?
    /// `tokenizer.ggml.tokens`, by id.
    public var tokens: [String]
    /// `tokenizer.ggml.token_type`, by id (raw values of `TokenType`); empty when absent (all normal).
    public var tokenTypes: [Int]
    /// `tokenizer.ggml.scores` (SentencePiece), by id; empty when absent.
    public var scores: [Float]
    /// `tokenizer.ggml.merges` ("left right"), by rank; empty when absent.
    public var merges: [String]
    public var bosTokenId: Int?
    public var eosTokenId: Int?
    public var unknownTokenId: Int?
    public var paddingTokenId: Int?
    /// `tokenizer.ggml.eot_token_id`: the token that ends an assistant turn, when it is not the eos token.
    public var eotTokenId: Int?
    public var addBosToken: Bool?
    public var addEosToken: Bool?
    /// `tokenizer.ggml.add_sep_token` (gguf-py writes it from a TemplateProcessing's pair template).
    public var addSepToken: Bool?
    /// `tokenizer.ggml.add_space_prefix` (SentencePiece's leading "▁").
    public var addSpacePrefix: Bool?
    /// `tokenizer.chat_template` (a Jinja template, kept as text).
    public var chatTemplate: String?
    /// `<arch>.context_length`, for tokenizer_config's model_max_length, when the caller knows it.
    public var contextLength: Int?

    public init(model: String, pre: String? = nil, tokens: [String], tokenTypes: [Int] = [], scores: [Float] = [],
                merges: [String] = [], bosTokenId: Int? = nil, eosTokenId: Int? = nil, unknownTokenId: Int? = nil,
                paddingTokenId: Int? = nil, addBosToken: Bool? = nil, addEosToken: Bool? = nil,
                addSpacePrefix: Bool? = nil, chatTemplate: String? = nil, contextLength: Int? = nil) {
        self.model = model
        self.pre = pre
        self.tokens = tokens
        self.tokenTypes = tokenTypes
        self.scores = scores
        self.merges = merges
        self.bosTokenId = bosTokenId
        self.eosTokenId = eosTokenId
        self.unknownTokenId = unknownTokenId
        self.paddingTokenId = paddingTokenId
        self.addBosToken = addBosToken
        self.addEosToken = addEosToken
        self.addSpacePrefix = addSpacePrefix
        self.chatTemplate = chatTemplate
        self.contextLength = contextLength
    }

    /// The metadata key whose presence means the file has a tokenizer.
    public static let modelKey = "tokenizer.ggml.model"

    /// Reads the tokenizer metadata of a GGUF file.
    /// - Throws: `TokenizerError.invalidValue` naming `file` and `tokenizer.ggml.model` when the file has no tokenizer;
    ///   the source's own error (naming the key) for a missing token list or a mistyped value.
    public init(metadata m: some GGUFMetadataSource, file: String = "GGUF metadata") throws {
        guard m.has(Self.modelKey) else {
            throw TokenizerError.invalidValue(
                file: file, path: Self.modelKey, value: "(absent)",
                reason: "the GGUF file has no tokenizer metadata (tokenizer.ggml.*); use a GGUF converted together with its tokenizer")
        }
        func optional<T>(_ key: String, _ read: (String) throws -> T) throws -> T? { m.has(key) ? try read(key) : nil }
        let arch = (try? m.string("general.architecture")) ?? "llama"
        self.init(model: try m.string(Self.modelKey),
                  pre: try optional("tokenizer.ggml.pre", m.string),
                  tokens: try m.stringArray("tokenizer.ggml.tokens"),
                  tokenTypes: try optional("tokenizer.ggml.token_type", m.intArray) ?? [],
                  scores: try optional("tokenizer.ggml.scores", m.floatArray) ?? [],
                  merges: try optional("tokenizer.ggml.merges", m.stringArray) ?? [],
                  bosTokenId: try optional("tokenizer.ggml.bos_token_id", m.int),
                  eosTokenId: try optional("tokenizer.ggml.eos_token_id", m.int),
                  unknownTokenId: try optional("tokenizer.ggml.unknown_token_id", m.int),
                  paddingTokenId: try optional("tokenizer.ggml.padding_token_id", m.int),
                  addBosToken: try optional("tokenizer.ggml.add_bos_token", m.bool),
                  addEosToken: try optional("tokenizer.ggml.add_eos_token", m.bool),
                  addSpacePrefix: try optional("tokenizer.ggml.add_space_prefix", m.bool),
                  chatTemplate: try optional("tokenizer.chat_template", m.string),
                  contextLength: try optional("\(arch).context_length", m.int))
        eotTokenId = try optional("tokenizer.ggml.eot_token_id", m.int)
        addSepToken = try optional("tokenizer.ggml.add_sep_token", m.bool)
    }

    /// The type of token `id` (normal when the file has no types).
    public func type(of id: Int) -> TokenType {
        id < tokenTypes.count ? TokenType(rawValue: tokenTypes[id]) ?? .normal : .normal
    }

    /// The text of token `id`, or nil when out of range.
    public func token(_ id: Int?) -> String? {
        guard let id, id >= 0, id < tokens.count else { return nil }
        return tokens[id]
    }
}
