import TailorTensor

/// Batch tensors on the device.
struct DeviceBatch {
    let ids: Tensor        // [N] i32
    let positions: Tensor  // [N] i32
    let seqStart: Tensor   // [N] i32
    let cos: Tensor        // [P, D/2]
    let sin: Tensor        // [P, D/2]
    /// The rows that take virtual tokens' embeddings (none without `CausalLM.virtualTokens`).
    let virtual: [VirtualRun]
}

extension CausalLM {
    func upload(_ batch: TokenBatch) throws -> DeviceBatch {
        let n = batch.tokenCount
        let (ids, virtual) = try embeddingIds(batch.inputIds)
        let maxPosition = Int(batch.positions.max() ?? 0)  // allowed: Int32 ids and positions widen to Int
        if let window = config.slidingWindow, maxPosition >= window {
            throw ModelError.badBatch("a sequence of \(maxPosition + 1) tokens exceeds sliding_window \(window), which Tailor does not implement; use sequences of at most \(window) tokens")
        }
        let (cos, sin) = try rope(positions: maxPosition + 1)
        return DeviceBatch(ids: try backend.upload(ids, shape: [n]),
                           positions: try backend.upload(batch.positions, shape: [n]),
                           seqStart: try backend.upload(batch.seqStart, shape: [n]),
                           cos: cos, sin: sin, virtual: virtual)
    }

    /// Embedding and all layers; leaves the last layer's output in `ws.finalX` and its final
    /// norm in `ws.normed` (rstd in `ws.finalRstd`).
    func forwardLayers(_ batch: DeviceBatch, _ ws: Workspace) throws {
        try embed(ids: batch.ids, virtual: batch.virtual, into: ws.layers[0].x)
        try backend.rmsNormForward(ws.layers[0].x, weight: layers[0].inputNorm, eps: config.rmsNormEps, into: ws.normed,
                                   rstd: ws.layers[0].rstd1)
        for (index, layer) in layers.enumerated() {
            let next = index + 1 < layers.count ? NextNorm(weight: layers[index + 1].inputNorm, rstd: ws.layers[index + 1].rstd1)
                                                : NextNorm(weight: finalNorm, rstd: ws.finalRstd)
            try layerForward(layer, ws.layers[index], finish: (output: ws.output(ofLayer: index), next: next), batch, ws)
        }
    }

    /// The norm that follows a layer (the next layer's input norm, or the final norm): the layer's
    /// last residual add computes it too, into `ws.normed`.
    struct NextNorm {
        let weight: Tensor  // [C]
        let rstd: Tensor    // [N]
    }

    /// One decoder layer. On entry `ws.normed` [N, C] holds rmsnorm(`acts.x`) (rstd in `acts.rstd1`).
    /// Fills `acts`; with `finish`, writes the layer output to `finish.output` [N, C] and its norm
    /// under `finish.next` into `ws.normed`. Without it (recomputing activations for the backward)
    /// the layer stops after the MLP's input projections, which is all the backward needs.
    func layerForward(_ layer: DecoderLayer, _ acts: LayerActivations, finish: (output: Tensor, next: NextNorm)?,
                      _ batch: DeviceBatch, _ ws: Workspace) throws {
        let c = config
        let n = acts.x.shape[0]
        // Attention block.
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
        try placePrefix(layer: layer.index, virtual: batch.virtual, k: acts.k, v: acts.v)
        try backend.attentionForward(q: acts.q, k: acts.k, v: acts.v, seqStart: batch.seqStart,
                                     scale: attentionScale, into: acts.attention, lse: acts.lse)
        try layer.oProj.forward(acts.attention.reshaped([n, c.qDim]), into: ws.projection, backend: backend)
        // MLP block: h = x + attention output, normed in the same pass.
        try backend.addRMSNormForward(acts.x, ws.projection, weight: layer.postAttentionNorm, eps: c.rmsNormEps,
                                      sum: acts.h, into: ws.normed, rstd: acts.rstd2)
        for (projection, saved) in [(layer.gateProj, acts.gate), (layer.upProj, acts.up)] {
            if saved.dtype == .f32 {
                try projection.forward(ws.normed, into: saved, backend: backend)
            } else {
                // Projected in f32 into the SwiGLU scratch, then kept narrower.
                try projection.forward(ws.normed, into: ws.activation, backend: backend)
                try backend.copy(ws.activation, into: saved)
            }
        }
        guard let finish else { return }
        try backend.swigluForward(gate: acts.gate, up: acts.up, into: ws.activation)
        try layer.downProj.forward(ws.activation, into: ws.projection, backend: backend)
        try backend.addRMSNormForward(acts.h, ws.projection, weight: finish.next.weight, eps: c.rmsNormEps,
                                      sum: finish.output, into: ws.normed, rstd: finish.next.rstd)
    }

    /// 1/√D, as transformers computes `head_dim ** -0.5`.
    var attentionScale: Float { Float(1.0 / Double(config.headDim).squareRoot()) }

    /// Logits of every token [N, V] (inference and tests; training never builds this whole).
    /// With virtual tokens, the rows of the batch's own tokens only.
    public func logits(_ batch: TokenBatch) throws -> Tensor {
        pendingLogProbs = nil
        let expanded = try withVirtualTokens(batch)
        let device = try upload(expanded)
        let ws = try workspace(tokens: expanded.tokenCount)
        try forwardLayers(device, ws)
        var hidden = ws.normed                                                     // [N', C]
        if !device.virtual.isEmpty {
            let own = (0..<expanded.tokenCount).filter { row in !device.virtual.contains { $0.rows.contains(row) } }
            hidden = try backend.empty([batch.tokenCount, config.hiddenSize], dtype: .f32)  // [N, C]
            try backend.gatherRows(ws.normed, indices: try backend.upload(own.map { Int32($0) }, shape: [own.count]), into: hidden)  // allowed: row indices of a batch held in memory
        }
        let out = try backend.empty([batch.tokenCount, config.vocabSize], dtype: .f32)
        try lmHead.forward(hidden, into: out, backend: backend)
        return out
    }
}
