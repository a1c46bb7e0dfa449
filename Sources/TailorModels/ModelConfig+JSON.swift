#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension ModelConfig {
    /// Reads a Hugging Face config.json (transformers 4.x and 5.x spellings).
    public init(contentsOf url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ModelError.unreadable(path: url.path, reason: "cannot read config.json (\(error))")
        }
        try self.init(json: data, file: url.path)
    }

    /// Reads config.json bytes; `file` names the source in errors.
    public init(json data: Data, file: String = "config.json") throws {
        let config = try ConfigReader(data: data, file: file)
        let supported = Architecture.allCases.map(\.rawValue)
        guard let name = config.object["architectures"]?.arrayValue?.first?.stringValue else {
            throw ModelError.badConfig(file: file, field: "architectures",
                                       problem: "is missing; expected one of \(supported.joined(separator: ", "))")
        }
        guard let architecture = Architecture(rawValue: name) else {
            throw ModelError.unsupportedArchitecture(name, file: file, supported: supported)
        }
        if let activation = config.string("hidden_act"), activation != "silu" {
            throw ModelError.badConfig(file: file, field: "hidden_act", problem: "is '\(activation)'; only 'silu' (SwiGLU) is supported")
        }
        let hidden = try config.int("hidden_size")
        let heads = try config.int("num_attention_heads")
        guard heads > 0, hidden > 0 else {
            throw ModelError.badConfig(file: file, field: "num_attention_heads", problem: "and hidden_size must be positive")
        }
        let kvHeads = try config.int("num_key_value_heads", default: heads) ?? heads
        guard kvHeads > 0, heads % kvHeads == 0 else {
            throw ModelError.badConfig(file: file, field: "num_key_value_heads",
                                       problem: "(\(kvHeads)) must divide num_attention_heads (\(heads))")
        }
        let headDim = try config.int("head_dim", default: hidden / heads) ?? hidden / heads
        guard headDim > 0, headDim % 2 == 0 else {
            throw ModelError.badConfig(file: file, field: "head_dim", problem: "(\(headDim)) must be a positive even number")
        }
        let (theta, scaling) = try Self.readRope(config)
        let attentionBias = try config.bool("attention_bias", default: false)
        var window: Int? = nil
        let windowEnabled = try architecture == .mistral || config.bool("use_sliding_window", default: false)
        if windowEnabled, let size = try config.int("sliding_window", default: nil) { window = size }

        self.init(architecture: architecture,
                  vocabSize: try config.int("vocab_size"),
                  hiddenSize: hidden,
                  intermediateSize: try config.int("intermediate_size"),
                  layerCount: try config.int("num_hidden_layers"),
                  headCount: heads,
                  kvHeadCount: kvHeads,
                  headDim: headDim,
                  rmsNormEps: Float(try config.double("rms_norm_eps", default: 1e-6)),
                  ropeTheta: theta,
                  ropeScaling: scaling,
                  maxPositionEmbeddings: try config.int("max_position_embeddings", default: 2048) ?? 2048,
                  tieWordEmbeddings: try config.bool("tie_word_embeddings", default: false),
                  qkvBias: architecture == .qwen2 ? true : attentionBias,
                  outputBias: architecture == .qwen2 ? false : attentionBias,
                  mlpBias: try config.bool("mlp_bias", default: false),
                  slidingWindow: window,
                  bosTokenId: try Self.tokenIds(config, "bos_token_id", [config.int("bos_token_id", default: nil)].compactMap { $0 }).first,
                  eosTokenIds: try Self.tokenIds(config, "eos_token_id", config.intList("eos_token_id")))
    }

    /// `ids` of `field`, each checked to be a token id (0...Int32.max, as ids are `Int32` in batches and generation).
    private static func tokenIds(_ config: ConfigReader, _ field: String, _ ids: [Int]) throws -> [Int] {
        for id in ids where id < 0 || id > Int(Int32.max) {
            throw ModelError.badConfig(file: config.file, field: field, problem: "is \(id); a token id must be an integer from 0 to \(Int32.max)")
        }
        return ids
    }

    /// rope_theta + rope_scaling (transformers 4) or rope_parameters (transformers 5).
    private static func readRope(_ config: ConfigReader) throws -> (Double, RopeScaling) {
        var theta = try config.double("rope_theta", default: 10000)
        var parameters: ConfigReader? = nil
        var field = "rope_scaling"
        if let object = config.object["rope_parameters"]?.objectValue {
            parameters = ConfigReader(object: object, file: config.file)
            field = "rope_parameters"
            theta = try parameters!.double("rope_theta", default: theta)
        } else if let object = config.object["rope_scaling"]?.objectValue {
            parameters = ConfigReader(object: object, file: config.file)
        }
        guard let parameters else { return (theta, .none) }
        let type = parameters.string("rope_type") ?? parameters.string("type") ?? "default"
        switch type {
        case "default":
            return (theta, .none)
        case "dynamic":
            // Dynamic NTK changes nothing until a sequence exceeds max_position_embeddings.
            return (theta, .none)
        case "linear":
            return (theta, .linear(factor: try parameters.double("factor", default: 1)))
        case "llama3":
            return (theta, .llama3(factor: try parameters.double("factor", default: 8),
                                   lowFreqFactor: try parameters.double("low_freq_factor", default: 1),
                                   highFreqFactor: try parameters.double("high_freq_factor", default: 4),
                                   originalMaxPositions: try parameters.int("original_max_position_embeddings", default: 8192) ?? 8192))
        default:
            throw ModelError.badConfig(file: config.file, field: "\(field).rope_type",
                                       problem: "is '\(type)'; supported: default, linear, dynamic, llama3")
        }
    }
}
