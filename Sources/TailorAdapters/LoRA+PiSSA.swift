import TailorModels
import TailorTensor

/// The initialisations that take A and B from the base weight and adjust it, as peft 0.21's
/// `LoraLayer.pissa_init` and `olora_init` compute them (W [out, in] in f32, s = scaling):
///
/// - PiSSA (`"pissa"`): W = U·diag(S)·Vᵀ (torch.linalg.svd, full_matrices=False);
///   S_r ← S[:r] / s; A = diag(√S_r)·Vᵀ[:r] [r, in]; B = U[:, :r]·diag(√S_r) [out, r].
/// - `"pissa_niter_K"`: the same from torch.svd_lowrank(W, r, niter=K)'s algorithm
///   (`LinearAlgebra.svdLowRank`), with Tailor's own Gaussian draw.
/// - OLoRA (`"olora"`): W = Q·R (torch.linalg.qr); B = Q[:, :r], A = R[:r] (not divided by s).
///
/// and then W ← W − s·B·A, in f32, rounded to the base dtype. So at the start
/// residual + s·B·A = W: the model computes what the base did.
///
/// Singular vectors are fixed only up to the joint sign of each pair: column i of B and row i of
/// A may both be negated relative to peft's (LAPACK builds differ). B·A, the residual, and every
/// loss and update of training are the same either way (AdamW and clipping are sign-equivariant
/// per element), so a trained adapter equals peft's up to those same signs. QR has no such
/// freedom: LAPACK's Householder signs are torch's.
extension LoRA {
    /// A [r·in], B [out·r] and the adjusted base weight (a tensor in the weight's dtype) for
    /// module `module`.
    /// - Parameter moduleIndex: seeds pissa_niter_K's Gaussian draw (one fixed stream per module,
    ///   so reading a saved folder reproduces the run's adjusted base exactly).
    /// - Throws: `AdapterError.badOption` for a quantized base weight, or r above min(in, out).
    static func decomposedInit(_ kind: LoRAInit, module: String, weight: Tensor, r: Int, scaling: Float, moduleIndex: Int,
                               backend: Backend) throws -> (a: [Float], b: [Float], residual: Tensor) {
        let (outFeatures, inFeatures) = (weight.shape[0], weight.shape[1])
        guard [DType.f32, .bf16, .f16].contains(weight.dtype) else {
            let what = kind == .olora ? "OLoRA" : "PiSSA"
            throw AdapterError.badOption(name: "init_lora_weights", problem: "\(kind.name) needs float base weights, but \(module) is stored as \(weight.dtype). peft refuses PiSSA on a quantized base too (\"initialize PiSSA under float32, float16, or bfloat16, then re-quantize the residual model\"); Tailor does not build \(what) over quantized (4-bit or GGUF-block) weights: train from the float model (no quantization_bit), or merge the converted adapter")
        }
        guard r <= min(outFeatures, inFeatures) else {
            throw AdapterError.badOption(name: "r", problem: "is \(r) for \(module), but \(kind.name) takes r singular vectors (or QR columns) of its [\(outFeatures), \(inFeatures)] weight, which has at most \(min(outFeatures, inFeatures)); lower r (or its rank_pattern entry)")
        }
        let w = try backend.download(weight)
        var a = [Float](repeating: 0, count: r * inFeatures), b = [Float](repeating: 0, count: outFeatures * r)
        switch kind {
        case .olora:
            let qr = try LinearAlgebra.qr(w, rows: outFeatures, columns: inFeatures)
            for i in 0..<outFeatures { for j in 0..<r { b[i * r + j] = qr.q[i * qr.k + j] } }
            a = Array(qr.r.prefix(r * inFeatures))
        default:
            let svd: LinearAlgebra.SVD
            if case let .pissaNiter(iterations) = kind {
                var generator = SplitMix64(state: 0x9155_A000 &+ UInt64(moduleIndex))  // allowed: a non-negative index widens
                svd = try LinearAlgebra.svdLowRank(w, rows: outFeatures, columns: inFeatures, rank: r, iterations: iterations,
                                                   generator: &generator)
            } else {
                svd = try LinearAlgebra.svd(w, rows: outFeatures, columns: inFeatures)
            }
            let root = (0..<r).map { (svd.s[$0] / scaling).squareRoot() }
            for i in 0..<r { for j in 0..<inFeatures { a[i * inFeatures + j] = root[i] * svd.vt[i * inFeatures + j] } }
            for i in 0..<outFeatures { for j in 0..<r { b[i * r + j] = svd.u[i * svd.k + j] * root[j] } }
        }
        // W − s·(B·A), in f32 as peft computes it, then rounded to the base dtype.
        let product = try LinearAlgebra.matmul(b, a, m: outFeatures, n: inFeatures, k: r)
        let residual = (0..<w.count).map { w[$0] - scaling * product[$0] }
        return (a, b, try backend.upload(residual, shape: weight.shape, dtype: weight.dtype))
    }
}
