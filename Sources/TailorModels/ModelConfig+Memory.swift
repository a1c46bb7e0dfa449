extension ModelConfig {
    /// Bytes of activations one forward + backward keeps for `tokens` tokens (f32), as
    /// `Workspace` allocates them: per layer the saved state, or only each layer's input plus
    /// one recompute set with gradient checkpointing; plus the shared scratch buffers.
    public func activationBytes(tokens: Int, checkpointing: Bool) -> Int {
        let c = hiddenSize, i = intermediateSize, q = qDim, kv = kvDim
        var perLayer = c + 1 + q + 2 * kv + q + headCount + c + 1 + 2 * i  // x, rstd, q, k, v, attention, lse, h, rstd, gate, up
        if qkNorm { perLayer += q + kv + headCount + kvHeadCount }
        let saved = checkpointing ? layerCount * c + perLayer : layerCount * perLayer
        let scratch = 5 * c + 4 * i + 2 * q + 2 * kv + (qkNorm ? q + kv : 0) + 1
        return 4 * tokens * (saved + scratch)
    }

    /// Bytes of the chunked cross-entropy's buffers (`rows` rows of logits at a time).
    public func lossBytes(rows: Int) -> Int { 4 * rows * (vocabSize + 2 * hiddenSize + 1) }
}
