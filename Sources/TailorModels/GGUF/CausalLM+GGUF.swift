#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TailorFormats
import TailorTensor

extension CausalLM {
    /// Loads a llama.cpp GGUF file (architectures llama, qwen2, qwen3): the config from its metadata
    /// (`ModelConfig(gguf:)`), every weight dequantized to f32 and stored as `dtype` (f32 or bf16), q/k rows of
    /// llama files put back in Hugging Face order (`GGUFWeights`).
    /// - Throws: `FormatError` for a file that is not GGUF, truncated, or has a tensor type that cannot be
    ///   dequantized; `ModelError` for an unsupported architecture, missing metadata or tensors.
    public static func load(gguf url: URL, backend: Backend, dtype: DType = .f32) throws -> CausalLM {
        let file = try GGUFFile(url: url)
        return try load(gguf: file, backend: backend, dtype: dtype)
    }

    /// Builds the model from an opened GGUF file.
    public static func load(gguf file: GGUFFile, backend: Backend, dtype: DType = .f32) throws -> CausalLM {
        try load(gguf: file, backend: backend, dtype: dtype, blocks: nil)
    }

    /// Loads a GGUF file keeping the weights it stores in ggml blocks (`GGUFWeights.blocks`) as they are:
    /// products decode them as they go (LoRA on a quantized GGUF, with no f32 copy of the base). The
    /// weights of the modules `blocks.decoding` names (modules_to_save, which train) and every tensor
    /// stored in a plain type (norms, biases, f32/f16 weights) are decoded to f32.
    public static func load(gguf url: URL, backend: Backend, blocks: GGUFBlockWeights) throws -> CausalLM {
        try load(gguf: try GGUFFile(url: url), backend: backend, dtype: .f32, blocks: blocks)
    }

    static func load(gguf file: GGUFFile, backend: Backend, dtype: DType, blocks: GGUFBlockWeights?) throws -> CausalLM {
        guard dtype == .f32 || dtype == .bf16 else {
            throw ModelError.badConfig(file: file.url.path, field: "dtype", problem: "is \(dtype); GGUF weights load as f32 or bf16")
        }
        let config = try ModelConfig(gguf: file)
        let weights = GGUFWeights(file: file, config: config)
        return try assemble(config: config, backend: backend) { name, shape in
            if let blocks, blocks.keeps(name), let tensor = try weights.blocks(hf: name, shape: shape, backend: backend) { return tensor }
            return try backend.upload(try weights.floats(hf: name, shape: shape), shape: shape, dtype: dtype)
        }
    }

    /// Whether a GGUF file stores any decoder linear in ggml blocks (a quantized model, which LoRA trains on its
    /// blocks as they are), rather than in f32 / f16 / bf16.
    public static func storesBlocks(gguf file: GGUFFile) -> Bool {
        file.tensors.contains { $0.type.blockType != nil && $0.name.hasPrefix("blk.") && $0.dims.count == 2 }
    }
}

/// Which weights of a GGUF file stay in its ggml blocks (`CausalLM.load(gguf:backend:blocks:)`).
public struct GGUFBlockWeights: Sendable, Equatable {
    /// Module names (or their last parts, as peft matches modules_to_save: "lm_head", "embed_tokens")
    /// whose weights are decoded to f32 though stored in blocks. Either of lm_head / embed_tokens decodes a
    /// tied embedding.
    public var decoding: [String]

    public init(decoding: [String] = []) { self.decoding = decoding }

    /// Whether the weight `name` (a Hugging Face name) stays in blocks when the file stores it so.
    func keeps(_ name: String) -> Bool {
        let module = name.hasSuffix(".weight") ? String(name.dropLast(".weight".count)) : name
        let modules = name == CausalLM.embedName ? [module, "lm_head"] : [module]
        return !ModuleNames.any(modules, isNamedIn: decoding)
    }
}

/// Where a model comes from: a Hugging Face folder (config.json + safetensors) or a llama.cpp `.gguf` file.
/// Commands that take `--model` accept either.
public enum ModelSource: Sendable, Equatable {
    case folder(URL)
    case gguf(URL)

    /// A `.gguf` file (by extension, or by its `GGUF` magic) or otherwise a folder.
    public init(path: String) {
        let url = URL(fileURLWithPath: path)
        if url.pathExtension.lowercased() == "gguf" || Self.hasGGUFMagic(url) {
            self = .gguf(url)
        } else {
            self = .folder(url)
        }
    }

    public var url: URL {
        switch self {
        case let .folder(url), let .gguf(url): return url
        }
    }

    /// Loads the model; GGUF weights are dequantized to `ggufDType` (f32 by default).
    public func loadModel(backend: Backend, ggufDType: DType = .f32) throws -> CausalLM {
        switch self {
        case let .folder(url): return try CausalLM.load(folder: url, backend: backend)
        case let .gguf(url): return try CausalLM.load(gguf: url, backend: backend, dtype: ggufDType)
        }
    }

    /// Whether `url` is a regular file starting with the `GGUF` magic.
    static func hasGGUFMagic(_ url: URL) -> Bool {
        var info = stat()
        guard stat(url.path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return false }
        let fd = open(url.path, O_RDONLY)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var magic = [UInt8](repeating: 0, count: 4)
        return read(fd, &magic, 4) == 4 && magic == Array("GGUF".utf8)
    }
}
