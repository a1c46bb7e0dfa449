import TailorModels
import TailorTensor

/// One parameter of the merged model: what it starts from, the LoRA update folded into it, and
/// the dtype it is stored in.
struct MergedParameter: Sendable {
    /// Hugging Face name ("model.layers.0.self_attn.q_proj.weight").
    let name: String
    /// The model's tensor, or the adapter tensor (f32) standing in for it.
    let source: Tensor
    /// `scaling · B·A` is added when the parameter is an adapted layer's weight (and, for DoRA,
    /// each row then scaled by magnitude / its norm).
    let update: (a: Tensor, b: Tensor, scaling: Float, magnitude: Tensor?)?
    /// The base parameter's dtype, which the merged value keeps.
    let dtype: DType

    /// Whether the merged value differs from `source` (a LoRA update, or a narrowing).
    var isComputed: Bool { update != nil || source.dtype != dtype }

    /// The merged value: W + scaling · B·A computed in f32 for this tensor only (DoRA: times
    /// m / ‖W + scaling · B·A‖ per row, as peft's merge), or the adapter
    /// tensor, narrowed (round to nearest even) to `dtype`; `source` itself when nothing changes.
    func make(on backend: Backend) throws -> Tensor {
        guard let update else {
            guard source.dtype != dtype else { return source }
            let narrowed = try backend.empty(source.shape, dtype: dtype)
            try backend.copy(source, into: narrowed)
            return narrowed
        }
        let merged = try backend.empty(source.shape, dtype: .f32)   // [out, in]
        try backend.copy(source, into: merged)
        // merged[out, in] += scaling · B[out, r] · A[r, in]
        try backend.gemm(update.b, transposeA: false, update.a, transposeB: false, into: merged,
                         alpha: update.scaling, beta: 1)
        if let magnitude = update.magnitude {
            var values = try backend.download(merged)
            let norms = LoRA.rowNorms(values, columns: source.shape[1]), m = try backend.download(magnitude)
            LoRA.scaleRows(&values, by: (0..<m.count).map { m[$0] / norms[$0] }, columns: source.shape[1])
            try backend.copy(try backend.upload(values, shape: source.shape, dtype: .f32), into: merged)
        }
        guard dtype != .f32 else { return merged }
        let narrowed = try backend.empty(source.shape, dtype: dtype)
        try backend.copy(merged, into: narrowed)
        return narrowed
    }
}

extension LoRAAdapters {
    /// Folds every adapter into its base weight, W ← W + scaling · B·A, keeping the base dtype,
    /// removes the side paths, and makes `tensors` (trained biases, `modules_to_save` copies) the
    /// model's own in the base dtype (peft's `merge_and_unload`). An output layer untied by a copy
    /// stays untied: the merged folder has both embed_tokens and lm_head.
    /// (`writeMerged(_:baseFolder:to:maxShardBytes:)` writes the same folder without changing the model.)
    /// A 4-bit base weight (QLoRA) is dequantized as bitsandbytes does, merged in f32 and kept in
    /// `dequantizedDType`; peft's merge instead quantizes the sum to 4 bits again.
    public func mergeAndUnload(into model: CausalLM, dequantizedDType: DType = .f32) throws {
        let parameters = try mergedParameters(installingOn: model, dequantizedDType: dequantizedDType)
        displaced = nil  // the tensors are the model's own from now on
        for module in modules where model.linear(module: module.name) != nil {
            try model.setAdapter(nil, module: module.name)
        }
        for parameter in parameters where parameter.isComputed {
            try model.replaceParameter(parameter.name, with: try parameter.make(on: model.backend))
        }
    }

    /// The merged model's parameters in `model.namedParameters` order. Puts `tensors` in place of
    /// the model's own first (`install`, which unties an output layer given a copy), and leaves
    /// them there; the base dtype of each replaced parameter is remembered from the tensor it displaced.
    func mergedParameters(installingOn model: CausalLM, dequantizedDType: DType = .f32) throws -> [MergedParameter] {
        try install(on: model)
        var baseDTypes: [String: DType] = [:]
        if let saved = displaced {
            for tensor in tensors {
                let original: Tensor?
                switch tensor.name {
                case CausalLM.embedName: original = saved.embedTokens
                case CausalLM.lmHeadName: original = saved.lmHead.weight
                default: original = saved.others.first { $0.name == tensor.name }?.tensor
                }
                if let dtype = original?.dtype { baseDTypes[tensor.name] = dtype }
            }
        }
        var updates: [String: (a: Tensor, b: Tensor, scaling: Float, magnitude: Tensor?)] = [:]
        for module in modules {
            guard let linear = model.linear(module: module.name) else { continue }
            updates[linear.name] = (module.lora.a, module.lora.b, module.lora.scaling, module.lora.magnitude)
        }
        return model.namedParameters.map { name, tensor in
            let base = baseDTypes[name] ?? tensor.dtype
            return MergedParameter(name: name, source: tensor, update: updates[name], dtype: base.isBlockQuantized ? dequantizedDType : base)
        }
    }
}
