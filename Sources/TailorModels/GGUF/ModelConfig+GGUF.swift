import TailorFormats

/// Architectures llama.cpp names in `general.architecture` that Tailor reads, and the Hugging Face class each one is.
/// (llama.cpp's converter writes Llama, Mistral, SmolLM and DeepSeek-LLM files as "llama".)
enum GGUFArchitecture: String, CaseIterable {
    case llama, qwen2, qwen3

    var architecture: Architecture {
        switch self {
        case .llama: return .llama
        case .qwen2: return .qwen2
        case .qwen3: return .qwen3
        }
    }
}

extension ModelConfig {
    /// The hyperparameters of a llama.cpp GGUF file, from its `<arch>.*` metadata and tensor shapes.
    ///
    /// Reads `general.architecture` (llama, qwen2, qwen3), `<arch>.block_count`, `.embedding_length`,
    /// `.feed_forward_length`, `.attention.head_count(_kv)`, `.attention.key_length` (head size, when not
    /// embedding_length / head_count), `.attention.layer_norm_rms_epsilon`, `.rope.freq_base`,
    /// `.rope.scaling.type/.factor`, `.context_length`; the vocabulary size from `token_embd.weight`; biases and
    /// tied embeddings from which tensors are present; bos/eos ids from `tokenizer.ggml.*`.
    /// - Throws: `ModelError.unsupportedArchitecture` (naming `general.architecture`), `FormatError.metadataKey`
    ///   for a missing or mistyped key, `ModelError.missingWeight` when `token_embd.weight` is absent,
    ///   `ModelError.badConfig` for values Tailor cannot use (naming the key).
    public init(gguf file: GGUFFile) throws {
        let path = file.url.path
        let supported = GGUFArchitecture.allCases.map(\.rawValue)
        guard let name = file.architecture else {
            throw ModelError.badConfig(file: path, field: "general.architecture",
                                       problem: "is missing; expected one of \(supported.joined(separator: ", "))")
        }
        guard let arch = GGUFArchitecture(rawValue: name) else {
            throw ModelError.unsupportedArchitecture(name, file: "\(path) (general.architecture)", supported: supported)
        }
        func key(_ suffix: String) -> String { "\(name).\(suffix)" }
        func optionalInt(_ k: String) throws -> Int? { file.has(k) ? try file.int(k) : nil }

        let hidden = try file.int(key("embedding_length"))
        let heads = try file.int(key("attention.head_count"))
        let kvHeads = try optionalInt(key("attention.head_count_kv")) ?? heads
        guard hidden > 0, heads > 0, kvHeads > 0, heads % kvHeads == 0 else {
            throw ModelError.badConfig(file: path, field: key("attention.head_count_kv"),
                                       problem: "(\(kvHeads)) must divide \(key("attention.head_count")) (\(heads)), and both must be positive")
        }
        let headDim = try optionalInt(key("attention.key_length")) ?? hidden / heads
        guard headDim > 0, headDim % 2 == 0 else {
            throw ModelError.badConfig(file: path, field: key("attention.key_length"), problem: "(\(headDim)) must be a positive even number")
        }
        if let valueLength = try optionalInt(key("attention.value_length")), valueLength != headDim {
            throw ModelError.badConfig(file: path, field: key("attention.value_length"),
                                       problem: "(\(valueLength)) differs from the key length \(headDim); Tailor needs them equal")
        }
        guard let embedding = file.tensor(GGUFTensorNames.embedding) else {
            throw ModelError.missingWeight(name: GGUFTensorNames.embedding, source: path, expectedShape: [-1, hidden])
        }
        let vocab = embedding.shape[0]
        let theta = file.has(key("rope.freq_base")) ? try file.double(key("rope.freq_base")) : 10000
        let eps = file.has(key("attention.layer_norm_rms_epsilon")) ? try file.float(key("attention.layer_norm_rms_epsilon")) : 1e-6
        let scaling = try Self.ggufRopeScaling(file, arch: name, theta: theta, headDim: headDim)
        let tokenizerEos = file.has("tokenizer.ggml.eos_token_id") ? try file.int("tokenizer.ggml.eos_token_id") : nil

        self.init(architecture: arch.architecture,
                  vocabSize: vocab,
                  hiddenSize: hidden,
                  intermediateSize: try file.int(key("feed_forward_length")),
                  layerCount: try file.int(key("block_count")),
                  headCount: heads,
                  kvHeadCount: kvHeads,
                  headDim: headDim,
                  rmsNormEps: eps,
                  ropeTheta: theta,
                  ropeScaling: scaling,
                  maxPositionEmbeddings: try optionalInt(key("context_length")) ?? 2048,
                  tieWordEmbeddings: file.tensor(GGUFTensorNames.output) == nil,
                  qkvBias: file.tensor("blk.0.attn_q.bias") != nil,
                  outputBias: file.tensor("blk.0.attn_output.bias") != nil,
                  mlpBias: file.tensor("blk.0.ffn_gate.bias") != nil,
                  bosTokenId: file.has("tokenizer.ggml.bos_token_id") ? try file.int("tokenizer.ggml.bos_token_id") : nil,
                  eosTokenIds: tokenizerEos.map { [$0] } ?? [])
    }

    /// RoPE scaling from `<arch>.rope.scaling.*`, or from the `rope_freqs.weight` tensor llama.cpp's converter writes
    /// for Llama 3.1/3.2 (recognised when it equals the "llama3" scaling of a known parameter set).
    static func ggufRopeScaling(_ file: GGUFFile, arch: String, theta: Double, headDim: Int) throws -> RopeScaling {
        let path = file.url.path
        let typeKey = "\(arch).rope.scaling.type"
        let type = file.has(typeKey) ? try file.string(typeKey) : "none"
        switch type {
        case "none":
            break
        case "linear":
            let factorKey = "\(arch).rope.scaling.factor"
            let factor = file.has(factorKey) ? try file.double(factorKey) : 1
            return factor == 1 ? .none : .linear(factor: factor)
        default:
            throw ModelError.badConfig(file: path, field: typeKey, problem: "is '\(type)'; Tailor supports none and linear")
        }
        guard file.tensor("rope_freqs.weight") != nil else { return .none }
        let factors = try file.floats("rope_freqs.weight")
        guard factors.count == headDim / 2 else {
            throw ModelError.weightShapeMismatch(name: "rope_freqs.weight", source: path, expected: [headDim / 2], got: [factors.count])
        }
        // llama.cpp divides each inverse frequency by its factor; find the llama3 parameters that do the same.
        let largest = Double(factors.max() ?? 1)
        // Tailor's exporter also writes the original context length; llama.cpp's converter does not.
        let originalKey = "\(arch).rope.scaling.original_context_length"
        let written = file.has(originalKey) ? [try file.int(originalKey)] : []
        for original in written + [8192, 4096, 2048] {
            let candidate = RopeScaling.llama3(factor: largest, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: original)
            var plain = ModelConfig(architecture: .llama, vocabSize: 1, hiddenSize: headDim, intermediateSize: 1,
                                    layerCount: 1, headCount: 1, kvHeadCount: 1, headDim: headDim, ropeTheta: theta)
            let base = RotaryEmbedding.inverseFrequencies(plain)
            plain.ropeScaling = candidate
            let scaled = RotaryEmbedding.inverseFrequencies(plain)
            let matches = zip(zip(base, scaled), factors).allSatisfy { pair, factor in
                abs(Double(pair.0 / pair.1) - Double(factor)) <= 1e-3 * Double(factor)
            }
            if matches { return candidate }
        }
        throw ModelError.badConfig(file: path, field: "rope_freqs.weight",
                                   problem: "holds RoPE frequency factors that match no llama3 scaling Tailor knows (factor \(largest), low 1, high 4)")
    }
}
