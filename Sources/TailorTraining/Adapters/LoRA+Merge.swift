import Foundation
import TailorFormats
import TailorJSON
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

/// Writes a model as a Hugging Face folder that transformers loads: model.safetensors (each
/// tensor in its dtype, sharded above `maxShardBytes`), config.json and the tokenizer and
/// generation files copied from the base folder.
public enum ModelFolderWriter {
    /// Files copied from the base folder when present.
    public static let companionFiles = ["config.json", "generation_config.json"] + tokenizerFiles
    /// The tokenizer and chat-template files (what an adapter folder carries beside its weights).
    public static let tokenizerFiles = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                                        "chat_template.jinja", "vocab.json", "merges.txt", "tokenizer.model"]

    /// Copies those of `names` that exist in `source` into `destination`, each atomically.
    public static func copyFiles(_ names: [String], from source: URL, to destination: URL) throws {
        for name in names {
            let file = source.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: file.path) else { continue }
            try AtomicWrite.write(try Data(contentsOf: file), to: destination.appendingPathComponent(name))
        }
    }

    /// - Parameter baseFolder: where config.json and the companion files are copied from (nil: none).
    public static func write(_ model: CausalLM, baseFolder: URL?, to output: URL, maxShardBytes: Int = 5 << 30) throws {
        do {
            try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        } catch {
            throw TrainingError.badOption(name: "output", problem: "\(output.path) cannot be created: \(error)")
        }
        var tensors: [SafetensorsWriter.Tensor] = []
        for (name, tensor) in model.namedParameters {
            tensors.append(SafetensorsWriter.Tensor(name: name, shape: tensor.shape, floats: try model.backend.download(tensor),
                                                    dtype: SafetensorsDType(tensor.dtype) ?? .f32))
        }
        _ = try SafetensorsWriter.writeCheckpoint(tensors, metadata: ["format": "pt"], to: output, maxShardSize: maxShardBytes)
        if let baseFolder {
            try copyFiles(companionFiles, from: baseFolder, to: output)
            if model.config.tieWordEmbeddings && model.lmHead.name == CausalLM.lmHeadName {
                try untieConfig(output.appendingPathComponent("config.json"))
            }
        }
    }

    /// Sets tie_word_embeddings to false in `url` (when present): the model's output layer was
    /// given its own weight (a `modules_to_save` copy), which transformers would otherwise
    /// replace by the embeddings on loading.
    static func untieConfig(_ url: URL) throws {
        guard let data = FileManager.default.contents(atPath: url.path),
              var object = (try? JSONValue(parsing: [UInt8](data), file: url.path))?.objectValue else { return }
        object["tie_word_embeddings"] = false
        // As transformers writes config.json: json.dumps(config, indent=2, sort_keys=True) + "\n".
        try AtomicWrite.write(Data(JSONValue.object(object).bytes(.pythonIndented.sortingKeys()) + [0x0A]), to: url)
    }
}
