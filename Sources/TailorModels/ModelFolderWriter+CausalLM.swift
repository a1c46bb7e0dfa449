#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TailorFormats

extension ModelFolderWriter {
    /// Writes `model`'s parameters as a Hugging Face folder, with the companion files of
    /// `baseFolder`: tensor by tensor, each in its own dtype as the backend holds it (on the CPU
    /// straight from its memory, from a GPU one tensor's copy at a time). An output layer with a
    /// weight of its own on a tied model (a `modules_to_save` copy) is written as lm_head.weight
    /// and config.json is untied.
    /// - Parameters:
    ///   - baseFolder: where config.json and the companion files are copied from (nil: none).
    ///   - maxShardBytes: shard above this many bytes (transformers' `save_pretrained` default).
    public static func write(_ model: CausalLM, baseFolder: URL?, to output: URL,
                             maxShardBytes: Int = defaultMaxShardBytes) throws {
        let tensors = try model.namedParameters.map { name, tensor in
            try SafetensorsWriter.Tensor(name: name, tensor: tensor, backend: model.backend)
        }
        let untied = model.config.tieWordEmbeddings && model.lmHead.name == CausalLM.lmHeadName
        try write(tensors, baseFolder: baseFolder, untieEmbeddings: untied, to: output, maxShardBytes: maxShardBytes)
    }
}
