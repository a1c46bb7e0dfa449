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
