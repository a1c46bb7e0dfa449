import TailorFormats
import TailorModels
import TailorTensor

/// DoRA, as peft 0.21's `DoraLinearLayer` computes it (a LoRA with a `magnitude`).
///
/// Legend: x [N, in] is the input after lora_dropout (peft computes DoRA's base part from the
/// dropped input too while dropout is active), W [out, in] the frozen base weight, s the scaling,
/// m [out] the magnitude, n[o] = ‖W[o,:] + s·(B·A)[o,:]‖ and v = m / n. The norm is a constant
/// for the backward (peft's `weight_norm.detach()`). peft adds to the base output
///
///     (v − 1) ⊙ x·Wᵀ + v ⊙ s·x·Aᵀ·Bᵀ  =  x·Dᵀ,   D = v ⊙ (W + s·B·A) − W   [out, in]
///
/// and the backward, with g = dOut [N, out]:
///
///     dx += g·D (through dropout's mask)          dA += s·(g·(v ⊙ B))ᵀ·x
///     dB += s·v ⊙ (gᵀ·(x·Aᵀ))                    dm[o] += Σₙ g[n, o]·(x·(W + s·B·A)ᵀ)[n, o] / n[o]
///
/// The products run on the backend; the per-row parts (norms, scaling rows by v) run on the host
/// over [out, in] and [out, r] values, once per forward and once per backward.
extension LoRA {
    /// The module's name ("model.layers.0.self_attn.q_proj").
    public var moduleName: String { String(aName.dropLast(PeftAdapterLayout.loraASuffix.count)) }

    /// What DoRA's forward and backward share for the current A, B and m.
    struct DoRAParts {
        /// W + s·B·A [out, in] f32 (a workspace buffer).
        let effective: Tensor
        /// D = v ⊙ (W + s·B·A) − W [out, in] f32.
        let delta: Tensor
        /// v = m / n [out].
        let scale: [Float]
        /// n [out].
        let norms: [Float]
    }

    /// The frozen weight this DoRA module reads, or an error when it is not attached or is stored
    /// in a dtype DoRA cannot widen to f32 for its norm (quantized blocks).
    func doraBaseWeight() throws -> Tensor {
        guard let baseWeight else {
            throw AdapterError.badOption(name: "use_dora", problem: "module \(moduleName) is a DoRA module that is not attached to a model; attach the adapters before running it")
        }
        try Self.checkDoRAWeight(baseWeight, module: moduleName)
        return baseWeight
    }

    /// DoRA widens the base weight to f32 for its norms: f32, f16 and bf16 storage only.
    static func checkDoRAWeight(_ weight: Tensor, module: String) throws {
        guard [DType.f32, .f16, .bf16].contains(weight.dtype) else {
            throw AdapterError.badOption(name: "use_dora", problem: "needs the base weight of \(module) in f32, f16 or bf16 to compute its row norms, but it is stored as \(weight.dtype); DoRA over quantized base weights is not built yet: train DoRA on an unquantized base, or plain LoRA on this one")
        }
    }

    /// D, W + s·B·A, v and n for the current parameters. `ownDelta` puts D in a tensor of its own
    /// (to keep) instead of the shared workspace.
    func doraParts(backend: Backend, ownDelta: Bool = false) throws -> DoRAParts {
        let weight = try doraBaseWeight()
        guard let magnitude else { throw AdapterError.badOption(name: "use_dora", problem: "module \(moduleName) has no magnitude vector") }
        let (outFeatures, inFeatures) = (weight.shape[0], weight.shape[1])
        let effective = try workspace.matrix(.doraWeight, rows: outFeatures, columns: inFeatures, backend: backend)
        try backend.copy(weight, into: effective)
        let base = try backend.download(effective)
        // effective[out, in] = W + s·B[out, r]·A[r, in]
        try backend.gemm(b, transposeA: false, a, transposeB: false, into: effective, alpha: scaling, beta: 1)
        var values = try backend.download(effective)
        let norms = Self.rowNorms(values, columns: inFeatures)
        let m = try backend.download(magnitude)
        let scale = (0..<outFeatures).map { m[$0] / norms[$0] }
        for row in 0..<outFeatures {
            let v = scale[row]
            for column in (row * inFeatures)..<((row + 1) * inFeatures) { values[column] = v * values[column] - base[column] }
        }
        let delta: Tensor
        if ownDelta {
            delta = try backend.upload(values, shape: [outFeatures, inFeatures], dtype: .f32)
        } else {
            delta = try workspace.matrix(.doraDelta, rows: outFeatures, columns: inFeatures, backend: backend)
            try backend.copy(try backend.upload(values, shape: [outFeatures, inFeatures], dtype: .f32), into: delta)
        }
        return DoRAParts(effective: effective, delta: delta, scale: scale, norms: norms)
    }

    func doraForward(_ input: Tensor, addingTo out: Tensor, backend: Backend) throws {
        let x = try droppedInput(input, backend: backend)
        let delta: Tensor
        if reusesDoRAWeight, let doraCache {
            delta = doraCache
        } else {
            delta = try doraParts(backend: backend, ownDelta: reusesDoRAWeight).delta
            if reusesDoRAWeight { doraCache = delta }
        }
        // out[N, out] += x · Dᵀ
        try backend.gemm(x, transposeA: false, delta, transposeB: true, into: out, alpha: 1, beta: 1)
    }

    func doraBackward(_ dOut: Tensor, input: Tensor, addingTo dx: Tensor?, gradients: GradientStore, backend: Backend) throws {
        let n = input.rowCount
        let parts = try doraParts(backend: backend)
        let x = try droppedInput(input, backend: backend)
        let outFeatures = parts.scale.count
        if let dx {
            if dropout > 0, let seed = dropoutSeed {
                // dx[N, in] += dropout(dOut · D), the forward's mask
                let through = try workspace.matrix(.throughDropout, rows: n, columns: dx.rowLength, backend: backend)
                try backend.gemm(dOut, transposeA: false, parts.delta, transposeB: false, into: through, alpha: 1, beta: 0)
                try backend.dropout(through, into: through, probability: dropout, seed: seed)
                try backend.axpy(1, through, dx)
            } else {
                try backend.gemm(dOut, transposeA: false, parts.delta, transposeB: false, into: dx, alpha: 1, beta: 1)
            }
        }
        if let dA = gradients[aName] {
            // B'[out, r] = v ⊙ B; dDown[N, r] = dOut · B'; dA[r, in] += s · dDownᵀ · x
            var scaledB = try backend.download(b)
            Self.scaleRows(&scaledB, by: parts.scale, columns: rank)
            let bPrime = try backend.upload(scaledB, shape: [outFeatures, rank], dtype: .f32)
            let dDown = try workspace.matrix(.dDown, rows: n, columns: rank, backend: backend)
            try backend.gemm(dOut, transposeA: false, bPrime, transposeB: false, into: dDown, alpha: 1, beta: 0)
            try backend.gemm(dDown, transposeA: true, x, transposeB: false, into: dA, alpha: scaling, beta: 1)
        }
        if let dB = gradients[bName] {
            // down[N, r] = x · Aᵀ; t[out, r] = dOutᵀ · down; dB += s · v ⊙ t
            let down = try savedDown(rows: n, backend: backend)
            try backend.gemm(x, transposeA: false, a, transposeB: true, into: down, alpha: 1, beta: 0)
            let t = try workspace.matrix(.doraRank, rows: outFeatures, columns: rank, backend: backend)
            try backend.gemm(dOut, transposeA: true, down, transposeB: false, into: t, alpha: 1, beta: 0)
            var values = try backend.download(t)
            Self.scaleRows(&values, by: parts.scale.map { $0 * scaling }, columns: rank)
            try backend.axpy(1, try backend.upload(values, shape: [outFeatures, rank], dtype: .f32), dB)
        }
        if let dM = gradients[magnitudeName] {
            // y[N, out] = x · (W + s·B·A)ᵀ; dm[o] += Σₙ dOut[n, o] · y[n, o] / n[o]
            let y = try workspace.matrix(.doraOutput, rows: n, columns: outFeatures, backend: backend)
            try backend.gemm(x, transposeA: false, parts.effective, transposeB: true, into: y, alpha: 1, beta: 0)
            let (yValues, gValues) = (try backend.download(y), try backend.download(dOut))
            var sums = [Double](repeating: 0, count: outFeatures)
            for row in 0..<n {
                for column in 0..<outFeatures {
                    sums[column] += Double(gValues[row * outFeatures + column]) * Double(yValues[row * outFeatures + column])
                }
            }
            let values = (0..<outFeatures).map { Float(sums[$0]) / parts.norms[$0] }
            try backend.axpy(1, try backend.upload(values, shape: [outFeatures], dtype: .f32), dM)
        }
    }

    /// ‖row‖₂ of each row of a row-major [rows, columns] matrix (accumulated in Double).
    static func rowNorms(_ values: [Float], columns: Int) -> [Float] {
        stride(from: 0, to: values.count, by: columns).map { start in
            var sum = 0.0
            for index in start..<(start + columns) { sum += Double(values[index]) * Double(values[index]) }
            return Float(sum.squareRoot())
        }
    }

    /// Multiplies row o of a row-major [rows, columns] matrix by `factors[o]`.
    static func scaleRows(_ values: inout [Float], by factors: [Float], columns: Int) {
        for (row, factor) in factors.enumerated() {
            for index in (row * columns)..<((row + 1) * columns) { values[index] *= factor }
        }
    }

    /// DoRA's initial magnitude, as peft's `update_layer` sets it: ‖W + s·B·A‖ of each row [out].
    static func initialMagnitude(module: String, weight: Tensor, a: Tensor, b: Tensor, scaling: Float, backend: Backend) throws -> [Float] {
        try checkDoRAWeight(weight, module: module)
        let effective = try backend.empty(weight.shape, dtype: .f32)
        try backend.copy(weight, into: effective)
        try backend.gemm(b, transposeA: false, a, transposeB: false, into: effective, alpha: scaling, beta: 1)
        return rowNorms(try backend.download(effective), columns: weight.shape[1])
    }
}
