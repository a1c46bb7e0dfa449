import Foundation
import TailorFormats
import TailorTensor
import TailorTokenizers

/// A llama.cpp GGUF file as a Hugging Face folder: `tailor import gguf`, and the cached import
/// behind every `--model x.gguf`.
///
///     let summary = try GGUFImport.run(file: gguf, output: folder, dtype: .bf16)
///     let folder = try GGUFImport.modelFolder(for: path) { summary in log(summary.description) }
public enum GGUFImport {
    /// What an import wrote.
    public struct Summary: Sendable, CustomStringConvertible {
        /// The .gguf file read.
        public let file: URL
        /// The folder written.
        public var folder: URL
        /// `general.architecture` of the file (nil when absent).
        public let architecture: String?
        public let config: ModelConfig
        /// dtype of the written weights: f32 or bf16; nil when no weights were written (`filesFolder`).
        public let dtype: DType?
        /// The tokenizer's `tokenizer.ggml.model` and `tokenizer.ggml.pre` (nil: default).
        public let tokenizerModel: String, preTokenizer: String?
        public let hasChatTemplate: Bool
        /// Wall-clock seconds the import took.
        public let seconds: Double

        /// Three lines: the model, the files written, the time.
        public var description: String {
            """
            imported \(file.lastPathComponent) (\(architecture ?? "?"), \(config.layerCount) layers, hidden \(config.hiddenSize), \
            vocab \(config.vocabSize), \(config.parameterCount) parameters) -> \(folder.path)
              \(dtype.map { "model.safetensors (\($0 == .bf16 ? "bf16" : "f32")), " } ?? "")config.json (\(config.architecture.rawValue)\(config.tieWordEmbeddings ? ", tied embeddings" : "")), \
            tokenizer.json (\(tokenizerModel), pre \(preTokenizer ?? "default")), tokenizer_config.json\
            \(hasChatTemplate ? " (with chat template)" : ""), generation_config.json
              \((seconds * 10).rounded() / 10) s
            """
        }
    }

    /// Writes model.safetensors, config.json, tokenizer.json, tokenizer_config.json and
    /// generation_config.json for the GGUF file `url` into `folder` (created when absent).
    /// - Parameter dtype: of the written weights, f32 (the dequantized values exactly) or bf16; nil writes
    ///   everything but model.safetensors (the weights then load from the GGUF file itself).
    /// - Throws: `FormatError` for a file that is not GGUF or is corrupt; `ModelError` for an
    ///   architecture or dtype Tailor cannot write; `TokenizerError` for a tokenizer it cannot
    ///   express as tokenizer.json (checked before anything is written).
    public static func run(file url: URL, output folder: URL, dtype: DType? = .f32) throws -> Summary {
        let start = Date()
        let gguf = try GGUFFile(url: url)
        let config = try ModelConfig(gguf: gguf)
        let vocabulary = try GGUFVocabulary(metadata: gguf, file: url.path)
        _ = try vocabulary.tokenizerJSON(file: url.path)  // fail on an unknown tokenizer before writing anything
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let weights = GGUFWeights(file: gguf, config: config)
        if let dtype {
            try weights.writeHuggingFaceModel(to: folder, dtype: dtype, padTokenId: vocabulary.paddingTokenId)
        } else {
            try weights.writeConfig(to: folder, dtype: .f32, padTokenId: vocabulary.paddingTokenId)
        }
        try vocabulary.writeHuggingFaceFiles(to: folder, source: url.path)
        return Summary(file: url, folder: folder, architecture: gguf.architecture, config: config, dtype: dtype,
                       tokenizerModel: vocabulary.model, preTokenizer: vocabulary.pre,
                       hasChatTemplate: vocabulary.chatTemplate != nil, seconds: Date().timeIntervalSince(start))
    }

    /// Where cached imports live: `$TAILOR_CACHE`, or `~/.cache/tailor`.
    public static var defaultCache: URL {
        ProcessInfo.processInfo.environment["TAILOR_CACHE"].map { URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: NSHomeDirectory()).appendingPathComponent(".cache/tailor")
    }

    /// The model folder for a `--model` argument: the folder itself, or for a .gguf file the folder
    /// it imports to (dequantized to f32) under `cache`/imported, keyed by the file's name, size and
    /// modification time so a changed file is imported anew. An import is written to a staging
    /// folder and moved into place when complete.
    /// - Parameter imported: called with the summary when the file had to be imported (not when the
    ///   cached folder was there already).
    public static func modelFolder(for path: String, cache: URL = defaultCache, imported: (Summary) -> Void) throws -> URL {
        try cachedFolder(for: path, cache: cache, weights: .f32, imported: imported)
    }

    /// For a .gguf file, a folder of everything but its weights (config.json, the tokenizer files,
    /// generation_config.json), cached as `modelFolder` caches imports, for a run whose weights load from
    /// the file itself (`CausalLM.load(gguf:backend:blocks:)`); any other path is returned as it is.
    public static func filesFolder(for path: String, cache: URL = defaultCache, imported: (Summary) -> Void) throws -> URL {
        try cachedFolder(for: path, cache: cache, weights: nil, imported: imported)
    }

    static func cachedFolder(for path: String, cache: URL, weights dtype: DType?, imported: (Summary) -> Void) throws -> URL {
        guard case let .gguf(url) = ModelSource(path: path) else { return URL(fileURLWithPath: path) }
        let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
        let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
        let modified = Int((attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)  // allowed: a file date in seconds since 1970, far below 2^63
        let folder = cache.appendingPathComponent("imported/\(url.deletingPathExtension().lastPathComponent)-\(size)-\(modified)"
                                                  + (dtype == nil ? "-files" : ""))
        if !FileManager.default.fileExists(atPath: folder.appendingPathComponent("config.json").path) {
            let staging = folder.deletingLastPathComponent()
                .appendingPathComponent(".\(folder.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)")
            try? FileManager.default.removeItem(at: staging)
            var summary = try run(file: url, output: staging, dtype: dtype)
            try? FileManager.default.removeItem(at: folder)
            try FileManager.default.moveItem(at: staging, to: folder)
            summary.folder = folder
            imported(summary)
        }
        return folder
    }
}
