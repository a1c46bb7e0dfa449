import Foundation
import TailorFormats
import TailorJSON
import TailorModels
import TailorTokenizers

/// The llama.cpp architectures Tailor writes, and the Hugging Face classes each one is (convert_hf_to_gguf.py
/// writes Mistral as llama).
enum LlamaCppArchitecture: String {
    case llama, qwen2, qwen3

    static let byHuggingFaceName: [(hf: String, arch: LlamaCppArchitecture)] = [
        ("LlamaForCausalLM", .llama), ("MistralForCausalLM", .llama), ("Qwen2ForCausalLM", .qwen2), ("Qwen3ForCausalLM", .qwen3),
    ]

    /// llama.cpp rotates adjacent pairs; the converter reorders llama's q/k rows so that equals transformers' halves.
    var permutesQK: Bool { self == .llama }
}

/// config.json's facts the metadata needs beyond `ModelConfig`.
struct ConfigFacts {
    let arch: LlamaCppArchitecture
    /// config.json names `head_dim` (the converter then writes key_length / value_length).
    let hasHeadDim: Bool
}

extension GGUFExport {
    /// The llama.cpp architecture of the folder's config.json.
    /// - Throws: `ExportError.unsupportedArchitecture` naming config.json, `ModelError.unreadable` when it cannot be read.
    static func architecture(of folder: URL) throws -> ConfigFacts {
        let url = folder.appendingPathComponent("config.json")
        let root: JSONValue
        do { root = try JSONValue(parsing: [UInt8](try Data(contentsOf: url)), file: url.path) } catch {
            throw ModelError.unreadable(path: url.path, reason: "\(error)")
        }
        let name = root["architectures"]?.arrayValue?.first?.stringValue ?? "(none)"
        guard let arch = LlamaCppArchitecture.byHuggingFaceName.first(where: { $0.hf == name })?.arch else {
            throw ExportError.unsupportedArchitecture(name: name, file: url.path,
                                                      supported: LlamaCppArchitecture.byHuggingFaceName.map(\.hf))
        }
        return ConfigFacts(arch: arch, hasHeadDim: root["head_dim"].map { !$0.isNull } ?? false)
    }

    /// general.* and the architecture's hyperparameters, in the order convert_hf_to_gguf.py adds them.
    static func modelMetadata(config c: ModelConfig, arch facts: ConfigFacts, name: String,
                              outType: GGUFOutType) -> [(key: String, value: GGUFValue)] {
        let a = facts.arch.rawValue
        func u32(_ v: Int) -> GGUFValue { .uint32(UInt32(clamping: v)) }
        var m: [(key: String, value: GGUFValue)] = [
            ("general.architecture", .string(a)),
            ("general.type", .string("model")),
            ("general.name", .string(name)),
            ("\(a).block_count", u32(c.layerCount)),
            ("\(a).context_length", u32(c.maxPositionEmbeddings)),
            ("\(a).embedding_length", u32(c.hiddenSize)),
            ("\(a).feed_forward_length", u32(c.intermediateSize)),
            ("\(a).attention.head_count", u32(c.headCount)),
            ("\(a).attention.head_count_kv", u32(c.kvHeadCount)),
        ]
        if case let .linear(factor) = c.ropeScaling {
            m.append(("\(a).rope.scaling.type", .string("linear")))
            m.append(("\(a).rope.scaling.factor", .float32(Float(factor))))
        }
        if case let .llama3(_, _, _, original) = c.ropeScaling {
            // Not written by convert_hf_to_gguf.py (llama.cpp reads the scaling from rope_freqs.weight and ignores this
            // key without YaRN); written so Tailor's importer finds the scaling's original length again.
            m.append(("\(a).rope.scaling.original_context_length", u32(original)))
        }
        m.append(("\(a).rope.freq_base", .float32(Float(c.ropeTheta))))
        m.append(("\(a).attention.layer_norm_rms_epsilon", .float32(c.rmsNormEps)))
        if facts.hasHeadDim {
            m.append(("\(a).attention.key_length", u32(c.headDim)))
            m.append(("\(a).attention.value_length", u32(c.headDim)))
        }
        m.append(("general.file_type", .uint32(outType.fileType)))
        if facts.arch == .llama {
            m.append(("\(a).vocab_size", u32(c.vocabSize)))
            m.append(("\(a).rope.dimension_count", u32(c.headDim)))
        }
        m.append(("general.quantization_version", .uint32(2)))
        return m
    }

    /// tokenizer.ggml.* and tokenizer.chat_template.
    static func tokenizerMetadata(_ v: GGUFVocabulary) -> [(key: String, value: GGUFValue)] {
        var m: [(key: String, value: GGUFValue)] = [("tokenizer.ggml.model", .string(v.model))]
        if let pre = v.pre { m.append(("tokenizer.ggml.pre", .string(pre))) }
        m.append(("tokenizer.ggml.tokens", .array(elementType: .string, v.tokens.map { .string($0) })))
        if !v.scores.isEmpty { m.append(("tokenizer.ggml.scores", .array(elementType: .float32, v.scores.map { .float32($0) }))) }
        if !v.tokenTypes.isEmpty {
            m.append(("tokenizer.ggml.token_type", .array(elementType: .int32, v.tokenTypes.map { .int32(Int32(clamping: $0)) })))
        }
        if !v.merges.isEmpty { m.append(("tokenizer.ggml.merges", .array(elementType: .string, v.merges.map { .string($0) }))) }
        for (key, id) in [("bos", v.bosTokenId), ("eos", v.eosTokenId), ("unknown", v.unknownTokenId), ("padding", v.paddingTokenId),
                          ("eot", v.eotTokenId)] {
            if let id, id >= 0 { m.append(("tokenizer.ggml.\(key)_token_id", .uint32(UInt32(clamping: id)))) }
        }
        if let add = v.addBosToken { m.append(("tokenizer.ggml.add_bos_token", .bool(add))) }
        if let add = v.addEosToken { m.append(("tokenizer.ggml.add_eos_token", .bool(add))) }
        if let add = v.addSepToken { m.append(("tokenizer.ggml.add_sep_token", .bool(add))) }
        if let add = v.addSpacePrefix { m.append(("tokenizer.ggml.add_space_prefix", .bool(add))) }
        if let template = v.chatTemplate { m.append(("tokenizer.chat_template", .string(template))) }
        return m
    }
}
