import TailorTensor

extension ModelConfig {
    /// Bytes of activations one forward + backward keeps for `tokens` tokens, as `Workspace`
    /// allocates them: per layer the saved state, or only each layer's input plus one recompute
    /// set with gradient checkpointing; plus the shared scratch buffers. All f32 but the saved
    /// gate and up projections, which take `savedBytes` bytes per value (2 for bf16).
    public func activationBytes(tokens: Int, checkpointing: Bool, savedBytes: Int = 4) -> Int {
        let c = hiddenSize, i = intermediateSize, q = qDim, kv = kvDim
        var perLayer = 4 * (c + 1 + q + 2 * kv + q + headCount + c + 1)  // x, rstd, q, k, v, attention, lse, h, rstd
            + savedBytes * 2 * i                                          // gate, up
        if qkNorm { perLayer += 4 * (q + kv + headCount + kvHeadCount) }
        let saved = checkpointing ? layerCount * 4 * c + perLayer : layerCount * perLayer
        let scratch = 4 * (5 * c + 4 * i + 2 * q + 2 * kv + (qkNorm ? q + kv : 0) + 1)
        return tokens * (saved + scratch)
    }

    /// Bytes of the chunked cross-entropy's buffers (`rows` rows of logits at a time).
    public func lossBytes(rows: Int) -> Int { 4 * rows * (vocabSize + 2 * hiddenSize + 1) }
}

extension ModelConfig {
    /// Rows of logits the chunked cross-entropy computes at once: about 128 MB of f32 logits per
    /// chunk, at least 16 rows (`CausalLM.lossChunkRows` starts here).
    public var defaultLossChunkRows: Int { max(16, (32 << 20) / max(vocabSize, 1)) }

    /// Every decoder linear as (module name, in features, out features), in module order: the
    /// modules a LoRA adapter can target, with the names and shapes `CausalLM` gives them.
    public var linearModules: [(name: String, inFeatures: Int, outFeatures: Int)] {
        let c = hiddenSize, i = intermediateSize
        return (0..<layerCount).flatMap { layer -> [(name: String, inFeatures: Int, outFeatures: Int)] in
            let p = "model.layers.\(layer)."
            return [(p + "self_attn.q_proj", c, qDim), (p + "self_attn.k_proj", c, kvDim), (p + "self_attn.v_proj", c, kvDim),
                    (p + "self_attn.o_proj", qDim, c), (p + "mlp.gate_proj", c, i), (p + "mlp.up_proj", c, i), (p + "mlp.down_proj", i, c)]
        }
    }

    /// Parameters of the decoder linears' weights (what QLoRA stores in 4 bits; biases excluded).
    public var linearWeightCount: Int { linearModules.reduce(0) { $0 + $1.inFeatures * $1.outFeatures } }

    /// Bytes of the parameters stored in `dtype`, or with `quantization` the decoder linears' weights
    /// in its 4-bit blocks (as `FourBitQuantization.byteCount`) and the rest in `dtype`.
    public func weightBytes(dtype: DType, quantization: FourBitQuantization? = nil) -> Int {
        guard let quantization else { return parameterCount * dtype.byteSize }
        let quantized = linearModules.reduce(0) { $0 + quantization.byteCount(elements: $1.inFeatures * $1.outFeatures) }
        return quantized + (parameterCount - linearWeightCount) * dtype.byteSize
    }

    /// Bytes of a KV cache of `slots` sequences of `capacity` positions (`KVCache`: f32 keys and
    /// values [S, L, Hkv, D] per layer).
    public func kvCacheBytes(slots: Int, capacity: Int) -> Int {
        2 * layerCount * slots * capacity * kvDim * 4
    }
}
