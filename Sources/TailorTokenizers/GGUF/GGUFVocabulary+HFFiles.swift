import Foundation
import TailorJSON

/// tokenizer.json, tokenizer_config.json and generation_config.json for a GGUF tokenizer, built the way
/// transformers' GGUF converters build them, with the pre-tokenizer that `tokenizer.ggml.pre` means in llama.cpp.
///
/// - `gpt2` (byte-level BPE): vocabulary and merges as stored; control tokens (type 3) become special added
///   tokens, user-defined ones (type 4) plain added tokens; `ByteLevel` decoder.
/// - `llama` (SentencePiece): a byte_fallback BPE whose merges are derived from the scores as transformers'
///   `GGUFLlamaConverter` derives them, with the Metaspace-style normalizer and decoder.
extension GGUFVocabulary {
    /// llama.cpp pre-tokenizer names (`tokenizer.ggml.pre`) Tailor maps to a tokenizer.json pre_tokenizer.
    public static let supportedPreTokenizers = [
        "default", "gpt-2", "phi-2", "mpt", "olmo", "smollm", "starcoder", "refact", "codeshell", "exaone", "minerva",
        "llama3", "llama-v3", "llama-bpe", "falcon3", "dbrx", "smaug-bpe", "qwen2", "deepseek-r1-qwen", "stablelm2",
    ]

    static let gpt2Regex = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#

    /// The text of `tokenizer.ggml.pre` used for the mapping (llama.cpp treats a missing one as "default").
    var preName: String { pre ?? "default" }

    /// Whether the pre-tokenizer is llama.cpp's LLAMA3 type (which also sets ignore_merges and add_bos).
    var isLlama3Pre: Bool { ["llama3", "llama-v3", "llama-bpe", "falcon3"].contains(preName) }

    /// BOS is added: `tokenizer.ggml.add_bos_token`, else llama.cpp's default for the tokenizer type.
    public var addsBos: Bool { addBosToken ?? (model == "llama" || (model == "gpt2" && isLlama3Pre)) }
    public var addsEos: Bool { addEosToken ?? false }

    // MARK: tokenizer.json

    /// The bytes of a tokenizer.json equivalent to this GGUF tokenizer.
    /// - Throws: `TokenizerError.invalidValue` naming `tokenizer.ggml.model` / `.pre` for kinds Tailor cannot map,
    ///   `.malformedMerge` for a merge that is not "left right".
    public func tokenizerJSON(file: String = "GGUF metadata") throws -> [UInt8] {
        try tokenizerJSONValue(file: file).bytes(.pretty)
    }

    func tokenizerJSONValue(file: String) throws -> JSONValue {
        switch model {
        case "gpt2": return try gpt2TokenizerJSON(file: file)
        case "llama": return try spmTokenizerJSON(file: file)
        default:
            throw TokenizerError.invalidValue(file: file, path: "tokenizer.ggml.model", value: model,
                                              reason: "Tailor converts \"gpt2\" (byte-level BPE) and \"llama\" (SentencePiece) tokenizers")
        }
    }

    private func vocabObject() -> JSONValue {
        var seen = Set<ByteKey>()
        var members: [(String, JSONValue)] = []
        members.reserveCapacity(tokens.count)
        // A token text that appears twice keeps its first id; texts compare byte for byte, as in tokenizers' vocab map.
        for (id, token) in tokens.enumerated() where seen.insert(ByteKey(token)).inserted { members.append((token, .int(id))) }
        return jsonObject(members)
    }

    private func addedTokensArray(normalizedUserTokens: Bool) -> JSONValue {
        var entries: [JSONValue] = []
        for (id, token) in tokens.enumerated() {
            let kind = type(of: id)
            guard kind == .control || kind == .userDefined || (kind == .unknown && model == "gpt2") else { continue }
            let special = kind != .userDefined
            entries.append(jsonObject([
                ("id", .int(id)), ("content", .string(token)), ("single_word", .bool(false)), ("lstrip", .bool(false)),
                ("rstrip", .bool(false)), ("normalized", .bool(!special && normalizedUserTokens)), ("special", .bool(special)),
            ]))
        }
        return .array(entries)
    }

    private static func byteLevel(useRegex: Bool) -> JSONValue {
        jsonObject([("type", .string("ByteLevel")), ("add_prefix_space", .bool(false)), ("trim_offsets", .bool(true)),
                 ("use_regex", .bool(useRegex))])
    }

    private static func split(_ regex: String) -> JSONValue {
        jsonObject([("type", .string("Split")), ("pattern", jsonObject([("Regex", .string(regex))])),
                 ("behavior", .string("Isolated")), ("invert", .bool(false))])
    }

    /// The pre_tokenizer and normalizer that llama.cpp's pre-tokenizer `preName` amounts to.
    func preTokenizerJSON(file: String) throws -> (pre: JSONValue, normalizer: JSONValue) {
        let digits = jsonObject([("type", .string("Digits")), ("individual_digits", .bool(true))])
        let sequence = { (parts: [JSONValue]) in jsonObject([("type", .string("Sequence")), ("pretokenizers", .array(parts))]) }
        switch preName {
        case "gpt-2", "phi-2", "mpt", "olmo":
            return (Self.byteLevel(useRegex: true), .null)
        case "smollm", "starcoder", "refact", "codeshell", "exaone", "minerva":
            // llama.cpp splits every digit off first ("\p{N}"), then applies the GPT-2 expression.
            return (sequence([digits, Self.byteLevel(useRegex: true)]), .null)
        case "llama3", "llama-v3", "llama-bpe", "falcon3", "dbrx", "smaug-bpe":
            return (sequence([Self.split(KnownPattern.llama3.rawValue), Self.byteLevel(useRegex: false)]), .null)
        case "qwen2", "deepseek-r1-qwen", "stablelm2":
            // Qwen2's own tokenizer.json also NFC-normalizes (llama.cpp does not).
            return (sequence([Self.split(KnownPattern.qwen2.rawValue), Self.byteLevel(useRegex: false)]),
                    jsonObject([("type", .string("NFC"))]))
        case "default":
            return (sequence([Self.split(#"[\p{P}\$\+<=>\^~\|]+"#), Self.split(Self.gpt2Regex), Self.split(#"\p{N}+"#),
                              Self.split("[0-9][0-9][0-9]"), Self.byteLevel(useRegex: false)]), .null)
        default:
            throw TokenizerError.invalidValue(
                file: file, path: "tokenizer.ggml.pre", value: preName,
                reason: "Tailor does not know this llama.cpp pre-tokenizer; known: \(Self.supportedPreTokenizers.joined(separator: ", "))")
        }
    }

    private func postProcessorJSON(bos: String?, eos: String?) -> JSONValue {
        let bosPiece = addsBos ? bos : nil, eosPiece = addsEos ? eos : nil
        guard bosPiece != nil || eosPiece != nil else {
            return model == "gpt2" ? jsonObject([("type", .string("ByteLevel")), ("add_prefix_space", .bool(true)),
                                              ("trim_offsets", .bool(false)), ("use_regex", .bool(true))]) : .null
        }
        func special(_ token: String) -> JSONValue { jsonObject([("SpecialToken", jsonObject([("id", .string(token)), ("type_id", .int(0))]))]) }
        func sequence(_ id: String, _ typeId: Int) -> JSONValue { jsonObject([("Sequence", jsonObject([("id", .string(id)), ("type_id", .int(typeId))]))]) }
        var single: [JSONValue] = [], pair: [JSONValue] = []
        if let b = bosPiece { single.append(special(b)); pair.append(special(b)) }
        single.append(sequence("A", 0)); pair.append(sequence("A", 0))
        if let e = eosPiece { single.append(special(e)); pair.append(special(e)) }
        if let b = bosPiece { pair.append(special(b)) }
        pair.append(sequence("B", 1))
        if let e = eosPiece { pair.append(special(e)) }
        var specials: [(String, JSONValue)] = []
        for (token, id) in [(bosPiece, bosTokenId), (eosPiece, eosTokenId)] {
            guard let token, let id, !specials.contains(where: { $0.0 == token }) else { continue }
            specials.append((token, jsonObject([("id", .string(token)), ("ids", .array([.int(id)])), ("tokens", .array([.string(token)]))])))
        }
        return jsonObject([("type", .string("TemplateProcessing")), ("single", .array(single)), ("pair", .array(pair)),
                        ("special_tokens", jsonObject(specials))])
    }

    private func mergesArray(file: String) throws -> JSONValue {
        var pairs: [JSONValue] = []
        pairs.reserveCapacity(merges.count)
        for (index, merge) in merges.enumerated() {
            let parts = merge.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw TokenizerError.malformedMerge(file: file, index: index, entry: merge, reason: "tokenizer.ggml.merges entries are \"left right\"")
            }
            pairs.append(.array([.string(String(parts[0])), .string(String(parts[1]))]))
        }
        return .array(pairs)
    }

    private func gpt2TokenizerJSON(file: String) throws -> JSONValue {
        let (pre, normalizer) = try preTokenizerJSON(file: file)
        let model = jsonObject([
            ("type", .string("BPE")), ("dropout", .null), ("unk_token", .null), ("continuing_subword_prefix", .null),
            ("end_of_word_suffix", .null), ("fuse_unk", .bool(false)), ("byte_fallback", .bool(false)),
            ("ignore_merges", .bool(isLlama3Pre)), ("vocab", vocabObject()), ("merges", try mergesArray(file: file)),
        ])
        return jsonObject([
            ("version", .string("1.0")), ("truncation", .null), ("padding", .null),
            ("added_tokens", addedTokensArray(normalizedUserTokens: false)), ("normalizer", normalizer),
            ("pre_tokenizer", pre), ("post_processor", postProcessorJSON(bos: token(bosTokenId), eos: token(eosTokenId))),
            ("decoder", jsonObject([("type", .string("ByteLevel")), ("add_prefix_space", .bool(true)), ("trim_offsets", .bool(true)),
                                 ("use_regex", .bool(true))])),
            ("model", model),
        ])
    }

    // MARK: SentencePiece ("llama")

    /// Merges derived from a SentencePiece vocabulary: every split of a token into two tokens, ranked by the
    /// merged token's score (highest first), ties by the pieces' scores, as transformers' GGUF converter does.
    func spmMerges() -> [(String, String)] {
        var scoreOf: [String: Float] = [:]
        for (id, token) in tokens.enumerated() where scoreOf[token] == nil {
            scoreOf[token] = id < scores.count ? scores[id] : 0
        }
        var merges: [(left: String, right: String, score: Float, order: Int)] = []
        var order = 0
        for token in tokens {
            let scalars = Array(token.unicodeScalars)
            guard scalars.count > 1, let score = scoreOf[token] else { continue }
            var local: [(String, String)] = []
            for cut in 1..<scalars.count {
                var left = String.UnicodeScalarView(), right = String.UnicodeScalarView()
                left.append(contentsOf: scalars[..<cut])
                right.append(contentsOf: scalars[cut...])
                let l = String(left), r = String(right)
                if scoreOf[l] != nil, scoreOf[r] != nil { local.append((l, r)) }
            }
            local.sort { a, b in
                let (al, ar) = (scoreOf[a.0]!, scoreOf[a.1]!), (bl, br) = (scoreOf[b.0]!, scoreOf[b.1]!)
                return al != bl ? al > bl : ar > br
            }
            for (l, r) in local {
                merges.append((l, r, score, order))
                order += 1
            }
        }
        // Stable: equal scores keep vocabulary order.
        merges.sort { $0.score != $1.score ? $0.score > $1.score : $0.order < $1.order }
        return merges.map { ($0.left, $0.right) }
    }

    private func spmTokenizerJSON(file: String) throws -> JSONValue {
        let prefix = addSpacePrefix ?? true
        let unk = token(unknownTokenId)
        let model = jsonObject([
            ("type", .string("BPE")), ("dropout", .null), ("unk_token", unk.map(JSONValue.string) ?? .null),
            ("continuing_subword_prefix", .null), ("end_of_word_suffix", .null), ("fuse_unk", .bool(true)),
            ("byte_fallback", .bool(true)), ("ignore_merges", .bool(false)), ("vocab", vocabObject()),
            ("merges", .array(spmMerges().map { .array([.string($0.0), .string($0.1)]) })),
        ])
        var normalizers: [JSONValue] = []
        if prefix { normalizers.append(jsonObject([("type", .string("Prepend")), ("prepend", .string("▁"))])) }
        normalizers.append(jsonObject([("type", .string("Replace")), ("pattern", jsonObject([("String", .string(" "))])), ("content", .string("▁"))]))
        var decoders: [JSONValue] = [
            jsonObject([("type", .string("Replace")), ("pattern", jsonObject([("String", .string("▁"))])), ("content", .string(" "))]),
            jsonObject([("type", .string("ByteFallback"))]),
            jsonObject([("type", .string("Fuse"))]),
        ]
        if prefix { decoders.append(jsonObject([("type", .string("Strip")), ("content", .string(" ")), ("start", .int(1)), ("stop", .int(0))])) }
        return jsonObject([
            ("version", .string("1.0")), ("truncation", .null), ("padding", .null),
            ("added_tokens", addedTokensArray(normalizedUserTokens: false)),
            ("normalizer", jsonObject([("type", .string("Sequence")), ("normalizers", .array(normalizers))])),
            ("pre_tokenizer", .null),
            ("post_processor", postProcessorJSON(bos: token(bosTokenId), eos: token(eosTokenId))),
            ("decoder", jsonObject([("type", .string("Sequence")), ("decoders", .array(decoders))])),
            ("model", model),
        ])
    }

    // MARK: tokenizer_config.json, generation_config.json

    /// tokenizer_config.json: special tokens, add_bos/add_eos, the chat template (as text), model_max_length and
    /// `added_tokens_decoder`; `tokenizer_class` PreTrainedTokenizerFast so transformers uses tokenizer.json as is.
    public func tokenizerConfigJSON() -> [UInt8] {
        var members: [(String, JSONValue)] = [
            ("add_bos_token", .bool(addsBos)), ("add_eos_token", .bool(addsEos)),
        ]
        var decoder: [(String, JSONValue)] = []
        for (id, token) in tokens.enumerated() {
            let kind = type(of: id)
            guard kind == .control || kind == .userDefined || (kind == .unknown && model == "gpt2") else { continue }
            decoder.append((String(id), jsonObject([
                ("content", .string(token)), ("lstrip", .bool(false)), ("normalized", .bool(false)), ("rstrip", .bool(false)),
                ("single_word", .bool(false)), ("special", .bool(kind != .userDefined)),
            ])))
        }
        members.append(("added_tokens_decoder", jsonObject(decoder)))
        for (key, id) in [("bos_token", bosTokenId), ("eos_token", eosTokenId), ("pad_token", paddingTokenId), ("unk_token", unknownTokenId)] {
            if let text = token(id) { members.append((key, .string(text))) }
        }
        if let chatTemplate { members.append(("chat_template", .string(chatTemplate))) }
        members.append(("clean_up_tokenization_spaces", .bool(false)))
        if let contextLength { members.append(("model_max_length", .int(contextLength))) }
        members.append(("tokenizer_class", .string("PreTrainedTokenizerFast")))
        return jsonObject(members).bytes(.pretty)
    }

    /// generation_config.json with the bos/eos/pad ids.
    public func generationConfigJSON() -> [UInt8] {
        var members: [(String, JSONValue)] = [("_from_model_config", .bool(true))]
        if let bosTokenId { members.append(("bos_token_id", .int(bosTokenId))) }
        if let eosTokenId { members.append(("eos_token_id", .int(eosTokenId))) }
        if let paddingTokenId { members.append(("pad_token_id", .int(paddingTokenId))) }
        return jsonObject(members).bytes(.pretty)
    }

    // MARK: In memory

    /// The tokenizer itself (built from `tokenizerJSON()`).
    public func makeTokenizer(file: String = "GGUF metadata") throws -> Tokenizer {
        try Tokenizer(json: try tokenizerJSON(file: file), file: file)
    }

    /// Writes tokenizer.json, tokenizer_config.json and generation_config.json into `folder`.
    /// - Throws: the conversion's `TokenizerError`s; `TokenizerError.fileNotReadable` naming the file for I/O errors.
    public func writeHuggingFaceFiles(to folder: URL, source: String = "GGUF metadata") throws {
        let files: [(String, [UInt8])] = [
            ("tokenizer.json", try tokenizerJSON(file: source)),
            ("tokenizer_config.json", tokenizerConfigJSON()),
            ("generation_config.json", generationConfigJSON()),
        ]
        for (name, bytes) in files {
            let url = folder.appendingPathComponent(name)
            do { try Data(bytes).write(to: url, options: .atomic) } catch {
                throw TokenizerError.fileNotReadable(file: url.path, reason: "cannot write: \(error.localizedDescription)")
            }
        }
    }
}

extension PretrainedTokenizer {
    /// The tokenizer of a GGUF file with its tokenizer_config / generation_config equivalents, as if loaded from the
    /// folder `GGUFVocabulary.writeHuggingFaceFiles` writes.
    public init(gguf vocabulary: GGUFVocabulary, file: String = "GGUF metadata") throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-gguf-tokenizer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try vocabulary.writeHuggingFaceFiles(to: folder, source: file)
        try self.init(folder: folder)
    }
}

/// An object of `members` in order (tokenizer.json's key order is the tokenizers library's).
private func jsonObject(_ members: [(String, JSONValue)]) -> JSONValue { .object(JSONObject(members)) }
