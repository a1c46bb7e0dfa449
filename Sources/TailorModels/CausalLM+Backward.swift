import TailorTensor

extension CausalLM {
    /// One decoder layer's backward. On entry `ws.dX` [N, C] holds ∂L/∂(layer output); on exit
    /// it holds ∂L/∂(layer input). Parameter gradients present in `gradients` are accumulated.
    func layerBackward(_ layer: DecoderLayer, _ acts: LayerActivations, _ batch: DeviceBatch,
                       _ ws: Workspace, gradients: GradientStore) throws {
        let c = config
        let n = acts.x.shape[0]
        // MLP block: out = h + down(silu(gate(n2)) · up(n2)), n2 = rmsnorm(h), which ws.normed must hold.
        if ws.checkpointing {
            // The recompute stops right after the MLP's input projections: ws.normed is n2.
            try backend.rmsNormForward(acts.x, weight: layer.inputNorm, eps: c.rmsNormEps, into: ws.normed, rstd: acts.rstd1)
            try layerForward(layer, acts, finish: nil, batch, ws)
        } else {
            try backend.rmsNormForward(acts.h, weight: layer.postAttentionNorm, eps: c.rmsNormEps, into: ws.normed, rstd: acts.rstd2)
        }
        if gradients[layer.downProj.name] != nil || layer.downProj.adapter != nil {
            try backend.swigluForward(gate: acts.gate, up: acts.up, into: ws.activation)
        }
        try layer.downProj.backward(ws.dX, input: ws.activation, dx: ws.dActivation, accumulate: false,
                                    gradients: gradients, backend: backend)
        try backend.swigluBackward(ws.dActivation, gate: acts.gate, up: acts.up, dGate: ws.dGate, dUp: ws.dUp)
        try layer.gateProj.backward(ws.dGate, input: ws.normed, dx: ws.dNormed, accumulate: false, gradients: gradients, backend: backend)
        try layer.upProj.backward(ws.dUp, input: ws.normed, dx: ws.dNormed, accumulate: true, gradients: gradients, backend: backend)
        try backend.rmsNormBackward(ws.dNormed, x: acts.h, weight: layer.postAttentionNorm, rstd: acts.rstd2,
                                    dx: ws.dX, accumulate: true, dWeight: gradients[layer.postAttentionNormName])
        // Attention block: h = x + o(attention(q, k, v)).
        let dAttention = ws.dAttention.reshaped([n, c.qDim])
        try layer.oProj.backward(ws.dX, input: acts.attention.reshaped([n, c.qDim]), dx: dAttention, accumulate: false,
                                 gradients: gradients, backend: backend)
        try backend.attentionBackward(dOut: ws.dAttention, q: acts.q, k: acts.k, v: acts.v, out: acts.attention, lse: acts.lse,
                                      seqStart: batch.seqStart, scale: attentionScale, dq: ws.dq, dk: ws.dk, dv: ws.dv)
        try prefixBackward(layer: layer.index, virtual: batch.virtual, dk: ws.dk, dv: ws.dv, gradients: gradients)
        try backend.rope(ws.dq, positions: batch.positions, cos: batch.cos, sin: batch.sin, inverse: true)
        try backend.rope(ws.dk, positions: batch.positions, cos: batch.cos, sin: batch.sin, inverse: true)
        var dq = ws.dq, dk = ws.dk
        if let qNorm = layer.qNorm, let kNorm = layer.kNorm, let qPre = acts.qPre, let kPre = acts.kPre,
           let qRstd = acts.qRstd, let kRstd = acts.kRstd, let dqPre = ws.dqPre, let dkPre = ws.dkPre {
            try backend.rmsNormBackward(ws.dq.reshaped([n * c.headCount, c.headDim]), x: qPre.reshaped([n * c.headCount, c.headDim]),
                                        weight: qNorm, rstd: qRstd, dx: dqPre.reshaped([n * c.headCount, c.headDim]),
                                        accumulate: false, dWeight: gradients[layer.qNormName])
            try backend.rmsNormBackward(ws.dk.reshaped([n * c.kvHeadCount, c.headDim]), x: kPre.reshaped([n * c.kvHeadCount, c.headDim]),
                                        weight: kNorm, rstd: kRstd, dx: dkPre.reshaped([n * c.kvHeadCount, c.headDim]),
                                        accumulate: false, dWeight: gradients[layer.kNormName])
            dq = dqPre
            dk = dkPre
        }
        try backend.rmsNormForward(acts.x, weight: layer.inputNorm, eps: c.rmsNormEps, into: ws.normed, rstd: acts.rstd1)
        // Below the first layer only the embedding, the virtual tokens and this norm's weight could use ∂L/∂x.
        let needsInputGradient = layer.index > 0 || gradients[Self.embedName] != nil || gradients[layer.inputNormName] != nil
            || (!batch.virtual.isEmpty && virtualTokens?.embeddings != nil && gradients[VirtualTokens.gradientName] != nil)
        let dNormed = needsInputGradient ? ws.dNormed : nil
        try layer.qProj.backward(dq.reshaped([n, c.qDim]), input: ws.normed, dx: dNormed, accumulate: false, gradients: gradients, backend: backend)
        try layer.kProj.backward(dk.reshaped([n, c.kvDim]), input: ws.normed, dx: dNormed, accumulate: true, gradients: gradients, backend: backend)
        try layer.vProj.backward(ws.dv.reshaped([n, c.kvDim]), input: ws.normed, dx: dNormed, accumulate: true, gradients: gradients, backend: backend)
        guard needsInputGradient else { return }
        try backend.rmsNormBackward(ws.dNormed, x: acts.x, weight: layer.inputNorm, rstd: acts.rstd1,
                                    dx: ws.dX, accumulate: true, dWeight: gradients[layer.inputNormName])
    }
}
