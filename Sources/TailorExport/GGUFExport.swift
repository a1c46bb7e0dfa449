import Foundation
import TailorAdapters
import TailorFormats
import TailorModels
import TailorTensor
import TailorTokenizers

/// The tensor types of `tailor export gguf --outtype`, with llama.cpp's file type number (`general.file_type`).
///
/// f32 ... q5_1 give every 2-D weight that type (as convert_hf_to_gguf.py does for f32/f16/bf16/q8_0); the k-quant
/// presets (q4_k_s ...) choose a type per tensor as llama.cpp's `llama-quantize` does (`GGUFExport.presetType`).
public enum GGUFOutType: String, CaseIterable, Sendable {
    case f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1
    case q2_k, q3_k_s, q3_k_m, q3_k_l, q4_k_s, q4_k_m, q5_k_s, q5_k_m, q6_k

    /// The type of every 2-D weight (1-D tensors and norms stay F32); a preset's default type.
    public var tensorType: GGMLType {
        switch self {
        case .f32: return .f32
        case .f16: return .f16
        case .bf16: return .bf16
        case .q8_0: return .q8_0
        case .q4_0: return .q4_0
        case .q4_1: return .q4_1
        case .q5_0: return .q5_0
        case .q5_1: return .q5_1
        case .q2_k: return .q2_K
        case .q3_k_s, .q3_k_m, .q3_k_l: return .q3_K
        case .q4_k_s, .q4_k_m: return .q4_K
        case .q5_k_s, .q5_k_m: return .q5_K
        case .q6_k: return .q6_K
        }
    }

    /// Whether this is a llama-quantize preset with a per-tensor mix.
    public var isKQuantPreset: Bool { [.q2_k, .q3_k_s, .q3_k_m, .q3_k_l, .q4_k_s, .q4_k_m, .q5_k_s, .q5_k_m, .q6_k].contains(self) }

    /// `llama_ftype` (gguf-py's `LlamaFileType`).
    public var fileType: UInt32 {
        switch self {
        case .f32: return 0
        case .f16: return 1
        case .q4_0: return 2
        case .q4_1: return 3
        case .q8_0: return 7
        case .q5_0: return 8
        case .q5_1: return 9
        case .q2_k: return 10
        case .q3_k_s: return 11
        case .q3_k_m: return 12
        case .q3_k_l: return 13
        case .q4_k_s: return 14
        case .q4_k_m: return 15
        case .q5_k_s: return 16
        case .q5_k_m: return 17
        case .q6_k: return 18
        case .bf16: return 32
        }
    }
}

/// What an export reports while it runs.
public enum GGUFExportEvent: Sendable {
    /// The plan: tensors to write and the file's size.
    case started(tensors: Int, bytes: Int)
    /// Tensor `index` (from 1) of `count` was written; `bytes` of tensor data so far.
    case wroteTensor(index: Int, count: Int, name: String, type: GGMLType, bytes: Int)
}

/// `tailor export gguf`: a Hugging Face model folder (optionally with a LoRA adapter merged on the fly) as a
/// llama.cpp GGUF file, laid out and described as llama.cpp's convert_hf_to_gguf.py writes it.
///
///     let summary = try GGUFExport.run(model: folder, output: url, options: .init(outType: .q8_0)) { event in ... }
///
/// Tensors are produced one at a time while the file is written (each merged, permuted and quantized alone), so
/// the memory an export needs beyond the mapped model is about one weight in f32 and its encoding.
public enum GGUFExport {
    public struct Options: Sendable {
        public var outType: GGUFOutType
        /// `tokenizer.ggml.pre` to write instead of the one the converter's hash picks.
        public var preTokenizer: String?
        /// `general.name` (default: the model folder's or source file's name).
        public var name: String?
        /// Write an Ollama Modelfile beside the file (`OllamaModelfile`), when the chat template's form is known.
        public var modelfile: Bool

        public init(outType: GGUFOutType = .f16, preTokenizer: String? = nil, name: String? = nil, modelfile: Bool = false) {
            self.outType = outType
            self.preTokenizer = preTokenizer
            self.name = name
            self.modelfile = modelfile
        }
    }

    /// What an export wrote.
    public struct Summary: Sendable, CustomStringConvertible {
        public let output: URL
        /// `general.architecture`.
        public let architecture: String
        public let outType: GGUFOutType
        public let tensorCount: Int
        /// Tensors per ggml type.
        public let typeCounts: [GGMLType: Int]
        public let fileBytes: Int
        public let preTokenizer: String?
        public let eosTokenId: Int?, eotTokenId: Int?
        public let hasChatTemplate: Bool
        public let adapted: Int
        public let seconds: Double
        /// The Ollama Modelfile written (its path and chat format), or why none was; nil when not asked for.
        public var modelfile: Result<(path: String, format: String), OllamaModelfile.Refusal>? = nil

        var modelfileLine: String {
            switch modelfile {
            case .success(let written)?: return "  Ollama: \(written.path) (\(written.format)); ollama create NAME -f \(written.path)\n"
            case .failure(let refusal)?: return "  \(refusal)\n"
            case nil: return ""
            }
        }

        public var description: String {
            let types = typeCounts.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.value) \($0.key.name)" }.joined(separator: ", ")
            return """
            wrote \(output.path) (\(architecture), \(outType.rawValue), \(tensorCount) tensors: \(types); \
            \(String(format: "%.1f", Double(fileBytes) / 1e6)) MB)
              tokenizer: pre \(preTokenizer ?? "default"), eos \(eosTokenId.map(String.init) ?? "none"), \
            eot \(eotTokenId.map(String.init) ?? "none")\(hasChatTemplate ? ", chat template" : ", no chat template")\
            \(adapted > 0 ? "; \(adapted) adapted layers merged" : "")
            \(modelfileLine)  \(String(format: "%.1f", seconds)) s
            """
        }
    }

    /// The Modelfile the export wrote beside the file, or why not: `ollama create NAME -f PATH`.
    public static func modelfileURL(for output: URL) -> URL {
        output.deletingPathExtension().appendingPathExtension("Modelfile")
    }

    /// Exports the model folder `model` to `output`.
    /// - Parameters:
    ///   - source: the .gguf file the folder was imported from, when it was: its tokenizer metadata is kept as is.
    ///   - adapter: a peft/Tailor LoRA adapter folder to merge.
    /// - Throws: `ExportError` for an architecture llama.cpp cannot read, a missing output folder; `TokenizerError`
    ///   for a tokenizer that cannot be written; the loaders' and `GGUFWriter`'s errors. A failed export leaves no
    ///   file at `output` (an existing one is kept).
    public static func run(model folder: URL, source: URL? = nil, adapter: URL? = nil, output: URL, options: Options,
                           events: (GGUFExportEvent) -> Void = { _ in }) throws -> Summary {
        let start = Date()
        try checkOutputFolder(of: output)
        let arch = try architecture(of: folder)
        let config = try ModelConfig(contentsOf: folder.appendingPathComponent("config.json"))

        let vocabulary: GGUFVocabulary
        if let source {
            let gguf = try GGUFFile(url: source)
            vocabulary = try GGUFVocabulary(metadata: gguf, file: source.path)
        } else {
            vocabulary = try GGUFVocabulary(huggingFace: folder, vocabularySize: config.vocabSize, preTokenizer: options.preTokenizer)
        }

        let backend = try CPUBackend()
        let model = try CausalLM.load(folder: folder, backend: backend)
        var parameters = MergedTensor.parameters(of: model)
        var adapted = 0
        if let adapter {
            let adapters = try PeftAdapterFolder.load(folder: adapter, for: model)
            parameters = try adapters.mergedTensors(of: model).tensors
            adapted = parameters.filter(\.isAdapted).count
        }

        let name = options.name ?? (source ?? folder).deletingPathExtension().lastPathComponent
        let tensors = try plan(parameters, config: config, arch: arch, outType: options.outType, backend: backend)
        let metadata = modelMetadata(config: config, arch: arch, name: name, outType: options.outType)
            + tokenizerMetadata(vocabulary)
        events(.started(tensors: tensors.count, bytes: tensors.reduce(0) { $0 + $1.byteCount }))
        try GGUFWriter.write(metadata: metadata, tensors: tensors, to: output) { done, total, bytes in
            events(.wroteTensor(index: done, count: total, name: tensors[done - 1].name, type: tensors[done - 1].type, bytes: bytes))
        }
        let (size, counts) = written(output, tensors)
        var summary = Summary(output: output, architecture: arch.arch.rawValue, outType: options.outType, tensorCount: tensors.count,
                              typeCounts: counts, fileBytes: size, preTokenizer: vocabulary.pre, eosTokenId: vocabulary.eosTokenId,
                              eotTokenId: vocabulary.eotTokenId, hasChatTemplate: vocabulary.chatTemplate != nil, adapted: adapted,
                              seconds: Date().timeIntervalSince(start))
        if options.modelfile { summary.modelfile = try writeModelfile(vocabulary, beside: output) }
        return summary
    }

    /// Writes the Ollama Modelfile for `vocabulary`'s chat template beside `output` (atomically), or says why not.
    static func writeModelfile(_ vocabulary: GGUFVocabulary, beside output: URL) throws
        -> Result<(path: String, format: String), OllamaModelfile.Refusal> {
        func text(_ id: Int?) -> String? { id.flatMap { vocabulary.tokens.indices.contains($0) ? vocabulary.tokens[$0] : nil } }
        switch OllamaModelfile.make(chatTemplate: vocabulary.chatTemplate, gguf: output.lastPathComponent,
                                    bosToken: text(vocabulary.bosTokenId), eosToken: text(vocabulary.eosTokenId)) {
        case .success(let modelfile):
            let url = modelfileURL(for: output)
            try Data(modelfile.text.utf8).write(to: url, options: .atomic)
            return .success((url.path, modelfile.format.rawValue))
        case .failure(let refusal):
            return .failure(refusal)
        }
    }

    /// - Throws: `ExportError.outputFolderMissing` when `output`'s folder does not exist.
    static func checkOutputFolder(of output: URL) throws {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: output.deletingLastPathComponent().path, isDirectory: &isFolder), isFolder.boolValue else {
            throw ExportError.outputFolderMissing(path: output.path)
        }
    }

    /// The written file's size and its tensors per ggml type.
    static func written(_ output: URL, _ tensors: [GGUFWriter.Tensor]) -> (bytes: Int, types: [GGMLType: Int]) {
        let size = (try? FileManager.default.attributesOfItem(atPath: output.path)[.size] as? NSNumber)?.intValue ?? 0
        var counts: [GGMLType: Int] = [:]
        for tensor in tensors { counts[tensor.type, default: 0] += 1 }
        return (size, counts)
    }
}
