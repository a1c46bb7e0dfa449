#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TailorFormats
import TailorModels
import TailorTensor

/// Merging IA³ as peft 0.21's `ia3.Linear.merge` does: an output-scaling module's weight rows
/// and bias times l (W[o, :] · l[o], b[o] · l[o]); a feed-forward module's weight columns times l
/// (W[:, i] · l[i]), its bias unchanged. Computed in f32 for one tensor at a time and stored in
/// the base dtype.
extension IA3Adapters {
    /// One parameter of the merged model: its name, shape, stored dtype and how to make its value.
    struct MergedIA3Parameter: @unchecked Sendable {
        let name: String
        let shape: [Int]
        let dtype: DType
        /// Whether the value differs from the model's tensor (scaled by l, or an adapter tensor narrowed).
        let isComputed: Bool
        let make: (Backend) throws -> Tensor
    }

    /// The merged model's parameters in `model.namedParameters` order. Puts `tensors` in place of
    /// the model's own first and leaves them there (the caller restores them when it must).
    func mergedParameters(installingOn model: CausalLM) throws -> [MergedIA3Parameter] {
        let parameters = try extras.mergedParameters(installingOn: model)
        // Parameter name → (l, scale rows (true) or columns (false)).
        var scaled: [String: (vector: Tensor, rows: Bool)] = [:]
        for module in modules {
            guard let linear = model.linear(module: module.name) else { continue }
            scaled[linear.name] = (module.ia3.vector, !module.ia3.isFeedforward)
            if linear.bias != nil && !module.ia3.isFeedforward { scaled[linear.biasName] = (module.ia3.vector, true) }
        }
        return parameters.map { parameter in
            guard let scale = scaled[parameter.name] else {
                return MergedIA3Parameter(name: parameter.name, shape: parameter.source.shape, dtype: parameter.dtype,
                                          isComputed: parameter.isComputed) { try parameter.make(on: $0) }
            }
            return MergedIA3Parameter(name: parameter.name, shape: parameter.source.shape, dtype: parameter.dtype,
                                      isComputed: true) { backend in
                let wide = try backend.empty(parameter.source.shape, dtype: .f32)
                try backend.copy(parameter.source, into: wide)
                var values = try backend.download(wide)
                let l = try backend.download(scale.vector)
                if scale.rows {
                    // [out, in] or [out]: element (o, i) times l[o]
                    let columns = values.count / l.count
                    for o in 0..<l.count { for i in 0..<columns { values[o * columns + i] *= l[o] } }
                } else {
                    // [out, in]: element (o, i) times l[i]
                    for start in stride(from: 0, to: values.count, by: l.count) { for i in 0..<l.count { values[start + i] *= l[i] } }
                }
                let merged = try backend.upload(values, shape: parameter.source.shape, dtype: .f32)
                guard parameter.dtype != .f32 else { return merged }
                let narrowed = try backend.empty(parameter.source.shape, dtype: parameter.dtype)
                try backend.copy(merged, into: narrowed)
                return narrowed
            }
        }
    }

    /// Folds every vector into its Linear, takes the IA³ modules off and makes `tensors`
    /// (`modules_to_save` copies) the model's own in the base dtype (peft's `merge_and_unload`).
    public func mergeAndUnload(into model: CausalLM) throws {
        let parameters = try mergedParameters(installingOn: model)
        for module in modules { try model.setAdapter(nil, module: module.name) }
        for parameter in parameters where parameter.isComputed {
            try model.replaceParameter(parameter.name, with: try parameter.make(model.backend))
        }
        extras.forgetDisplaced()
    }

    /// Writes `model` with these adapters merged as a Hugging Face folder, one tensor at a time,
    /// without changing the model: what `mergeAndUnload(into:)` then `ModelFolderWriter.write` write.
    /// - Parameters:
    ///   - baseFolder: where config.json and the companion files are copied from (nil: none).
    ///   - maxShardBytes: shard above this many bytes.
    public func writeMerged(_ model: CausalLM, baseFolder: URL?, to output: URL,
                            maxShardBytes: Int = ModelFolderWriter.defaultMaxShardBytes) throws {
        let wasInstalled = extras.isInstalled
        let parameters = try mergedParameters(installingOn: model)
        let untied = model.config.tieWordEmbeddings && model.lmHead.name == CausalLM.lmHeadName
        if !wasInstalled { try extras.restore(on: model) }
        let backend = model.backend
        let tensors = try parameters.map { parameter in
            try SafetensorsWriter.Tensor(name: parameter.name, shape: parameter.shape, dtype: parameter.dtype,
                                         backend: backend) { try parameter.make(backend) }
        }
        try ModelFolderWriter.write(tensors, baseFolder: baseFolder, untieEmbeddings: untied, to: output,
                                    maxShardBytes: maxShardBytes)
    }
}

extension LoRAAdapters {
    /// Whether `tensors` stand in for the model's own now.
    var isInstalled: Bool { displaced != nil }

    /// Makes the installed `tensors` the model's own for good (after a merge).
    func forgetDisplaced() { displaced = nil }
}
