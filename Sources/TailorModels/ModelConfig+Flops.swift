extension ModelConfig {
    /// Multiply-accumulates ×2 of one token's forward through the linear layers (projections,
    /// MLP, lm_head), excluding attention's score products.
    public var linearFlopsPerToken: Double {
        let c = Double(hiddenSize), i = Double(intermediateSize)
        let perLayer = c * Double(qDim) + 2 * c * Double(kvDim) + Double(qDim) * c + 3 * c * i
        return 2 * (Double(layerCount) * perLayer + c * Double(vocabSize))
    }

    /// Flops of one token's causal attention products (QKᵀ and PV) in the forward, for a
    /// sequence of `sequenceLength` tokens (each token sees (T + 1) / 2 keys on average).
    public func attentionFlopsPerToken(sequenceLength: Int) -> Double {
        let context = Double(sequenceLength + 1) / 2
        return Double(layerCount) * 2 * 2 * context * Double(qDim)
    }

    /// Flops per token of a training step whose base is frozen (input gradients only, as with
    /// LoRA): linear forward + input-gradient backward (2×, less the first layer's q/k/v input
    /// gradients, which nothing needs), attention forward + backward (the backward recomputes
    /// the scores and runs four products: 3.5× the forward's two).
    public func frozenStepFlopsPerToken(sequenceLength: Int) -> Double {
        let firstLayerQKV = 2 * Double(hiddenSize) * Double(qDim + 2 * kvDim)
        return 2 * linearFlopsPerToken - firstLayerQKV + 3.5 * attentionFlopsPerToken(sequenceLength: sequenceLength)
    }
}
