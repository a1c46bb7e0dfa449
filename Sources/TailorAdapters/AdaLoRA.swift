import TailorFormats
import TailorModels
import TailorTensor

/// AdaLoRA's SVD-shaped side path on one Linear, as peft 0.21's `adalora.SVDLinear` computes it:
///   y += (dropout(x) · (A ⊙ E)ᵀ · Bᵀ) · s,  s = lora_alpha / (ranknum + 1e-5), ranknum = init_r,
/// with A [r, in] (right singular vectors), E [r, 1] (singular values, each row of A times its
/// entry), B [out, r] (left singular vectors). Pruning a rank sets its entry of E to 0
/// (`AdaLoRARankAllocator`); A, E and B are trainable f32 tensors, the base weight stays frozen.
///
/// Legend: x [N, in] the (dropped-out) input, g = dOut [N, out], d = x·Aᵀ [N, r], u = d ⊙ E [N, r]:
///
///     forward:  out += s · u · Bᵀ
///     backward: h = g · B [N, r];  dB += s · gᵀ · u;  dE[k] += s · Σₙ h[n, k] · d[n, k]
///               dA += s · (h ⊙ E)ᵀ · x;  dx += s · (h ⊙ E) · A  (through the dropout mask)
///
/// The [N, r] column products run on the host, the GEMMs on the backend.
public final class AdaLoRA: LinearAdapter, @unchecked Sendable {
    /// [r, in]
    public let a: Tensor
    /// [r, 1]
    public let e: Tensor
    /// [out, r]
    public let b: Tensor
    public let rank: Int
    /// lora_alpha / (ranknum + 1e-5).
    public let scale: Float
    /// Hugging Face names (module name + ".lora_A" / ".lora_E" / ".lora_B", peft's keys without `.weight`).
    public let aName: String
    public let eName: String
    public let bName: String
    /// lora_dropout: applied to the input while `dropoutSeed` is set (training).
    public let dropout: Float
    /// The mask of the current micro-batch (nil: no dropout, as at inference).
    public var dropoutSeed: UInt64?

    /// - Parameters:
    ///   - module: the Linear's module name, e.g. "model.layers.0.self_attn.q_proj".
    ///   - a: [r, in]; e: [r, 1]; b: [out, r].
    public init(module: String, a: Tensor, e: Tensor, b: Tensor, scale: Float, dropout: Float = 0) {
        self.a = a
        self.e = e
        self.b = b
        self.rank = a.shape[0]
        self.scale = scale
        self.dropout = dropout
        aName = module + PeftAdapterLayout.adaLoRAASuffix
        eName = module + PeftAdapterLayout.adaLoRAESuffix
        bName = module + PeftAdapterLayout.adaLoRABSuffix
    }

    /// The module's name ("model.layers.0.self_attn.q_proj").
    public var moduleName: String { String(aName.dropLast(PeftAdapterLayout.adaLoRAASuffix.count)) }

    /// x with dropout applied when active (a new tensor), else x itself. [N, in]
    func droppedInput(_ x: Tensor, backend: Backend) throws -> Tensor {
        guard dropout > 0, let seed = dropoutSeed else { return x }
        let dropped = try backend.empty([x.rowCount, x.rowLength], dtype: .f32)
        try backend.dropout(x, into: dropped, probability: dropout, seed: seed)
        return dropped
    }

    public func forward(_ input: Tensor, addingTo out: Tensor, backend: Backend) throws {
        guard rank > 0 else { return }
        let x = try droppedInput(input, backend: backend)
        let d = try backend.empty([x.rowCount, rank], dtype: .f32)  // [N, r] = x · Aᵀ
        try backend.gemm(x, transposeA: false, a, transposeB: true, into: d, alpha: 1, beta: 0)
        let u = try IA3.scaledColumns(d, by: try backend.download(e), backend: backend)  // [N, r] = d ⊙ E
        // out[N, out] += s · u · Bᵀ
        try backend.gemm(u, transposeA: false, b, transposeB: true, into: out, alpha: scale, beta: 1)
    }

    public func backward(_ dOut: Tensor, input: Tensor, addingTo dx: Tensor?, gradients: GradientStore,
                         backend: Backend) throws {
        guard rank > 0 else { return }
        let n = input.rowCount
        let values = try backend.download(e)
        let h = try backend.empty([n, rank], dtype: .f32)  // [N, r] = dOut · B
        try backend.gemm(dOut, transposeA: false, b, transposeB: false, into: h, alpha: 1, beta: 0)
        let hE = try IA3.scaledColumns(h, by: values, backend: backend)  // [N, r] = h ⊙ E
        if let dx {
            if dropout > 0, let seed = dropoutSeed {
                // dx[N, in] += dropout(s · (h ⊙ E) · A), the forward's mask
                let through = try backend.empty([n, dx.rowLength], dtype: .f32)
                try backend.gemm(hE, transposeA: false, a, transposeB: false, into: through, alpha: scale, beta: 0)
                try backend.dropout(through, into: through, probability: dropout, seed: seed)
                try backend.axpy(1, through, dx)
            } else {
                // dx[N, in] += s · (h ⊙ E) · A
                try backend.gemm(hE, transposeA: false, a, transposeB: false, into: dx, alpha: scale, beta: 1)
            }
        }
        let (dA, dE, dB) = (gradients[aName], gradients[eName], gradients[bName])
        guard dA != nil || dE != nil || dB != nil else { return }
        let x = try droppedInput(input, backend: backend)
        if let dA {
            // dA[r, in] += s · (h ⊙ E)ᵀ · x
            try backend.gemm(hE, transposeA: true, x, transposeB: false, into: dA, alpha: scale, beta: 1)
        }
        guard dE != nil || dB != nil else { return }
        let d = try backend.empty([n, rank], dtype: .f32)  // [N, r] = x · Aᵀ, recomputed
        try backend.gemm(x, transposeA: false, a, transposeB: true, into: d, alpha: 1, beta: 0)
        if let dE {
            // dE[r, 1] += s · Σₙ h ⊙ d
            let sums = try IA3.columnSums(h, times: d, shape: [rank, 1], backend: backend)
            try backend.axpy(scale, sums, dE)
        }
        if let dB {
            // dB[out, r] += s · dOutᵀ · (d ⊙ E)
            let u = try IA3.scaledColumns(d, by: values, backend: backend)
            try backend.gemm(dOut, transposeA: true, u, transposeB: false, into: dB, alpha: scale, beta: 1)
        }
    }
}
