import TailorModels
import TailorTensor

/// peft's AdaLoRA orthogonal regulariser, which AdaLoraModel.forward adds to the loss of every
/// forward with labels:
///
///     R = orth_reg_weight · (1/n) · Σ over every A and B: ‖P·Pᵀ − I‖_F,  P = A [r, in] or Bᵀ [r, out]
///
/// (n the number of A and B tensors). With M = P·Pᵀ − I [r, r] (symmetric), ∂‖M‖_F/∂P = 2·M·P / ‖M‖_F,
/// so dA += c·M·A and dB += c·B·M with c = 2 · orth_reg_weight / (n · ‖M‖_F). The [r, r] Gram
/// matrices come from the backend; M and c are made on the host.
extension AdaLoRAAdapters {
    /// Adds R's gradient to `gradients` (for the A and B present there) and returns R.
    /// - Parameter weight: the multiple of R to add (1 for each forward).
    public func addOrthogonalRegularizer(gradients: GradientStore, backend: Backend, weight: Double = 1) throws -> Double {
        let orth = config.orthRegWeight * weight
        guard orth != 0, !modules.isEmpty else { return 0 }
        let count = Double(2 * modules.count)
        var total = 0.0
        for module in modules {
            let m = module.adalora
            for (tensor, name, isA) in [(m.a, m.aName, true), (m.b, m.bName, false)] {
                let r = m.rank
                guard r > 0 else { continue }
                let gram = try backend.empty([r, r], dtype: .f32)  // [r, r] = A·Aᵀ or Bᵀ·B
                try backend.gemm(tensor, transposeA: !isA, tensor, transposeB: isA, into: gram, alpha: 1, beta: 0)
                var values = try backend.download(gram).map(Double.init)
                for k in 0..<r { values[k * r + k] -= 1 }  // M = gram − I
                let norm = values.reduce(0) { $0 + $1 * $1 }.squareRoot()
                total += norm
                guard norm > 0, let gradient = gradients[name] else { continue }
                let c = 2 * orth / (count * norm)
                let coefficient = try backend.upload(values.map { Float(c * $0) }, shape: [r, r], dtype: .f32)  // [r, r] = c·M
                if isA {
                    // dA[r, in] += c·M · A
                    try backend.gemm(coefficient, transposeA: false, tensor, transposeB: false, into: gradient, alpha: 1, beta: 1)
                } else {
                    // dB[out, r] += B · c·M
                    try backend.gemm(tensor, transposeA: false, coefficient, transposeB: false, into: gradient, alpha: 1, beta: 1)
                }
            }
        }
        return orth * total / count
    }
}
