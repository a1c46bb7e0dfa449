#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension Architecture {
    /// config.json's `model_type`.
    public var modelType: String {
        switch self {
        case .llama: return "llama"
        case .mistral: return "mistral"
        case .qwen2: return "qwen2"
        case .qwen3: return "qwen3"
        }
    }
}

/// The fields of a Hugging Face config.json that Tailor writes (nil fields are left out).
struct HFConfigJSON: Encodable {
    struct RopeParameters: Encodable {
        var rope_type: String
        var rope_theta: Double
        var factor: Double?
        var low_freq_factor: Double?
        var high_freq_factor: Double?
        var original_max_position_embeddings: Int?
    }
    var architectures: [String]
    var model_type: String
    var vocab_size: Int
    var hidden_size: Int
    var intermediate_size: Int
    var num_hidden_layers: Int
    var num_attention_heads: Int
    var num_key_value_heads: Int
    var head_dim: Int
    var hidden_act = "silu"
    var rms_norm_eps: Double
    var rope_theta: Double
    var rope_parameters: RopeParameters
    var max_position_embeddings: Int
    var tie_word_embeddings: Bool
    var attention_bias: Bool?
    var mlp_bias: Bool?
    var use_sliding_window: Bool?
    var sliding_window: Int?
    var attention_dropout = 0.0
    var initializer_range = 0.02
    var use_cache = true
    var dtype: String
    var bos_token_id: Int?
    var eos_token_id: EOS?
    var pad_token_id: Int?

    enum EOS: Encodable {
        case one(Int), many([Int])
        func encode(to encoder: Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case let .one(id): try container.encode(id)
            case let .many(ids): try container.encode(ids)
            }
        }
    }
}

extension ModelConfig {
    /// A Hugging Face config.json for this config (transformers 5 spelling, `rope_parameters`, plus `rope_theta`
    /// for older readers), which `ModelConfig(json:)` and transformers' `AutoConfig` read back to the same values.
    /// - Parameters:
    ///   - dtype: the `dtype` field ("float32", "bfloat16").
    ///   - padTokenId: `pad_token_id`, when known.
    public func huggingFaceJSON(dtype: String = "float32", padTokenId: Int? = nil) throws -> Data {
        var rope = HFConfigJSON.RopeParameters(rope_type: "default", rope_theta: ropeTheta)
        switch ropeScaling {
        case .none:
            break
        case let .linear(factor):
            rope.rope_type = "linear"
            rope.factor = factor
        case let .llama3(factor, low, high, original):
            rope.rope_type = "llama3"
            rope.factor = factor
            rope.low_freq_factor = low
            rope.high_freq_factor = high
            rope.original_max_position_embeddings = original
        }
        var json = HFConfigJSON(
            architectures: [architecture.rawValue], model_type: architecture.modelType, vocab_size: vocabSize,
            hidden_size: hiddenSize, intermediate_size: intermediateSize, num_hidden_layers: layerCount,
            num_attention_heads: headCount, num_key_value_heads: kvHeadCount, head_dim: headDim,
            rms_norm_eps: Double(rmsNormEps), rope_theta: ropeTheta, rope_parameters: rope,
            max_position_embeddings: maxPositionEmbeddings, tie_word_embeddings: tieWordEmbeddings, dtype: dtype,
            bos_token_id: bosTokenId, pad_token_id: padTokenId)
        switch architecture {
        case .llama:
            json.attention_bias = qkvBias
            json.mlp_bias = mlpBias
        case .qwen3:
            json.attention_bias = qkvBias
            json.use_sliding_window = false
        case .qwen2:
            json.use_sliding_window = false
        case .mistral:
            json.sliding_window = slidingWindow
        }
        if eosTokenIds.count == 1 { json.eos_token_id = .one(eosTokenIds[0]) } else if !eosTokenIds.isEmpty { json.eos_token_id = .many(eosTokenIds) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(json)
    }
}
