#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TailorFormats

extension ModelFolderWriter {
    /// Writes `model`'s parameters (each in its dtype) as a Hugging Face folder, with the companion
    /// files of `baseFolder`. An output layer with a weight of its own on a tied model (a
    /// `modules_to_save` copy) is written as lm_head.weight and config.json is untied.
    /// - Parameter baseFolder: where config.json and the companion files are copied from (nil: none).
    public static func write(_ model: CausalLM, baseFolder: URL?, to output: URL, maxShardBytes: Int = 5 << 30) throws {
        var tensors: [SafetensorsWriter.Tensor] = []
        for (name, tensor) in model.namedParameters {
            tensors.append(SafetensorsWriter.Tensor(name: name, shape: tensor.shape, floats: try model.backend.download(tensor),
                                                    dtype: SafetensorsDType(tensor.dtype) ?? .f32))
        }
        let untied = model.config.tieWordEmbeddings && model.lmHead.name == CausalLM.lmHeadName
        try write(tensors, baseFolder: baseFolder, untieEmbeddings: untied, to: output, maxShardBytes: maxShardBytes)
    }
}
