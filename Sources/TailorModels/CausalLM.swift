import TailorTensor

/// A decoder-only causal language model (Llama, Mistral, Qwen2, Qwen3) on one backend.
///
/// Shapes legend for this type and its extensions:
///   N tokens in the flattened batch, C hidden size, I intermediate size, V vocabulary,
///   Hq query heads, Hkv key/value heads, D head dim.
///
/// Forward and backward are explicit (`+Forward`, `+Backward`): each layer keeps what its
/// backward needs, and the backward runs the ops' backwards in reverse order.
public final class CausalLM: @unchecked Sendable {
    public let config: ModelConfig
    public let backend: Backend
    /// [V, C]
    public var embedTokens: Tensor
    public var layers: [DecoderLayer]
    /// [C]
    public var finalNorm: Tensor
    /// [V, C]; shares `embedTokens` (and its name) when the embeddings are tied.
    public var lmHead: Linear
    /// Virtual tokens put before every sequence (prompt tuning, P-tuning, prefix tuning); nil: none.
    public var virtualTokens: VirtualTokens? {
        didSet {
            if let table = virtualTokens?.embeddings {
                precondition(table.shape == [table.rowCount, config.hiddenSize], "virtual tokens' embeddings are a [P, hidden_size] table")
            }
            if let prefix = virtualTokens?.prefix {
                precondition(prefix.count == config.layerCount && prefix.allSatisfy { $0.key.shape.last == config.kvDim },
                             "a prefix is [P, Hkv·D] keys and values for each layer")
            }
        }
    }
    /// Keep only each layer's input and recompute the rest in the backward.
    public var gradientCheckpointing = false
    /// Rows of logits computed at once in the loss ([rows, V] is the largest buffer).
    public var lossChunkRows: Int
    /// How the MLP's gate and up projections ([N, I] each, most of a layer's saved activations)
    /// are kept for the backward: f32, or bf16 (half the bytes, rounded as bf16 training keeps
    /// them; SwiGLU then reads the rounded values forward and backward). The rest stays f32.
    public var savedActivationDType: DType = .f32 {
        didSet { precondition([.f32, .bf16, .f16].contains(savedActivationDType), "saved activations are f32, bf16 or f16") }
    }

    /// How many frozen f32 product weights `load(…, rounding:)` rounded to bf16 (0: none).
    public internal(set) var roundedProductWeights = 0

    var workspace: Workspace?
    var lossScratchStorage: LossScratch?
    var ropeTables: (positions: Int, cos: Tensor, sin: Tensor)?
    /// The batch whose activations `labelLogProbs` left in the workspace for `backwardLabelLogProbs`.
    var pendingLogProbs: PendingLogProbs?

    public static let embedName = "model.embed_tokens.weight"
    public static let finalNormName = "model.norm.weight"
    public static let lmHeadName = "lm_head.weight"

    public init(config: ModelConfig, backend: Backend, embedTokens: Tensor, layers: [DecoderLayer],
                finalNorm: Tensor, lmHead: Tensor?) {
        self.config = config
        self.backend = backend
        self.embedTokens = embedTokens
        self.layers = layers
        self.finalNorm = finalNorm
        if config.tieWordEmbeddings || lmHead == nil {
            self.lmHead = Linear(name: Self.embedName, weight: embedTokens)
        } else {
            self.lmHead = Linear(name: Self.lmHeadName, weight: lmHead!)
        }
        self.lossChunkRows = config.defaultLossChunkRows
    }

    /// Every parameter's Hugging Face name and shape, in module order (tied lm_head omitted).
    public var parameterShapes: [(name: String, shape: [Int])] {
        namedParameters.map { ($0.name, $0.tensor.shape) }
    }

    /// A workspace for `tokens` tokens, reused while the size, checkpointing mode and saved
    /// activation dtype stay.
    func workspace(tokens: Int) throws -> Workspace {
        if let workspace, workspace.tokens == tokens, workspace.checkpointing == gradientCheckpointing,
           workspace.savedDType == savedActivationDType {
            return workspace
        }
        lossScratchStorage = nil
        workspace = nil  // free the old buffers before allocating the new ones
        let fresh = try Workspace(config: config, tokens: tokens, checkpointing: gradientCheckpointing,
                                  savedDType: savedActivationDType, backend: backend)
        workspace = fresh
        return fresh
    }

    /// cos/sin tables covering positions 0..<needed (grown on demand).
    func rope(positions needed: Int) throws -> (cos: Tensor, sin: Tensor) {
        if let tables = ropeTables, tables.positions >= needed { return (tables.cos, tables.sin) }
        let size = max(needed, 256)
        let (cos, sin) = try RotaryEmbedding.tables(config, positions: size, backend: backend)
        ropeTables = (size, cos, sin)
        return (cos, sin)
    }

    /// Drops the cached activations (frees their memory).
    public func releaseWorkspace() {
        workspace = nil
        lossScratchStorage = nil
    }
}
