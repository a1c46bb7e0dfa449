#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TailorFormats
import TailorModels
import TailorTensor

extension LoRAAdapters {
    /// Writes `model` with these adapters merged as a Hugging Face folder — the folder that
    /// `mergeAndUnload(into:)` and then `ModelFolderWriter.write(_:baseFolder:to:maxShardBytes:)`
    /// write, byte for byte — without changing the model and one tensor at a time: each adapted
    /// weight is W + scaling · B·A computed in f32 for that tensor alone, narrowed to the base dtype,
    /// written and released before the next; every other tensor is copied through in its dtype.
    /// Loaded on the CPU (`CausalLM.load` maps the safetensors), the base is read from the mapped
    /// files, so the memory a merge needs beyond the adapter is about one adapted weight in f32.
    /// - Parameters:
    ///   - baseFolder: where config.json and the companion files are copied from (nil: none).
    ///   - maxShardBytes: shard above this many bytes.
    ///   - dequantizedDType: the dtype of weights that are 4-bit in the base (a QLoRA merge): dequantized
    ///     exactly in f32 (bitsandbytes' code · absmax), merged, then narrowed to it. The written config.json
    ///     then has no quantization_config, so transformers loads the folder as an ordinary model.
    /// - Throws: the writers' errors (`FormatError`), the backend's.
    public func writeMerged(_ model: CausalLM, baseFolder: URL?, to output: URL,
                            maxShardBytes: Int = ModelFolderWriter.defaultMaxShardBytes, dequantizedDType: DType = .f32) throws {
        let (merged, untied) = try mergedTensors(of: model, dequantizedDType: dequantizedDType)
        let dequantized = model.namedParameters.contains { $0.tensor.dtype.isBlockQuantized }
        let backend = model.backend
        let tensors = try merged.map { parameter in
            try SafetensorsWriter.Tensor(name: parameter.name, shape: parameter.shape, dtype: parameter.dtype,
                                         backend: backend) { try parameter.make(on: backend) }
        }
        try ModelFolderWriter.write(tensors, baseFolder: baseFolder, untieEmbeddings: untied, to: output,
                                    maxShardBytes: maxShardBytes, dequantizedTo: dequantized ? dequantizedDType.torchName : nil)
    }
}
