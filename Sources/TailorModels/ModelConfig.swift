/// The decoder architectures Tailor implements.
public enum Architecture: String, Sendable, CaseIterable {
    case llama = "LlamaForCausalLM"
    case mistral = "MistralForCausalLM"
    case qwen2 = "Qwen2ForCausalLM"
    case qwen3 = "Qwen3ForCausalLM"
}

/// Rotary position embedding frequencies, as config.json's rope parameters describe them.
public enum RopeScaling: Sendable, Equatable {
    /// inv_freq = 1 / theta^(2i/d).
    case none
    /// Positions divided by `factor` ("linear").
    case linear(factor: Double)
    /// Llama 3.1's frequency-band scaling ("llama3").
    case llama3(factor: Double, lowFreqFactor: Double, highFreqFactor: Double, originalMaxPositions: Int)
}

/// A decoder-only causal LM's hyperparameters, Swift-named; `ModelConfig+JSON` reads them from
/// a Hugging Face config.json.
public struct ModelConfig: Sendable, Equatable {
    public var architecture: Architecture
    public var vocabSize: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var kvHeadCount: Int
    public var headDim: Int
    public var rmsNormEps: Float
    public var ropeTheta: Double
    public var ropeScaling: RopeScaling
    public var maxPositionEmbeddings: Int
    public var tieWordEmbeddings: Bool
    /// Bias on q/k/v projections (Qwen2 always; Llama/Qwen3 when attention_bias).
    public var qkvBias: Bool
    /// Bias on the output projection (Llama/Qwen3 attention_bias).
    public var outputBias: Bool
    /// Bias on gate/up/down (Llama mlp_bias).
    public var mlpBias: Bool
    /// RMSNorm on each head's q and k before RoPE (Qwen3).
    public var qkNorm: Bool
    /// Attention window (Mistral/Qwen2 sliding_window when enabled); nil = full causal.
    public var slidingWindow: Int?
    public var bosTokenId: Int?
    public var eosTokenIds: [Int]

    public init(architecture: Architecture, vocabSize: Int, hiddenSize: Int, intermediateSize: Int,
                layerCount: Int, headCount: Int, kvHeadCount: Int, headDim: Int? = nil,
                rmsNormEps: Float = 1e-6, ropeTheta: Double = 10000, ropeScaling: RopeScaling = .none,
                maxPositionEmbeddings: Int = 2048, tieWordEmbeddings: Bool = false,
                qkvBias: Bool? = nil, outputBias: Bool = false, mlpBias: Bool = false,
                slidingWindow: Int? = nil, bosTokenId: Int? = nil, eosTokenIds: [Int] = []) {
        self.architecture = architecture
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.layerCount = layerCount
        self.headCount = headCount
        self.kvHeadCount = kvHeadCount
        self.headDim = headDim ?? hiddenSize / headCount
        self.rmsNormEps = rmsNormEps
        self.ropeTheta = ropeTheta
        self.ropeScaling = ropeScaling
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.tieWordEmbeddings = tieWordEmbeddings
        self.qkvBias = qkvBias ?? (architecture == .qwen2)
        self.outputBias = outputBias
        self.mlpBias = mlpBias
        self.qkNorm = architecture == .qwen3
        self.slidingWindow = slidingWindow
        self.bosTokenId = bosTokenId
        self.eosTokenIds = eosTokenIds
    }

    /// Width of all query heads together.
    public var qDim: Int { headCount * headDim }
    /// Width of all key (or value) heads together.
    public var kvDim: Int { kvHeadCount * headDim }

    /// Parameter count (tied embeddings counted once).
    public var parameterCount: Int {
        let c = hiddenSize, i = intermediateSize
        var perLayer = c * qDim + 2 * c * kvDim + qDim * c + 3 * c * i + 2 * c
        if qkvBias { perLayer += qDim + 2 * kvDim }
        if outputBias { perLayer += c }
        if mlpBias { perLayer += 2 * i + c }
        if qkNorm { perLayer += 2 * headDim }
        let embeddings = vocabSize * c * (tieWordEmbeddings ? 1 : 2)
        return layerCount * perLayer + embeddings + c
    }
}
