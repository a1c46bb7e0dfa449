import TailorModels
import TailorTensor

extension LoRAAdapters {
    /// Folds every adapter into its base weight, W ← W + scaling · B·A, keeping the base dtype,
    /// removes the side paths, and makes `tensors` (trained biases, `modules_to_save` copies) the
    /// model's own in the base dtype (peft's `merge_and_unload`). An output layer untied by a copy
    /// stays untied: the merged folder has both embed_tokens and lm_head.
    public func mergeAndUnload(into model: CausalLM) throws {
        let backend = model.backend
        try install(on: model)
        if let saved = displaced {
            for tensor in tensors {
                let original: Tensor?
                switch tensor.name {
                case CausalLM.embedName: original = saved.embedTokens
                case CausalLM.lmHeadName: original = saved.lmHead.weight
                default: original = saved.others.first { $0.name == tensor.name }?.tensor
                }
                guard let dtype = original?.dtype, dtype != tensor.value.dtype else { continue }
                let narrowed = try backend.empty(tensor.value.shape, dtype: dtype)
                try backend.copy(tensor.value, into: narrowed)
                try model.replaceParameter(tensor.name, with: narrowed)
            }
            displaced = nil  // the tensors are the model's own from now on
        }
        for module in modules {
            guard let linear = model.linear(module: module.name) else { continue }
            let merged = try backend.empty(linear.weight.shape, dtype: .f32)   // [out, in]
            try backend.copy(linear.weight, into: merged)
            // merged[out, in] += scaling · B[out, r] · A[r, in]
            try backend.gemm(module.lora.b, transposeA: false, module.lora.a, transposeB: false, into: merged,
                             alpha: module.lora.scaling, beta: 1)
            let final: Tensor
            if linear.weight.dtype == .f32 {
                final = merged
            } else {
                final = try backend.empty(linear.weight.shape, dtype: linear.weight.dtype)
                try backend.copy(merged, into: final)
            }
            try model.setAdapter(nil, module: module.name)
            try model.replaceParameter(linear.name, with: final)
        }
    }
}
