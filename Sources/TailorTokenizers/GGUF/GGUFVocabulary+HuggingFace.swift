import Foundation
import TailorJSON

/// The GGUF tokenizer of a Hugging Face folder, built the way llama.cpp's convert_hf_to_gguf.py builds it: for a
/// SentencePiece tokenizer see `+SentencePiece`; for a byte-level BPE tokenizer (`_set_vocab_gpt2`,
/// `get_vocab_base`, gguf-py's `SpecialVocab`):
///
/// - tokens by id up to the model's vocabulary size; ids the tokenizer lacks become `[PAD<id>]` (unused);
///   added tokens are control tokens when special or when they look special (`<|...|>`), else user-defined;
/// - merges as "left right" (spaces inside a part written as U+0120, as the converter does);
/// - `tokenizer.ggml.pre` chosen by the converter's method: the sha256 of the ids the tokenizer gives for a
///   fixed text, looked up in the converter's table (`GGUFPreTokenizerHashes`);
/// - bos/eos/unk/pad ids from tokenizer_config.json's tokens, else config.json's ids; add_bos/add_eos from the
///   post-processor, else tokenizer_config.json; the chat template;
/// - and, beyond the converter, `eotTokenId`: the special token the chat template writes after an assistant
///   reply (Llama 3's `<|eot_id|>`, ChatML's `<|im_end|>`), else a generation_config.json eos id that looks like
///   an end of turn, so llama.cpp, Ollama and LM Studio stop there.
extension GGUFVocabulary {
    /// The `tokenizer.ggml.pre` names convert_hf_to_gguf.py writes for the tokenizer whose check ids hash to `hash`.
    public static func preTokenizerName(forHash hash: String) -> String? {
        preTokenizerHashes.first { $0.hash == hash }?.name
    }

    /// convert_hf_to_gguf.py's `chkhsh`: sha256 of Python's `str()` of the ids `tokenizer` gives for the check text
    /// (special tokens added).
    public static func preTokenizerHash(_ tokenizer: Tokenizer) -> String {
        let ids = tokenizer.encode(preTokenizerCheckText, addSpecialTokens: true)
        return SHA256.hex(Array(("[" + ids.map(String.init).joined(separator: ", ") + "]").utf8))
    }

    /// The tokenizer of the Hugging Face folder `folder` (tokenizer.json, tokenizer_config.json, config.json,
    /// generation_config.json, chat_template.jinja).
    /// - Parameters:
    ///   - vocabularySize: config.json's `vocab_size` (the token list is padded to it).
    ///   - preTokenizer: `tokenizer.ggml.pre` to write instead of the one the hash picks.
    ///
    /// A folder with a SentencePiece tokenizer.model, or a byte_fallback tokenizer.json, gets the "llama" vocabulary
    /// of `init(sentencePiece:vocabularySize:)` (tokenizer.ggml.pre "default" unless `preTokenizer` is given).
    /// - Throws: `TokenizerError.invalidValue` for a byte-level BPE tokenizer without merges (llama.cpp cannot load
    ///   those), a byte_fallback one the converter would not read as LlamaHfVocab, a pre-tokenizer hash the
    ///   converter's table lacks (the message says to pass a name), a token id at or past `vocabularySize`; the
    ///   loaders' errors for unreadable files.
    public init(huggingFace folder: URL, vocabularySize: Int, preTokenizer: String? = nil) throws {
        let file = folder.appendingPathComponent("tokenizer.json").path
        let hasSentencePieceModel = FileManager.default.fileExists(atPath: folder.appendingPathComponent("tokenizer.model").path)
        let root = hasSentencePieceModel && !FileManager.default.fileExists(atPath: file)
            ? JSONValue.null : try JSONValue.parse(contentsOf: folder.appendingPathComponent("tokenizer.json"))
        let model = root["model"]
        // LlamaModel.set_vocab's order: tokenizer.model, else a byte_fallback BPE tokenizer.json with a Sequence
        // decoder (LlamaHfVocab), else byte-level BPE.
        if hasSentencePieceModel
            || (model?["type"]?.stringValue == "BPE" && model?["byte_fallback"]?.boolValue == true
                && root["decoder"]?["type"]?.stringValue == "Sequence") {
            try self.init(sentencePiece: folder, vocabularySize: vocabularySize)
            if let preTokenizer { pre = preTokenizer }
            return
        }
        if model?["byte_fallback"]?.boolValue == true {
            throw TokenizerError.invalidValue(
                file: file, path: "decoder.type", value: root["decoder"]?["type"]?.stringValue ?? "null",
                reason: "a byte_fallback (SentencePiece-style) tokenizer.json is exported as convert_hf_to_gguf.py's LlamaHfVocab "
                    + "does it, which needs a BPE model and a Sequence decoder; add the model's tokenizer.model to the folder instead")
        }
        let pretrained = try PretrainedTokenizer(folder: folder)
        let tokenizer = pretrained.tokenizer

        // Tokens and their types.
        var byId: [Int: String] = [:]
        for (token, id) in model?["vocab"]?.objectValue ?? JSONObject([]) {
            if let id = id.intValue { byId[id] = token }
        }
        var added: [Int: AddedToken] = [:]
        for token in tokenizer.addedTokens { added[token.id] = token; byId[token.id] = token.content }
        if let largest = byId.keys.max(), largest >= vocabularySize {
            throw TokenizerError.invalidValue(file: file, path: "model.vocab", value: "id \(largest)",
                                              reason: "is not below the model's vocab_size \(vocabularySize) (config.json)")
        }
        var tokens: [String] = [], types: [Int] = []
        tokens.reserveCapacity(vocabularySize)
        types.reserveCapacity(vocabularySize)
        for id in 0..<vocabularySize {
            guard let token = byId[id] else {
                tokens.append("[PAD\(id)]")
                types.append(TokenType.unused.rawValue)
                continue
            }
            if let a = added[id] {
                if a.special || Self.looksSpecial(token) {
                    tokens.append(token)
                    types.append(TokenType.control.rawValue)
                } else {
                    tokens.append(token.replacingOccurrences(of: "\u{2581}", with: " "))
                    types.append(TokenType.userDefined.rawValue)
                }
            } else {
                tokens.append(token)
                types.append(TokenType.normal.rawValue)
            }
        }

        // Merges: strings as stored, or [left, right] pairs joined with a space (inner spaces as U+0120).
        var merges: [String] = []
        for (index, entry) in (model?["merges"]?.arrayValue ?? []).enumerated() {
            if let s = entry.stringValue {
                merges.append(s)
            } else if let pair = entry.arrayValue?.compactMap(\.stringValue), pair.count == 2 {
                merges.append(pair.map { $0.replacingOccurrences(of: " ", with: "\u{0120}") }.joined(separator: " "))
            } else {
                throw TokenizerError.malformedMerge(file: file, index: index, entry: "\(entry)", reason: "is neither \"a b\" nor [a, b]")
            }
        }

        guard !merges.isEmpty else {
            throw TokenizerError.invalidValue(
                file: file, path: "model.merges", value: "[]",
                reason: "a byte-level BPE tokenizer without merges cannot be exported: llama.cpp refuses to load a \"gpt2\" vocabulary "
                    + "that has none (\"cannot find tokenizer merges\")")
        }

        // The pre-tokenizer.
        let pre: String
        if let preTokenizer {
            pre = preTokenizer
        } else {
            let hash = Self.preTokenizerHash(tokenizer)
            guard let name = Self.preTokenizerName(forHash: hash) else {
                throw TokenizerError.invalidValue(
                    file: file, path: "pre_tokenizer", value: "chkhsh \(hash)",
                    reason: "llama.cpp's convert_hf_to_gguf.py does not know this pre-tokenizer (its hash of the tokenizer's ids for a "
                        + "fixed text is not in its table), so llama.cpp would not either; pass --pre-tokenizer NAME with the "
                        + "tokenizer.ggml.pre of the model this tokenizer comes from (gpt-2, llama-bpe, qwen2, smollm ...)")
            }
            pre = name
        }

        // Special token ids: tokenizer_config.json's tokens, matched to added tokens by content, else config.json's ids.
        let configJSON = try? JSONValue.parse(contentsOf: folder.appendingPathComponent("config.json"))
        func special(_ spec: SpecialTokenSpec?, _ key: String) -> Int? {
            if let content = spec?.content, let id = tokenizer.addedTokens.first(where: { $0.content == content })?.id { return id }
            return configJSON?["\(key)_token_id"]?.intValue
        }
        let config = pretrained.config
        let map = pretrained.specialTokensMap

        // add_bos / add_eos: from the post-processor first (ByteLevel: neither; TemplateProcessing: its first and last
        // special tokens), then tokenizer_config.json.
        var addBos: Bool?, addEos: Bool?
        let post = root["post_processor"]
        for processor in post?["processors"]?.arrayValue ?? (post.map { [$0] } ?? []) {
            switch processor["type"]?.stringValue {
            case "ByteLevel":
                if addBos == nil { addBos = false }
                if addEos == nil { addEos = false }
            case "TemplateProcessing":
                let single = processor["single"]?.arrayValue ?? []
                guard single.count > 1 else { continue }
                if let first = single.first?["SpecialToken"]?["id"]?.stringValue {
                    addBos = first == (config.bosToken ?? map?.bosToken)?.content
                }
                if let last = single.last?["SpecialToken"]?["id"]?.stringValue {
                    addEos = last == (config.eosToken ?? map?.eosToken)?.content
                }
            default:
                continue
            }
        }
        addBos = addBos ?? config.addBosToken
        addEos = addEos ?? config.addEosToken

        self.init(model: "gpt2", pre: pre, tokens: tokens, tokenTypes: types, merges: merges,
                  bosTokenId: special(config.bosToken ?? map?.bosToken, "bos"),
                  eosTokenId: special(config.eosToken ?? map?.eosToken, "eos"),
                  unknownTokenId: special(config.unkToken ?? map?.unkToken, "unk"),
                  paddingTokenId: special(config.padToken ?? map?.padToken, "pad"),
                  addBosToken: addBos, addEosToken: addEos, chatTemplate: pretrained.chatTemplate)
        eotTokenId = try Self.endOfTurn(pretrained, types: types)
        // gguf-py's SpecialVocab also writes add_sep_token from a TemplateProcessing's pair template (Llama 3's).
        addSepToken = try GGUFSpecialVocabulary(folder: folder, vocabularySize: vocabularySize).addSep
    }

    /// convert_hf_to_gguf.py's `does_token_look_special`.
    static func looksSpecial(_ token: String) -> Bool {
        ["<pad>", "<mask>", "<2mass>", "[@BOS@]"].contains(token)
            || (token.hasPrefix("<|") && token.hasSuffix("|>"))
            || (token.hasPrefix("<\u{FF5C}") && token.hasSuffix("\u{FF5C}>"))
            || (token.hasPrefix("<unused") && token.hasSuffix(">"))
    }

    /// Token texts that end a turn in common chat formats, for a generation_config.json eos list.
    static let endOfTurnTexts: Set<String> = ["<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>"]

    /// The control token the chat template writes right after an assistant reply; else the first
    /// generation_config.json eos id whose text is a known end of turn; nil when neither.
    static func endOfTurn(_ pretrained: PretrainedTokenizer, types: [Int]) throws -> Int? {
        let tokenizer = pretrained.tokenizer
        func isControl(_ id: Int) -> Bool { id < types.count && types[id] == TokenType.control.rawValue }
        if let template = try? pretrained.parsedChatTemplate() {
            let marker = "Tailor-end-of-turn-probe"
            let messages = [ChatMessage(role: "user", content: .string("Hi")), ChatMessage(role: "assistant", content: .string(marker))]
            var extra: [String: ChatValue] = [:]
            if let bos = pretrained.bosToken { extra["bos_token"] = .string(bos) }
            if let eos = pretrained.eosToken { extra["eos_token"] = .string(eos) }
            if let text = try? template.render(messages: messages, extra: extra).text, let range = text.range(of: marker, options: .backwards) {
                let after = String(text[range.upperBound...]).trimmingCharacters(in: .whitespacesAndNewlines)
                if let first = tokenizer.encode(after, addSpecialTokens: false).first, isControl(first) { return first }
            }
        }
        for id in pretrained.generationConfig?.eosTokenIds ?? [] {
            if let text = tokenizer.idToToken(id), endOfTurnTexts.contains(text), isControl(id) { return id }
        }
        return nil
    }
}
