import TailorTensor

/// Scratch buffers of the cached (inference) forward for up to `tokens` rows, shared by all
/// layers: inference keeps no activations. Smaller steps use row views of the same memory.
final class DecodeBuffers {
    let tokens: Int
    let x: Tensor          // [N, C] the residual stream
    let normed: Tensor     // [N, C]
    let rstd: Tensor       // [N]
    let qPre: Tensor?      // [N, Hq, D] (Qwen3)
    let kPre: Tensor?      // [N, Hkv, D] (Qwen3)
    let headRstd: Tensor?  // [N·Hq] (Qwen3)
    let q: Tensor          // [N, Hq, D]
    let k: Tensor          // [N, Hkv, D]
    let v: Tensor          // [N, Hkv, D]
    let attention: Tensor  // [N, Hq, D]
    let lse: Tensor        // [N, Hq]
    let projection: Tensor // [N, C]
    let gate: Tensor       // [N, I]
    let up: Tensor         // [N, I]
    let activation: Tensor // [N, I]

    init(config c: ModelConfig, tokens n: Int, backend: Backend) throws {
        func make(_ shape: [Int]) throws -> Tensor { try backend.empty(shape, dtype: .f32) }
        tokens = n
        x = try make([n, c.hiddenSize])
        normed = try make([n, c.hiddenSize])
        rstd = try make([n])
        qPre = c.qkNorm ? try make([n, c.headCount, c.headDim]) : nil
        kPre = c.qkNorm ? try make([n, c.kvHeadCount, c.headDim]) : nil
        headRstd = c.qkNorm ? try make([n * c.headCount]) : nil
        q = try make([n, c.headCount, c.headDim])
        k = try make([n, c.kvHeadCount, c.headDim])
        v = try make([n, c.kvHeadCount, c.headDim])
        attention = try make([n, c.headCount, c.headDim])
        lse = try make([n, c.headCount])
        projection = try make([n, c.hiddenSize])
        gate = try make([n, c.intermediateSize])
        up = try make([n, c.intermediateSize])
        activation = try make([n, c.intermediateSize])
    }

    private init(tokens n: Int, of full: DecodeBuffers) {
        func view(_ t: Tensor) -> Tensor { t.rows(0..<n) }
        tokens = n
        x = view(full.x); normed = view(full.normed); rstd = view(full.rstd)
        qPre = full.qPre.map(view); kPre = full.kPre.map(view)
        headRstd = full.headRstd.map { $0.rows(0..<(n * full.q.shape[1])) }
        q = view(full.q); k = view(full.k); v = view(full.v)
        attention = view(full.attention); lse = view(full.lse); projection = view(full.projection)
        gate = view(full.gate); up = view(full.up); activation = view(full.activation)
    }

    /// The first `n` rows of every buffer, as views.
    func prefix(_ n: Int) -> DecodeBuffers { n == tokens ? self : DecodeBuffers(tokens: n, of: self) }
}
