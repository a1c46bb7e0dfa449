import Foundation
import TailorJSON

/// Writes a Hugging Face model folder that transformers loads: model.safetensors (each tensor in
/// its dtype, sharded above `maxShardBytes`), and config.json, generation_config.json and the
/// tokenizer files copied from a base folder. (`ModelFolderWriter.write(_:baseFolder:to:maxShardBytes:)`
/// in TailorModels writes a model's own parameters this way.)
public enum ModelFolderWriter {
    /// The shard size transformers' `save_pretrained` uses when none is given, `"50GB"` (50·10⁹ bytes)
    /// since transformers 5 (4.x: `"5GB"`). `Trainer` saves full fine-tuning outputs with it, and so
    /// does Tailor.
    public static let defaultMaxShardBytes = 50_000_000_000

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

    /// Writes `tensors` into `output` (created if needed) and copies the companion files. Tensors
    /// whose bytes come from a provider (`SafetensorsWriter.Tensor(name:shape:dtype:backend:make:)`)
    /// are made and written one at a time, so the whole model is never in memory at once.
    /// - Parameters:
    ///   - baseFolder: where config.json and the companion files are copied from (nil: none).
    ///   - untieEmbeddings: the output layer has a weight of its own although the base config ties it
    ///     to the embeddings; the copied config.json then says `tie_word_embeddings: false`.
    ///   - dequantizedTo: the base's 4-bit weights are written dequantized in this torch dtype
    ///     ("float32"): the copied config.json loses its quantization_config and says so in `dtype`.
    /// - Throws: `FormatError.cannotWrite` when `output` cannot be created; the writers' errors.
    public static func write(_ tensors: [SafetensorsWriter.Tensor], baseFolder: URL?, untieEmbeddings: Bool,
                             to output: URL, maxShardBytes: Int = defaultMaxShardBytes, dequantizedTo: String? = nil) throws {
        do {
            try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        } catch {
            throw FormatError.cannotWrite(path: output.path, reason: "the folder cannot be created: \(error)")
        }
        _ = try SafetensorsWriter.writeCheckpoint(tensors, metadata: ["format": "pt"], to: output, maxShardSize: maxShardBytes)
        if let baseFolder {
            try copyFiles(companionFiles, from: baseFolder, to: output)
            if untieEmbeddings {
                try untieConfig(output.appendingPathComponent("config.json"))
            }
            if let dequantizedTo {
                try dequantizeConfig(output.appendingPathComponent("config.json"), dtype: dequantizedTo)
            }
        }
    }

    /// Sets tie_word_embeddings to false in `url` (when present): the model's output layer was
    /// given its own weight (a `modules_to_save` copy), which transformers would otherwise
    /// replace by the embeddings on loading.
    static func untieConfig(_ url: URL) throws {
        try editConfig(url) { $0["tie_word_embeddings"] = false }
    }

    /// Removes quantization_config from `url` (when present) and sets `dtype`: the weights are no longer
    /// 4-bit, and transformers would otherwise try to load them as bitsandbytes tensors.
    static func dequantizeConfig(_ url: URL, dtype: String) throws {
        try editConfig(url) { object in
            object["quantization_config"] = nil
            object["dtype"] = .string(dtype)
        }
    }

    static func editConfig(_ url: URL, _ edit: (inout JSONObject) -> Void) throws {
        guard let data = FileManager.default.contents(atPath: url.path),
              var object = (try? JSONValue(parsing: [UInt8](data), file: url.path))?.objectValue else { return }
        edit(&object)
        // As transformers writes config.json: json.dumps(config, indent=2, sort_keys=True) + "\n".
        try AtomicWrite.write(Data(JSONValue.object(object).bytes(.pythonIndented.sortingKeys()) + [0x0A]), to: url)
    }
}
