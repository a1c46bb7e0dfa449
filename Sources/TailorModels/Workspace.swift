import TailorTensor

/// What one decoder layer's backward needs from its forward, for N tokens.
/// With gradient checkpointing only `x` is kept per layer; the rest is recomputed into one
/// shared set during the backward.
final class LayerActivations {
    let x: Tensor          // [N, C] layer input
    let rstd1: Tensor      // [N]
    let qPre: Tensor?      // [N, Hq, D] q before its norm (Qwen3)
    let kPre: Tensor?      // [N, Hkv, D]
    let qRstd: Tensor?     // [N·Hq]
    let kRstd: Tensor?     // [N·Hkv]
    let q: Tensor          // [N, Hq, D] after norm and RoPE
    let k: Tensor          // [N, Hkv, D] after norm and RoPE
    let v: Tensor          // [N, Hkv, D]
    let attention: Tensor  // [N, Hq, D]
    let lse: Tensor        // [N, Hq]
    let h: Tensor          // [N, C] after the attention residual
    let rstd2: Tensor      // [N]
    let gate: Tensor       // [N, I] f32, or the saved-activation dtype
    let up: Tensor         // [N, I] f32, or the saved-activation dtype

    init(x: Tensor, rstd1: Tensor, qPre: Tensor?, kPre: Tensor?, qRstd: Tensor?, kRstd: Tensor?, q: Tensor,
         k: Tensor, v: Tensor, attention: Tensor, lse: Tensor, h: Tensor, rstd2: Tensor, gate: Tensor, up: Tensor) {
        self.x = x
        self.rstd1 = rstd1
        self.qPre = qPre
        self.kPre = kPre
        self.qRstd = qRstd
        self.kRstd = kRstd
        self.q = q
        self.k = k
        self.v = v
        self.attention = attention
        self.lse = lse
        self.h = h
        self.rstd2 = rstd2
        self.gate = gate
        self.up = up
    }

    convenience init(config c: ModelConfig, tokens n: Int, x: Tensor, savedDType: DType, backend: Backend) throws {
        func make(_ shape: [Int]) throws -> Tensor { try backend.empty(shape, dtype: .f32) }
        self.init(x: x,
                  rstd1: try make([n]),
                  qPre: c.qkNorm ? try make([n, c.headCount, c.headDim]) : nil,
                  kPre: c.qkNorm ? try make([n, c.kvHeadCount, c.headDim]) : nil,
                  qRstd: c.qkNorm ? try make([n * c.headCount]) : nil,
                  kRstd: c.qkNorm ? try make([n * c.kvHeadCount]) : nil,
                  q: try make([n, c.headCount, c.headDim]),
                  k: try make([n, c.kvHeadCount, c.headDim]),
                  v: try make([n, c.kvHeadCount, c.headDim]),
                  attention: try make([n, c.headCount, c.headDim]),
                  lse: try make([n, c.headCount]),
                  h: try make([n, c.hiddenSize]),
                  rstd2: try make([n]),
                  gate: try backend.empty([n, c.intermediateSize], dtype: savedDType),
                  up: try backend.empty([n, c.intermediateSize], dtype: savedDType))
    }
}

/// All buffers of one forward + backward over N tokens, allocated once and reused while N stays.
final class Workspace {
    let tokens: Int
    let checkpointing: Bool
    /// The dtype of the saved gate and up projections.
    let savedDType: DType
    /// Per-layer saved state (full, or sharing one recompute set when checkpointing).
    let layers: [LayerActivations]
    /// [N, C] output of the last layer.
    let finalX: Tensor
    let finalRstd: Tensor       // [N]
    let normed: Tensor          // [N, C] scratch: a norm's output
    let activation: Tensor      // [N, I] scratch: silu(gate)·up (and f32 gate/up before they are stored narrower)
    let projection: Tensor      // [N, C] scratch: o_proj / down_proj output
    let dX: Tensor              // [N, C] the residual stream's gradient
    let dNormed: Tensor         // [N, C]
    let dActivation: Tensor     // [N, I]
    let dGate: Tensor           // [N, I]
    let dUp: Tensor             // [N, I]
    let dAttention: Tensor      // [N, Hq, D]
    let dq: Tensor              // [N, Hq, D]
    let dk: Tensor              // [N, Hkv, D]
    let dv: Tensor              // [N, Hkv, D]
    let dqPre: Tensor?          // [N, Hq, D]
    let dkPre: Tensor?          // [N, Hkv, D]

    init(config c: ModelConfig, tokens n: Int, checkpointing: Bool, savedDType: DType, backend: Backend) throws {
        func make(_ shape: [Int]) throws -> Tensor { try backend.empty(shape, dtype: .f32) }
        self.tokens = n
        self.checkpointing = checkpointing
        self.savedDType = savedDType
        if checkpointing {
            let inputs = try (0..<c.layerCount).map { _ in try make([n, c.hiddenSize]) }
            // One full set for recomputation; each layer's view differs only in `x`.
            let shared = try LayerActivations(config: c, tokens: n, x: inputs[0], savedDType: savedDType, backend: backend)
            layers = inputs.map { LayerActivations(sharing: shared, x: $0) }
        } else {
            layers = try (0..<c.layerCount).map { _ in
                try LayerActivations(config: c, tokens: n, x: try make([n, c.hiddenSize]), savedDType: savedDType, backend: backend)
            }
        }
        finalX = try make([n, c.hiddenSize])
        finalRstd = try make([n])
        normed = try make([n, c.hiddenSize])
        activation = try make([n, c.intermediateSize])
        projection = try make([n, c.hiddenSize])
        dX = try make([n, c.hiddenSize])
        dNormed = try make([n, c.hiddenSize])
        dActivation = try make([n, c.intermediateSize])
        dGate = try make([n, c.intermediateSize])
        dUp = try make([n, c.intermediateSize])
        dAttention = try make([n, c.headCount, c.headDim])
        dq = try make([n, c.headCount, c.headDim])
        dk = try make([n, c.kvHeadCount, c.headDim])
        dv = try make([n, c.kvHeadCount, c.headDim])
        dqPre = c.qkNorm ? try make([n, c.headCount, c.headDim]) : nil
        dkPre = c.qkNorm ? try make([n, c.kvHeadCount, c.headDim]) : nil
    }

    /// The input of layer `index + 1` (or the final norm's input after the last layer).
    func output(ofLayer index: Int) -> Tensor {
        index + 1 < layers.count ? layers[index + 1].x : finalX
    }
}

extension LayerActivations {
    /// A view of `shared`'s buffers with its own layer input `x` (gradient checkpointing).
    convenience init(sharing shared: LayerActivations, x: Tensor) {
        self.init(x: x, rstd1: shared.rstd1, qPre: shared.qPre, kPre: shared.kPre, qRstd: shared.qRstd,
                  kRstd: shared.kRstd, q: shared.q, k: shared.k, v: shared.v, attention: shared.attention,
                  lse: shared.lse, h: shared.h, rstd2: shared.rstd2, gate: shared.gate, up: shared.up)
    }
}
