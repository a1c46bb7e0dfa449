import Foundation
import TailorJSON

/// A special token as written in tokenizer_config.json / special_tokens_map.json:
/// either a plain string or an AddedToken dict (`{"content": ..., "lstrip": ...}`).
public struct SpecialTokenSpec: Sendable, Equatable {
    public var content: String
    public var lstrip = false, rstrip = false, normalized = false, singleWord = false

    static func read(_ node: JSONNode?) throws -> SpecialTokenSpec? {
        guard let node else { return nil }
        if case .string(let s) = node.value { return SpecialTokenSpec(content: s) }
        guard case .object = node.value else { throw node.wrongType("a string or an AddedToken object") }
        var spec = SpecialTokenSpec(content: try node.string("content"))
        spec.lstrip = try node.bool("lstrip", default: false)
        spec.rstrip = try node.bool("rstrip", default: false)
        spec.normalized = try node.bool("normalized", default: false)
        spec.singleWord = try node.bool("single_word", default: false)
        return spec
    }
}

/// tokenizer_config.json: the transformers-side settings of a tokenizer.
public struct TokenizerConfig: Sendable {
    public var bosToken: SpecialTokenSpec?
    public var eosToken: SpecialTokenSpec?
    public var padToken: SpecialTokenSpec?
    public var unkToken: SpecialTokenSpec?
    /// transformers adds BOS/EOS itself for some tokenizer classes when these are set.
    public var addBosToken: Bool?
    public var addEosToken: Bool?
    /// The default chat template (the one named "default" when the file holds a list).
    public var chatTemplate: String?
    /// All chat templates by name ("default", "tool_use", ...); a single string is named "default".
    public var chatTemplates: [String: String] = [:]
    /// nil when absent; very large values (transformers' "no limit", 1e30) become `Int.max`.
    public var modelMaxLength: Int?
    public var tokenizerClass: String?
    public var cleanUpTokenizationSpaces: Bool?
    public var additionalSpecialTokens: [SpecialTokenSpec] = []

    public init() {}

    public init(contentsOf url: URL) throws {
        let root = JSONNode(try JSONValue.parse(contentsOf: url), file: url.path)
        bosToken = try SpecialTokenSpec.read(root.optional("bos_token"))
        eosToken = try SpecialTokenSpec.read(root.optional("eos_token"))
        padToken = try SpecialTokenSpec.read(root.optional("pad_token"))
        unkToken = try SpecialTokenSpec.read(root.optional("unk_token"))
        addBosToken = try root.optional("add_bos_token")?.bool
        addEosToken = try root.optional("add_eos_token")?.bool
        tokenizerClass = try root.optionalString("tokenizer_class")
        cleanUpTokenizationSpaces = try root.optional("clean_up_tokenization_spaces")?.bool
        if let m = try root.optional("model_max_length") {
            // transformers writes int(1e30) for "no limit": anything past Int is that; below 1 is no length.
            let d = try m.double
            guard d >= 1 else {
                throw TokenizerError.invalidValue(file: m.file, path: m.path, value: "\(d)", reason: "model_max_length must be a positive number of tokens")
            }
            modelMaxLength = d >= Double(Int.max) ? Int.max : Int(d)  // allowed: 1 <= d < 2^63, checked just before
        }
        if let t = try root.optional("chat_template") {
            switch t.value {
            case .string(let s):
                chatTemplates["default"] = s
            case .array:
                for entry in try t.elements { chatTemplates[try entry.string("name")] = try entry.string("template") }
            default:
                throw t.wrongType("a string or a list of {name, template}")
            }
            chatTemplate = chatTemplates["default"]
        }
        if let extra = try root.optional("additional_special_tokens") {
            additionalSpecialTokens = try extra.elements.compactMap { try SpecialTokenSpec.read($0) }
        }
    }
}

/// special_tokens_map.json.
public struct SpecialTokensMap: Sendable {
    public var bosToken, eosToken, padToken, unkToken: SpecialTokenSpec?
    public var additionalSpecialTokens: [SpecialTokenSpec] = []

    public init(contentsOf url: URL) throws {
        let root = JSONNode(try JSONValue.parse(contentsOf: url), file: url.path)
        bosToken = try SpecialTokenSpec.read(root.optional("bos_token"))
        eosToken = try SpecialTokenSpec.read(root.optional("eos_token"))
        padToken = try SpecialTokenSpec.read(root.optional("pad_token"))
        unkToken = try SpecialTokenSpec.read(root.optional("unk_token"))
        if let extra = try root.optional("additional_special_tokens") {
            additionalSpecialTokens = try extra.elements.compactMap { try SpecialTokenSpec.read($0) }
        }
    }
}

/// The token ids of generation_config.json.
public struct GenerationTokenConfig: Sendable {
    public var bosTokenId: Int?
    /// `eos_token_id` may be one id or a list; always a list here.
    public var eosTokenIds: [Int] = []
    public var padTokenId: Int?

    public init(contentsOf url: URL) throws {
        let root = JSONNode(try JSONValue.parse(contentsOf: url), file: url.path)
        bosTokenId = try root.optional("bos_token_id")?.tokenId
        padTokenId = try root.optional("pad_token_id")?.int
        if let eos = try root.optional("eos_token_id") {
            if case .array = eos.value { eosTokenIds = try eos.elements.map { try $0.tokenId } } else { eosTokenIds = [try eos.tokenId] }
        }
    }
}

/// A model folder's tokenizer: tokenizer.json plus, when present, tokenizer_config.json,
/// special_tokens_map.json, generation_config.json and chat_template.jinja.
public struct PretrainedTokenizer: Sendable {
    public let tokenizer: Tokenizer
    public let config: TokenizerConfig
    public let specialTokensMap: SpecialTokensMap?
    public let generationConfig: GenerationTokenConfig?
    /// The chat template's text and where it came from, as errors name it: chat_template.jinja when the
    /// folder has one (transformers reads it in place of tokenizer_config.json's, which recent versions
    /// no longer write), else tokenizer_config.json's `chat_template`.
    public let chatTemplateSource: (text: String, name: String)?

    /// Loads the files from `folder`. Only tokenizer.json is required.
    /// - Throws: `TokenizerError` naming the file and field at fault.
    public init(folder: URL) throws {
        let fm = FileManager.default
        func file(_ name: String) -> URL? {
            let u = folder.appendingPathComponent(name)
            return fm.fileExists(atPath: u.path) ? u : nil
        }
        guard let tj = file("tokenizer.json") else {
            throw TokenizerError.fileNotReadable(file: folder.appendingPathComponent("tokenizer.json").path,
                                                 reason: "no tokenizer.json in the folder (SentencePiece-only models need converting with transformers first)")
        }
        tokenizer = try Tokenizer(contentsOf: tj)
        config = try file("tokenizer_config.json").map { try TokenizerConfig(contentsOf: $0) } ?? TokenizerConfig()
        specialTokensMap = try file("special_tokens_map.json").map { try SpecialTokensMap(contentsOf: $0) }
        generationConfig = try file("generation_config.json").map { try GenerationTokenConfig(contentsOf: $0) }
        if let jinja = file("chat_template.jinja") {
            guard let data = fm.contents(atPath: jinja.path), let text = String(validating: data, as: UTF8.self) else {
                throw TokenizerError.fileNotReadable(file: jinja.path, reason: "cannot be read as UTF-8 text")
            }
            chatTemplateSource = (text, jinja.path)
        } else if let text = config.chatTemplate, let json = file("tokenizer_config.json") {
            chatTemplateSource = (text, "\(json.path) (chat_template)")
        } else {
            chatTemplateSource = nil
        }
    }

    /// The folder's chat template, parsed; nil when it has none.
    /// - Throws: `TemplateError` naming the file the template came from (see `chatTemplateSource`).
    public func parsedChatTemplate() throws -> ChatTemplate? {
        try chatTemplateSource.map { try ChatTemplate(source: $0.text, name: $0.name) }
    }

    private func id(_ spec: SpecialTokenSpec?) -> Int? { spec.flatMap { tokenizer.tokenToId($0.content) } }

    public var bosToken: String? { (config.bosToken ?? specialTokensMap?.bosToken)?.content }
    public var eosToken: String? { (config.eosToken ?? specialTokensMap?.eosToken)?.content }
    public var bosTokenId: Int? { id(config.bosToken ?? specialTokensMap?.bosToken) ?? generationConfig?.bosTokenId }
    public var padTokenId: Int? { id(config.padToken ?? specialTokensMap?.padToken) ?? generationConfig?.padTokenId }
    public var unkTokenId: Int? { id(config.unkToken ?? specialTokensMap?.unkToken) }

    /// Ids that end generation: tokenizer_config's eos_token followed by generation_config's eos_token_id(s).
    public var eosTokenIds: [Int] {
        var ids: [Int] = []
        if let e = id(config.eosToken ?? specialTokensMap?.eosToken) { ids.append(e) }
        for e in generationConfig?.eosTokenIds ?? [] where !ids.contains(e) { ids.append(e) }
        return ids
    }

    /// The chat template's text (see `chatTemplateSource`).
    public var chatTemplate: String? { chatTemplateSource?.text }

    public func encode(_ text: String, addSpecialTokens: Bool = true) -> [Int] {
        tokenizer.encode(text, addSpecialTokens: addSpecialTokens)
    }

    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) -> String {
        tokenizer.decode(ids, skipSpecialTokens: skipSpecialTokens)
    }
}
