import Foundation
import TailorJSON

/// The "llama" (SentencePiece) GGUF tokenizer of a Hugging Face folder, as convert_hf_to_gguf.py's LlamaModel
/// builds it: `_set_vocab_sentencepiece` when the folder has tokenizer.model, else `_set_vocab_llama_hf` for a
/// byte_fallback BPE tokenizer.json; then gguf-py's `SpecialVocab` (`GGUFSpecialVocabulary`).
extension GGUFVocabulary {
    /// `_create_vocab_sentencepiece`: the pieces of tokenizer.model with their scores and types, padded to
    /// `vocabularySize` with `[PAD<id>]` (score -10000, unused); added_tokens.json's tokens user-defined and
    /// tokenizer_config.json's `added_tokens_decoder` control (special, or looking special) or user-defined
    /// ("▁" written as a space), both with score -1000. Pieces past `vocabularySize` are dropped, as the converter
    /// drops them.
    static func sentencePieceTokens(folder: URL, vocabularySize: Int) throws -> (tokens: [String], scores: [Float], types: [Int]) {
        let model = try SentencePieceModel(contentsOf: folder.appendingPathComponent("tokenizer.model"))
        var tokens = (0..<vocabularySize).map { "[PAD\($0)]" }
        var scores = [Float](repeating: -10000, count: vocabularySize)
        var types = [Int](repeating: TokenType.unused.rawValue, count: vocabularySize)
        for (id, piece) in model.pieces.enumerated() where id < vocabularySize {
            // The converter asks IsUnknown / IsControl / IsUnused / IsByte: a user-defined piece stays normal.
            let type: TokenType
            switch piece.type {
            case .unknown: type = .unknown
            case .control: type = .control
            case .unused: type = .unused
            case .byte: type = .byte
            case .normal, .userDefined: type = .normal
            }
            tokens[id] = piece.piece
            scores[id] = piece.score
            types[id] = type.rawValue
        }
        let addedFile = folder.appendingPathComponent("added_tokens.json")
        if FileManager.default.fileExists(atPath: addedFile.path) {
            for (text, id) in try JSONValue.parse(contentsOf: addedFile).objectValue ?? JSONObject() {
                guard let id = id.intValue, id >= 0 else {
                    throw TokenizerError.invalidValue(file: addedFile.path, path: text, value: "\(id)", reason: "is not a token id (a non-negative integer)")
                }
                guard id < vocabularySize else { continue }  // as the converter does: ids past the model's vocab_size are left out
                tokens[id] = text
                scores[id] = -1000
                types[id] = TokenType.userDefined.rawValue
            }
        }
        let configFile = folder.appendingPathComponent("tokenizer_config.json")
        if FileManager.default.fileExists(atPath: configFile.path) {
            let decoder = try JSONValue.parse(contentsOf: configFile)["added_tokens_decoder"]?.objectValue ?? JSONObject()
            for (key, entry) in decoder {
                guard let id = Int(key), id >= 0 else {
                    throw TokenizerError.invalidValue(file: configFile.path, path: "added_tokens_decoder", value: key,
                                                      reason: "is not a token id (a non-negative integer)")
                }
                guard id < vocabularySize else { continue }  // as the converter does: ids past the model's vocab_size are left out
                guard let text = entry["content"]?.stringValue else {
                    throw TokenizerError.missingField(file: configFile.path, path: "added_tokens_decoder.\(key).content")
                }
                if entry["special"]?.boolValue == true || looksSpecial(text) {
                    tokens[id] = text
                    types[id] = TokenType.control.rawValue
                } else {
                    tokens[id] = text.replacingOccurrences(of: "\u{2581}", with: " ")
                    types[id] = TokenType.userDefined.rawValue
                }
                scores[id] = -1000
            }
        }
        return (tokens, scores, types)
    }

    /// gguf-py's `LlamaHfVocab`: tokenizer.json's model vocabulary by id (`<0xXX>` byte tokens, the special tokens
    /// control, the rest normal), then the added tokens past it in id order (special ones control, others
    /// user-defined); every score -1000. Beyond the converter, a list shorter than `vocabularySize` is padded with
    /// `[PAD<id>]` (unused): the converter writes it short, and llama.cpp then refuses the file (token_embd has
    /// `vocab_size` rows).
    static func llamaHfTokens(folder: URL, vocabularySize: Int, specialTexts: Set<String>) throws -> (tokens: [String], scores: [Float], types: [Int]) {
        let file = folder.appendingPathComponent("tokenizer.json")
        let root = try JSONValue.parse(contentsOf: file)
        var byId: [Int: String] = [:]
        for (token, id) in root["model"]?["vocab"]?.objectValue ?? JSONObject() {
            if let id = id.intValue { byId[id] = token }
        }
        let baseCount = byId.count
        var addedById: [Int: String] = [:]
        for entry in root["added_tokens"]?.arrayValue ?? [] {
            guard let id = entry["id"]?.intValue, let content = entry["content"]?.stringValue else { continue }
            if id < baseCount { byId[id] = content } else { addedById[id] = content }
        }
        var tokens: [String] = [], types: [Int] = []
        for id in 0..<baseCount {
            guard let text = byId[id] else {
                throw TokenizerError.invalidValue(file: file.path, path: "model.vocab", value: "\(baseCount) tokens",
                                                  reason: "has no token with id \(id): a vocabulary's ids run from 0 without gaps")
            }
            tokens.append(text)
            if isByteToken(text) {
                types.append(TokenType.byte.rawValue)
            } else {
                types.append(specialTexts.contains(text) ? TokenType.control.rawValue : TokenType.normal.rawValue)
            }
        }
        for id in addedById.keys.sorted() {
            let text = addedById[id] ?? ""
            tokens.append(text)
            types.append(specialTexts.contains(text) ? TokenType.control.rawValue : TokenType.userDefined.rawValue)
        }
        guard tokens.count <= vocabularySize else {
            throw TokenizerError.invalidValue(file: file.path, path: "added_tokens", value: "\(tokens.count) tokens",
                                              reason: "is more than the model's vocab_size \(vocabularySize) (config.json)")
        }
        while tokens.count < vocabularySize {
            tokens.append("[PAD\(tokens.count)]")
            types.append(TokenType.unused.rawValue)
        }
        return (tokens, [Float](repeating: -1000, count: tokens.count), types)
    }

    /// `<0xXX>`, a SentencePiece byte-fallback token.
    static func isByteToken(_ text: String) -> Bool {
        let u = Array(text.utf8)
        func hex(_ b: UInt8) -> Bool { (48...57).contains(b) || (65...70).contains(b) || (97...102).contains(b) }
        return u.count == 6 && u[0] == 60 && u[1] == 48 && u[2] == 120 && hex(u[3]) && hex(u[4]) && u[5] == 62
    }

    /// The special tokens transformers' tokenizer reports (`all_special_tokens`): tokenizer_config.json's
    /// bos/eos/unk/sep/pad/cls/mask tokens and its additional or extra special tokens.
    static func transformersSpecialTexts(folder: URL) throws -> Set<String> {
        let url = folder.appendingPathComponent("tokenizer_config.json")
        guard FileManager.default.fileExists(atPath: url.path) else { return [] }
        let config = try JSONValue.parse(contentsOf: url)
        var texts = Set<String>()
        func add(_ value: JSONValue?) {
            if let text = value?.stringValue ?? value?["content"]?.stringValue { texts.insert(text) }
        }
        for type in GGUFSpecialVocabulary.types { add(config["\(type)_token"]) }
        for key in ["additional_special_tokens", "extra_special_tokens"] {
            for value in config[key]?.arrayValue ?? [] { add(value) }
            for (_, value) in config[key]?.objectValue ?? JSONObject() { add(value) }
        }
        return texts
    }

    /// The SentencePiece GGUF tokenizer of `folder` (tokenizer.model, else a byte_fallback tokenizer.json):
    /// `tokenizer.ggml.model` "llama", pre "default", tokens, scores, types, the special ids, add_bos/add_eos/add_sep,
    /// add_space_prefix from tokenizer_config.json's `add_prefix_space` (as LlamaModel writes it) and the chat template.
    init(sentencePiece folder: URL, vocabularySize: Int) throws {
        let hasModel = FileManager.default.fileExists(atPath: folder.appendingPathComponent("tokenizer.model").path)
        let (tokens, scores, types) = hasModel
            ? try Self.sentencePieceTokens(folder: folder, vocabularySize: vocabularySize)
            : try Self.llamaHfTokens(folder: folder, vocabularySize: vocabularySize,
                                     specialTexts: try Self.transformersSpecialTexts(folder: folder))
        let special = try GGUFSpecialVocabulary(folder: folder, vocabularySize: tokens.count)
        var addSpacePrefix: Bool?
        let configURL = folder.appendingPathComponent("tokenizer_config.json")
        if FileManager.default.fileExists(atPath: configURL.path) {
            addSpacePrefix = try JSONValue.parse(contentsOf: configURL)["add_prefix_space"]?.boolValue
        }
        self.init(model: "llama", pre: "default", tokens: tokens, tokenTypes: types, scores: scores,
                  bosTokenId: special.ids["bos"], eosTokenId: special.ids["eos"], unknownTokenId: special.ids["unk"],
                  paddingTokenId: special.ids["pad"], addBosToken: special.addBos, addEosToken: special.addEos,
                  addSpacePrefix: addSpacePrefix, chatTemplate: special.chatTemplate)
        addSepToken = special.addSep
        if let eot = special.ids["eot"] { eotTokenId = eot }
        if eotTokenId == nil, let pretrained = try? PretrainedTokenizer(folder: folder) {
            eotTokenId = try Self.endOfTurn(pretrained, types: types)
        }
    }
}
