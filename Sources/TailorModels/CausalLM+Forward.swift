import TailorTensor

/// Batch tensors on the device.
struct DeviceBatch {
    let ids: Tensor        // [N] i32
    let positions: Tensor  // [N] i32
    let seqStart: Tensor   // [N] i32
    let cos: Tensor        // [P, D/2]
    let sin: Tensor        // [P, D/2]
}

extension CausalLM {
    func upload(_ batch: TokenBatch) throws -> DeviceBatch {
        let n = batch.tokenCount
        for (t, id) in batch.inputIds.enumerated() where id < 0 || Int(id) >= config.vocabSize {
            throw ModelError.badBatch("token \(t) has id \(id), outside the vocabulary 0..<\(config.vocabSize)")
        }
        let maxPosition = Int(batch.positions.max() ?? 0)
        if let window = config.slidingWindow, maxPosition >= window {
            throw ModelError.badBatch("a sequence of \(maxPosition + 1) tokens exceeds sliding_window \(window), which Tailor does not implement; use sequences of at most \(window) tokens")
        }
        let (cos, sin) = try rope(positions: maxPosition + 1)
        return DeviceBatch(ids: try backend.upload(batch.inputIds, shape: [n]),
                           positions: try backend.upload(batch.positions, shape: [n]),
                           seqStart: try backend.upload(batch.seqStart, shape: [n]),
                           cos: cos, sin: sin)
    }

    /// Embedding and all layers; leaves the last layer's output in `ws.finalX`.
    func forwardLayers(_ batch: DeviceBatch, _ ws: Workspace) throws {
        try backend.embeddingForward(ids: batch.ids, table: embedTokens, into: ws.layers[0].x)
        for (index, layer) in layers.enumerated() {
            try layerForward(layer, ws.layers[index], output: ws.output(ofLayer: index), batch, ws)
        }
    }

    /// One decoder layer: reads `acts.x`, fills `acts`, writes the layer output to `output` [N, C]
    /// (nil when recomputing activations for the backward, which does not need it).
    func layerForward(_ layer: DecoderLayer, _ acts: LayerActivations, output: Tensor?,
                      _ batch: DeviceBatch, _ ws: Workspace) throws {
        let c = config
        let n = acts.x.shape[0]
        // Attention block.
        try backend.rmsNormForward(acts.x, weight: layer.inputNorm, eps: c.rmsNormEps, into: ws.normed, rstd: acts.rstd1)
        let qTarget = acts.qPre ?? acts.q, kTarget = acts.kPre ?? acts.k
        try layer.qProj.forward(ws.normed, into: qTarget.reshaped([n, c.qDim]), backend: backend)
        try layer.kProj.forward(ws.normed, into: kTarget.reshaped([n, c.kvDim]), backend: backend)
        try layer.vProj.forward(ws.normed, into: acts.v.reshaped([n, c.kvDim]), backend: backend)
        if let qNorm = layer.qNorm, let kNorm = layer.kNorm, let qPre = acts.qPre, let kPre = acts.kPre,
           let qRstd = acts.qRstd, let kRstd = acts.kRstd {
            try backend.rmsNormForward(qPre.reshaped([n * c.headCount, c.headDim]), weight: qNorm, eps: c.rmsNormEps,
                                       into: acts.q.reshaped([n * c.headCount, c.headDim]), rstd: qRstd)
            try backend.rmsNormForward(kPre.reshaped([n * c.kvHeadCount, c.headDim]), weight: kNorm, eps: c.rmsNormEps,
                                       into: acts.k.reshaped([n * c.kvHeadCount, c.headDim]), rstd: kRstd)
        }
        try backend.rope(acts.q, positions: batch.positions, cos: batch.cos, sin: batch.sin, inverse: false)
        try backend.rope(acts.k, positions: batch.positions, cos: batch.cos, sin: batch.sin, inverse: false)
        try backend.attentionForward(q: acts.q, k: acts.k, v: acts.v, seqStart: batch.seqStart,
                                     scale: attentionScale, into: acts.attention, lse: acts.lse)
        try layer.oProj.forward(acts.attention.reshaped([n, c.qDim]), into: ws.projection, backend: backend)
        try backend.add(acts.x, ws.projection, into: acts.h)
        // MLP block.
        try backend.rmsNormForward(acts.h, weight: layer.postAttentionNorm, eps: c.rmsNormEps, into: ws.normed, rstd: acts.rstd2)
        try layer.gateProj.forward(ws.normed, into: acts.gate, backend: backend)
        try layer.upProj.forward(ws.normed, into: acts.up, backend: backend)
        guard let output else { return }
        try backend.swigluForward(gate: acts.gate, up: acts.up, into: ws.activation)
        try layer.downProj.forward(ws.activation, into: ws.projection, backend: backend)
        try backend.add(acts.h, ws.projection, into: output)
    }

    /// 1/√D, as transformers computes `head_dim ** -0.5`.
    var attentionScale: Float { Float(1.0 / Double(config.headDim).squareRoot()) }

    /// Logits of every token [N, V] (inference and tests; training never builds this whole).
    public func logits(_ batch: TokenBatch) throws -> Tensor {
        let device = try upload(batch)
        let ws = try workspace(tokens: batch.tokenCount)
        try forwardLayers(device, ws)
        try backend.rmsNormForward(ws.finalX, weight: finalNorm, eps: config.rmsNormEps, into: ws.normed, rstd: ws.finalRstd)
        let out = try backend.empty([batch.tokenCount, config.vocabSize], dtype: .f32)
        try lmHead.forward(ws.normed, into: out, backend: backend)
        return out
    }
}
