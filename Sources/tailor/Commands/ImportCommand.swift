import ArgumentParser
import Foundation
import TailorFormats
import TailorModels
import TailorTensor
import TailorTokenizers

extension GGUFFile: GGUFMetadataSource {}

struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Convert a model file from another tool into a Hugging Face folder.",
        subcommands: [ImportGGUFCommand.self]
    )
}

struct ImportGGUFCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gguf",
        abstract: "Convert a llama.cpp GGUF file (Ollama, LM Studio, llama.cpp downloads) into a Hugging Face folder.",
        discussion: """
        Reads the architectures llama (also Mistral, SmolLM and DeepSeek-LLM files),
        qwen2 and qwen3. Every weight is dequantized (F32, F16, BF16, Q8_0, Q4_0, Q4_1,
        Q5_0, Q5_1, Q2_K ... Q6_K) and renamed to its Hugging Face name; the q/k rows
        llama.cpp reorders in llama models are put back in Hugging Face order.

        Writes into --output:
          model.safetensors       the weights
          config.json             Llama/Qwen2/Qwen3ForCausalLM hyperparameters
          tokenizer.json          from tokenizer.ggml.* (byte-level BPE or
                                  SentencePiece), pre-tokenizer as llama.cpp
                                  reads tokenizer.ggml.pre
          tokenizer_config.json   special tokens, add_bos/eos, chat template
          generation_config.json  bos/eos/pad token ids

        The folder loads in transformers (AutoModelForCausalLM, AutoTokenizer) and in
        every tailor command; commands that take --model also accept the .gguf itself.
        """
    )

    @Argument(help: "The .gguf file to convert.")
    var file: String

    @Option(name: .shortAndLong, help: "Folder to write (required; created when absent; the five files in it are replaced).")
    var output: String

    @Option(help: "dtype of the written weights: f32 (the dequantized values exactly) or bf16 (half the size).")
    var dtype: String = "f32"

    func validate() throws {
        guard ["f32", "bf16"].contains(dtype) else { throw ValidationError("--dtype must be f32 or bf16, not '\(dtype)'") }
    }

    func run() async throws {
        print(try GGUFImport.run(file: URL(fileURLWithPath: file), output: URL(fileURLWithPath: output), bf16: dtype == "bf16"))
    }
}

/// GGUF → Hugging Face folder, shared by `tailor import gguf` and every `--model x.gguf`.
enum GGUFImport {
    /// Writes the folder and returns a summary of what was written.
    static func run(file url: URL, output folder: URL, bf16: Bool) throws -> String {
        let start = Date()
        let gguf = try GGUFFile(url: url)
        let config = try ModelConfig(gguf: gguf)
        let vocabulary = try GGUFVocabulary(metadata: gguf, file: url.path)
        _ = try vocabulary.tokenizerJSON(file: url.path)  // fail on an unknown tokenizer before writing anything
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try GGUFWeights(file: gguf, config: config)
            .writeHuggingFaceModel(to: folder, dtype: bf16 ? .bf16 : .f32, padTokenId: vocabulary.paddingTokenId)
        try vocabulary.writeHuggingFaceFiles(to: folder, source: url.path)
        let seconds = Date().timeIntervalSince(start)
        return """
        imported \(url.lastPathComponent) (\(gguf.architecture ?? "?"), \(config.layerCount) layers, hidden \(config.hiddenSize), \
        vocab \(config.vocabSize), \(config.parameterCount) parameters) -> \(folder.path)
          model.safetensors (\(bf16 ? "bf16" : "f32")), config.json (\(config.architecture.rawValue)\(config.tieWordEmbeddings ? ", tied embeddings" : "")), \
        tokenizer.json (\(vocabulary.model), pre \(vocabulary.pre ?? "default")), tokenizer_config.json\
        \(vocabulary.chatTemplate == nil ? "" : " (with chat template)"), generation_config.json
          \(String(format: "%.1f", seconds)) s
        """
    }

    /// The model folder for a `--model` argument: the folder itself, or for a .gguf file the folder
    /// it imports to (dequantized to f32) in the cache, `$TAILOR_CACHE` or `~/.cache/tailor`,
    /// keyed by the file's name, size and modification time so a changed file is imported anew.
    static func modelFolder(for path: String) throws -> URL {
        guard case let .gguf(url) = ModelSource(path: path) else { return URL(fileURLWithPath: path) }
        let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
        let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
        let modified = Int((attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)
        let cache = ProcessInfo.processInfo.environment["TAILOR_CACHE"].map { URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: NSHomeDirectory()).appendingPathComponent(".cache/tailor")
        let folder = cache.appendingPathComponent("imported/\(url.deletingPathExtension().lastPathComponent)-\(size)-\(modified)")
        if !FileManager.default.fileExists(atPath: folder.appendingPathComponent("config.json").path) {
            let staging = folder.deletingLastPathComponent().appendingPathComponent(".\(folder.lastPathComponent).tmp-\(getpid())")
            try? FileManager.default.removeItem(at: staging)
            let summary = try run(file: url, output: staging, bf16: false)
            FileHandle.standardError.write(Data((summary + "\n").utf8))
            try? FileManager.default.removeItem(at: folder)
            try FileManager.default.moveItem(at: staging, to: folder)
        }
        return folder
    }
}

extension ModelSource {
    /// The tokenizer of a `--model` argument: the folder's tokenizer files, or those a GGUF file's metadata amounts to.
    func loadTokenizer() throws -> PretrainedTokenizer {
        switch self {
        case let .folder(url):
            return try PretrainedTokenizer(folder: url)
        case let .gguf(url):
            return try PretrainedTokenizer(gguf: try GGUFVocabulary(metadata: try GGUFFile(url: url), file: url.path), file: url.path)
        }
    }
}
