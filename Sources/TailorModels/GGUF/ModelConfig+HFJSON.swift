#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TailorJSON

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

extension ModelConfig {
    /// A Hugging Face config.json for this config (transformers 5 spelling, `rope_parameters`, plus `rope_theta`
    /// for older readers), which `ModelConfig(json:)` and transformers' `AutoConfig` read back to the same values,
    /// written as transformers writes it (`json.dumps(config, indent=2, sort_keys=True) + "\n"`).
    /// - Parameters:
    ///   - dtype: the `dtype` field ("float32", "bfloat16").
    ///   - padTokenId: `pad_token_id`, when known.
    public func huggingFaceJSON(dtype: String = "float32", padTokenId: Int? = nil) throws -> Data {
        var rope: JSONObject = ["rope_type": "default", "rope_theta": .double(ropeTheta)]
        switch ropeScaling {
        case .none:
            break
        case let .linear(factor):
            rope["rope_type"] = "linear"
            rope["factor"] = .double(factor)
        case let .llama3(factor, low, high, original):
            rope["rope_type"] = "llama3"
            rope["factor"] = .double(factor)
            rope["low_freq_factor"] = .double(low)
            rope["high_freq_factor"] = .double(high)
            rope["original_max_position_embeddings"] = .int(original)
        }
        var json: JSONObject = [
            "architectures": [.string(architecture.rawValue)], "model_type": .string(architecture.modelType),
            "vocab_size": .int(vocabSize), "hidden_size": .int(hiddenSize), "intermediate_size": .int(intermediateSize),
            "num_hidden_layers": .int(layerCount), "num_attention_heads": .int(headCount),
            "num_key_value_heads": .int(kvHeadCount), "head_dim": .int(headDim), "hidden_act": "silu",
            "rms_norm_eps": .double(Double(rmsNormEps)), "rope_theta": .double(ropeTheta), "rope_parameters": .object(rope),
            "max_position_embeddings": .int(maxPositionEmbeddings), "tie_word_embeddings": .bool(tieWordEmbeddings),
            "attention_dropout": 0.0, "initializer_range": 0.02, "use_cache": true, "dtype": .string(dtype),
        ]
        switch architecture {
        case .llama:
            json["attention_bias"] = .bool(qkvBias)
            json["mlp_bias"] = .bool(mlpBias)
        case .qwen3:
            json["attention_bias"] = .bool(qkvBias)
            json["use_sliding_window"] = false
        case .qwen2:
            json["use_sliding_window"] = false
        case .mistral:
            json["sliding_window"] = slidingWindow.map { .int($0) }
        }
        json["bos_token_id"] = bosTokenId.map { .int($0) }
        if eosTokenIds.count == 1 {
            json["eos_token_id"] = .int(eosTokenIds[0])
        } else if !eosTokenIds.isEmpty {
            json["eos_token_id"] = .array(eosTokenIds.map { .int($0) })
        }
        json["pad_token_id"] = padTokenId.map { .int($0) }
        return Data(JSONValue.object(json).bytes(.pythonIndented.sortingKeys()) + [0x0A])
    }
}
