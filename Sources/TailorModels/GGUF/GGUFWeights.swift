#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TailorFormats
import TailorTensor

/// A GGUF file's weights under their Hugging Face names, dequantized to f32 in Hugging Face layout.
///
/// llama.cpp's converter reorders the rows of q_proj and k_proj of `llama`-architecture models so that its
/// RoPE, which rotates adjacent pairs (x0, x1), (x2, x3) ..., equals transformers' rotation of halves
/// (x_i, x_{i+D/2}). Within each head of D rows, GGUF row 2i + j holds Hugging Face row j·D/2 + i
/// (i < D/2, j ∈ {0, 1}); `floats(hf:)` undoes that for q/k weights and biases. Qwen2/Qwen3 files are not permuted.
public struct GGUFWeights: Sendable {
    public let file: GGUFFile
    public let config: ModelConfig

    /// Whether q/k rows are in llama.cpp's permuted order (`general.architecture == "llama"`).
    public var permutesQK: Bool { file.architecture == GGUFArchitecture.llama.rawValue }

    public init(file: GGUFFile, config: ModelConfig) {
        self.file = file
        self.config = config
    }

    /// Every weight the model has, by Hugging Face name with its shape, in module order (tied lm_head omitted).
    public var shapes: [(name: String, shape: [Int])] {
        let c = config
        var result: [(String, [Int])] = [(CausalLM.embedName, [c.vocabSize, c.hiddenSize])]
        for i in 0..<c.layerCount {
            let p = "model.layers.\(i)."
            result.append((p + "input_layernorm.weight", [c.hiddenSize]))
            for (name, out, inp, bias) in [("self_attn.q_proj", c.qDim, c.hiddenSize, c.qkvBias),
                                           ("self_attn.k_proj", c.kvDim, c.hiddenSize, c.qkvBias),
                                           ("self_attn.v_proj", c.kvDim, c.hiddenSize, c.qkvBias),
                                           ("self_attn.o_proj", c.hiddenSize, c.qDim, c.outputBias)] {
                result.append((p + name + ".weight", [out, inp]))
                if bias { result.append((p + name + ".bias", [out])) }
            }
            if c.qkNorm {
                result.append((p + "self_attn.q_norm.weight", [c.headDim]))
                result.append((p + "self_attn.k_norm.weight", [c.headDim]))
            }
            result.append((p + "post_attention_layernorm.weight", [c.hiddenSize]))
            for (name, out, inp) in [("mlp.gate_proj", c.intermediateSize, c.hiddenSize),
                                     ("mlp.up_proj", c.intermediateSize, c.hiddenSize),
                                     ("mlp.down_proj", c.hiddenSize, c.intermediateSize)] {
                result.append((p + name + ".weight", [out, inp]))
                if c.mlpBias { result.append((p + name + ".bias", [out])) }
            }
        }
        result.append((CausalLM.finalNormName, [c.hiddenSize]))
        if !c.tieWordEmbeddings { result.append((CausalLM.lmHeadName, [c.vocabSize, c.hiddenSize])) }
        return result
    }

    /// Weight `name` (Hugging Face name) as f32 values in row-major order of `shape`.
    /// - Throws: `ModelError.missingWeight` / `.weightShapeMismatch` naming the GGUF tensor, `FormatError` for a
    ///   type that cannot be dequantized.
    public func floats(hf name: String, shape: [Int]) throws -> [Float] {
        let (ggufName, _) = try tensor(hf: name, shape: shape)
        let values = try file.floats(ggufName)
        guard let heads = permutedHeads(hf: name) else { return values }
        return Self.unpermuteRows(values, heads: heads, rowLength: shape.count == 2 ? shape[1] : 1)
    }

    /// The GGUF name and entry of weight `name`, checked to exist with `shape`.
    /// - Throws: `ModelError.missingWeight` / `.weightShapeMismatch` naming the GGUF tensor.
    func tensor(hf name: String, shape: [Int]) throws -> (name: String, info: GGUFTensorInfo) {
        let path = file.url.path
        guard let ggufName = GGUFTensorNames.ggufName(forHF: name) else {
            throw ModelError.missingWeight(name: name, source: path, expectedShape: shape)
        }
        guard let info = file.tensor(ggufName) else {
            throw ModelError.missingWeight(name: ggufName, source: path, expectedShape: shape)
        }
        guard info.shape == shape else {
            throw ModelError.weightShapeMismatch(name: ggufName, source: path, expected: shape, got: info.shape)
        }
        return (ggufName, info)
    }

    /// The heads whose rows llama.cpp permuted in weight (or bias) `name`: q_proj's and k_proj's of a llama file; nil otherwise.
    func permutedHeads(hf name: String) -> Int? {
        guard permutesQK else { return nil }
        return name.contains("self_attn.q_proj.") ? config.headCount : name.contains("self_attn.k_proj.") ? config.kvHeadCount : nil
    }

    /// Weight `name` as the file stores it when that is in ggml blocks TailorTensor decodes (`GGMLBlockType`):
    /// a tensor of dtype `q4_0` ... `q6_K` aliasing the mapped file (q/k rows of llama files copied back into
    /// Hugging Face order, whole rows of blocks at a time); nil for a tensor stored in f32, f16 or another
    /// plain type, which `floats(hf:shape:)` reads.
    /// - Throws: `ModelError` naming the GGUF tensor when it is missing, of another shape, or its rows are not
    ///   whole blocks.
    public func blocks(hf name: String, shape: [Int], backend: Backend) throws -> Tensor? {
        let (ggufName, info) = try tensor(hf: name, shape: shape)
        guard let block = info.type.blockType, shape.count == 2 else { return nil }
        let bytes = try file.bytes(ggufName)
        do {
            guard let heads = permutedHeads(hf: name) else {
                return try backend.upload(bytes: bytes, shape: shape, dtype: DType(block), owner: file)
            }
            let rowBytes = bytes.count / max(shape[0], 1)
            let reordered = Self.reorderRows(bytes.assumingMemoryBound(to: UInt8.self), heads: heads, rowLength: rowBytes, toLlamaCpp: false)
            return try reordered.withUnsafeBytes { try backend.upload(bytes: $0, shape: shape, dtype: DType(block), owner: nil) }
        } catch let error as TensorError {
            throw ModelError.tensor(error, during: "\(file.url.path): loading \(ggufName) (\(block))")
        }
    }

    /// Undoes llama.cpp's `permute(w, n_head)`: [heads, D/2, 2, rowLength] -> [heads, 2, D/2, rowLength].
    static func unpermuteRows(_ values: [Float], heads: Int, rowLength: Int) -> [Float] {
        reorderRows(values, heads: heads, rowLength: rowLength, toLlamaCpp: false)
    }

    /// llama.cpp's `permute(w, n_head)` (convert_hf_to_gguf.py), which an exporter applies to q/k weights and biases:
    /// [heads, 2, D/2, rowLength] -> [heads, D/2, 2, rowLength].
    public static func permuteRows(_ values: [Float], heads: Int, rowLength: Int) -> [Float] {
        reorderRows(values, heads: heads, rowLength: rowLength, toLlamaCpp: true)
    }

    /// Within each head of D rows, GGUF row 2i + j is Hugging Face row j·D/2 + i; copies one order into the other.
    /// `rowLength` counts elements of `values` (floats, or a row's bytes of ggml blocks).
    static func reorderRows<Element>(_ values: UnsafeBufferPointer<Element>, heads: Int, rowLength: Int, toLlamaCpp: Bool) -> [Element] {
        let rows = values.count / rowLength
        let headRows = rows / heads
        let half = headRows / 2
        return [Element](unsafeUninitializedCapacity: values.count) { dst, initialized in
            guard let out = dst.baseAddress, let src = values.baseAddress else { initialized = 0; return }
            for h in 0..<heads {
                for i in 0..<half {
                    for j in 0..<2 {
                        let gguf = (h * headRows + 2 * i + j) * rowLength
                        let hf = (h * headRows + j * half + i) * rowLength
                        let (from, to) = toLlamaCpp ? (hf, gguf) : (gguf, hf)
                        (out + to).initialize(from: src + from, count: rowLength)
                    }
                }
            }
            initialized = values.count
        }
    }

    static func reorderRows(_ values: [Float], heads: Int, rowLength: Int, toLlamaCpp: Bool) -> [Float] {
        values.withUnsafeBufferPointer { reorderRows($0, heads: heads, rowLength: rowLength, toLlamaCpp: toLlamaCpp) }
    }
}

extension GGUFWeights {
    /// Writes model.safetensors (every weight under its Hugging Face name, f32 or bf16, `{"format": "pt"}`) and
    /// config.json into `folder`, each atomically; tensors are dequantized one at a time while writing.
    /// - Parameter padTokenId: config.json's `pad_token_id` (the tokenizer's, when known).
    public func writeHuggingFaceModel(to folder: URL, dtype: DType = .f32, padTokenId: Int? = nil) throws {
        guard dtype == .f32 || dtype == .bf16 else {
            throw ModelError.badConfig(file: file.url.path, field: "dtype", problem: "is \(dtype); GGUF weights are written as f32 or bf16")
        }
        let storage: SafetensorsDType = dtype == .bf16 ? .bf16 : .f32
        let tensors = shapes.map { name, shape in
            let count = shape.reduce(1, *)
            return SafetensorsWriter.Tensor(name: name, dtype: storage, shape: shape, byteCount: count * (dtype == .bf16 ? 2 : 4)) { body in
                let values = try floats(hf: name, shape: shape)
                if dtype == .bf16 {
                    let halves = values.map { HalfPrecision.floatToBF16($0).littleEndian }
                    try halves.withUnsafeBytes { try body($0) }
                } else {
                    try values.withUnsafeBytes { try body($0) }
                }
            }
        }
        try SafetensorsWriter.write(tensors, metadata: ["format": "pt"], to: folder.appendingPathComponent("model.safetensors"))
        try writeConfig(to: folder, dtype: dtype, padTokenId: padTokenId)
    }

    /// Writes config.json (the model's config, `dtype` f32 or bf16) into `folder`, atomically.
    public func writeConfig(to folder: URL, dtype: DType, padTokenId: Int?) throws {
        let json = try config.huggingFaceJSON(dtype: dtype == .bf16 ? "bfloat16" : "float32", padTokenId: padTokenId)
        let url = folder.appendingPathComponent("config.json")
        do { try json.write(to: url, options: .atomic) } catch {
            throw ModelError.unreadable(path: url.path, reason: "cannot write config.json (\(error))")
        }
    }
}
