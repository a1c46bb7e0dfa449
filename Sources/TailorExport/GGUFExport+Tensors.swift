import Foundation
import TailorAdapters
import TailorFormats
import TailorModels
import TailorTensor

extension GGUFExport {
    /// The type convert_hf_to_gguf.py gives a tensor: F32 for 1-D tensors and norms, else the out type, falling
    /// back to F16 when a row is not a whole number of the type's blocks. Presets: `presetType`.
    static func tensorType(name: String, shape: [Int], outType: GGUFOutType, position: MixPosition) -> GGMLType {
        if shape.count <= 1 || name.hasSuffix("_norm.weight") || !name.hasSuffix("weight") { return .f32 }
        if outType.isKQuantPreset { return presetType(name: name, rowLength: shape[shape.count - 1], preset: outType, position: position) }
        let type = outType.tensorType
        if let blockSize = type.blockSize, let row = shape.last, row % blockSize != 0 { return .f16 }
        return type
    }

    /// Where a tensor stands in the file, as llama-quantize counts it.
    struct MixPosition {
        /// The layer (for ffn_down) or the index among attn_v tensors (in file order, here by layer).
        var layer = 0
        var layerCount = 1
        /// The model has no output.weight (llama.cpp then treats token_embd as the output).
        var tied = false
        /// Query heads per key/value head (`n_gqa()`, an integer division; q2_k gives attn_v Q4_K from 4 up).
        var queryGroups = 1
    }

    /// llama-quant.cpp's `use_more_bits`: the first and last eighth of the layers and every third one between.
    static func useMoreBits(_ layer: Int, _ layers: Int) -> Bool {
        layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2
    }

    /// The type llama-quantize (`llama_tensor_get_type`, no imatrix, not pure) gives a 2-D weight of a llama, qwen2
    /// or qwen3 model (no experts, not Falcon, not 70B) for the k-quant presets, as the pinned llama.cpp
    /// (llama-cpp-python 0.3.36) chooses it, fallbacks for rows that are not multiples of 256 included:
    /// - output.weight (or a tied token_embd): Q6_K (Q8_0 for such rows);
    /// - attn_v: q2_k Q4_K from 4 query heads per kv head, else Q3_K; q3_k_m Q5_K on the first two, then Q4_K;
    ///   q3_k_l Q5_K; q4_k_m, q5_k_m Q6_K on the layers `use_more_bits` picks; q4_k_s Q5_K on the first four;
    /// - ffn_down: q2_k Q3_K; q3_k_m Q5_K in the first sixteenth, then Q4_K; q3_k_l Q5_K; q4_k_m, q5_k_m Q6_K by
    ///   `use_more_bits`; q4_k_s Q5_K in the first eighth;
    /// - attn_output: q2_k Q3_K, q3_k_m Q4_K, q3_k_l Q5_K;
    /// - every other weight the preset's type.
    /// Then Q2_K and Q3_K fall back to Q4_0, Q4_K to Q5_0, Q5_K to Q5_1, Q6_K to Q8_0 (F16 when a row is not a
    /// multiple of 32 either).
    static func presetType(name: String, rowLength: Int, preset: GGUFOutType, position p: MixPosition) -> GGMLType {
        var type = preset.tensorType
        if name == GGUFTensorNames.output || (p.tied && name == GGUFTensorNames.embedding) {
            type = rowLength % 256 != 0 ? .q8_0 : .q6_K
        } else if name.hasSuffix("attn_v.weight") {
            switch preset {
            case .q2_k: type = p.queryGroups >= 4 ? .q4_K : .q3_K
            case .q3_k_m: type = p.layer < 2 ? .q5_K : .q4_K
            case .q3_k_l: type = .q5_K
            case .q4_k_m, .q5_k_m: if useMoreBits(p.layer, p.layerCount) { type = .q6_K }
            case .q4_k_s: if p.layer < 4 { type = .q5_K }
            default: break
            }
        } else if name.hasSuffix("ffn_down.weight") {
            switch preset {
            case .q2_k: type = .q3_K
            case .q3_k_m: type = p.layer < p.layerCount / 16 ? .q5_K : .q4_K
            case .q3_k_l: type = .q5_K
            case .q4_k_m, .q5_k_m: if useMoreBits(p.layer, p.layerCount) { type = .q6_K }
            case .q4_k_s: if p.layer < p.layerCount / 8 { type = .q5_K }
            default: break
            }
        } else if name.hasSuffix("attn_output.weight") {
            switch preset {
            case .q2_k: type = .q3_K
            case .q3_k_m: type = .q4_K
            case .q3_k_l: type = .q5_K
            default: break
            }
        }
        guard let blockSize = type.blockSize, rowLength % blockSize != 0 else { return type }
        let fallback: GGMLType = [GGMLType.q2_K: .q4_0, .q3_K: .q4_0, .q4_K: .q5_0, .q5_K: .q5_1, .q6_K: .q8_0][type] ?? type
        return rowLength % (fallback.blockSize ?? 1) == 0 ? fallback : .f16
    }

    /// The file's tensors: rope_freqs.weight for Llama 3 RoPE scaling, then every parameter under its llama.cpp
    /// name, each produced (merged, widened to f32, q/k rows permuted for llama, encoded) only when written.
    /// - Throws: `ExportError.unmappedTensor` for a weight llama.cpp has no name for.
    static func plan(_ parameters: [MergedTensor], config: ModelConfig, arch: ConfigFacts, outType: GGUFOutType,
                     backend: CPUBackend) throws -> [GGUFWriter.Tensor] {
        var tensors: [GGUFWriter.Tensor] = []
        if arch.arch == .llama, case .llama3 = config.ropeScaling {
            let factors = ropeFactors(config)
            tensors.append(try GGUFWriter.Tensor(name: "rope_freqs.weight", shape: [factors.count], type: .f32,
                                                 bytes: factors.withUnsafeBytes { Array($0) }))
        }
        for parameter in parameters {
            guard let name = GGUFTensorNames.ggufName(forHF: parameter.name) else { throw ExportError.unmappedTensor(name: parameter.name) }
            let shape = parameter.shape
            let position = mixPosition(of: name, config: config, tied: !parameters.contains { $0.name == CausalLM.lmHeadName })
            let type = tensorType(name: name, shape: shape, outType: outType, position: position)
            var heads: Int?
            if arch.arch.permutesQK {
                if parameter.name.contains("self_attn.q_proj.") { heads = config.headCount }
                if parameter.name.contains("self_attn.k_proj.") { heads = config.kvHeadCount }
            }
            tensors.append(try GGUFWriter.Tensor(name: name, shape: shape, type: type) { [heads] body in
                var values = try backend.download(try parameter.make(on: backend))
                if let heads { values = GGUFWeights.permuteRows(values, heads: heads, rowLength: shape.count == 2 ? shape[1] : 1) }
                let bytes = try GGMLQuantizer.quantize(values, type: type, tensor: name)
                try bytes.withUnsafeBytes { try body($0) }
            })
        }
        return tensors
    }

    /// Where the tensor `name` (llama.cpp's name) of a model with `config` stands for the preset mix.
    static func mixPosition(of name: String, config: ModelConfig, tied: Bool) -> MixPosition {
        MixPosition(layer: layerIndex(name) ?? 0, layerCount: config.layerCount, tied: tied,
                    queryGroups: config.kvHeadCount > 0 ? config.headCount / config.kvHeadCount : 0)
    }

    /// N of a `blk.N.` tensor name.
    static func layerIndex(_ name: String) -> Int? {
        guard name.hasPrefix("blk.") else { return nil }
        return Int(String(name.dropFirst(4).prefix { $0 != "." }))  // allowed: a String parse (nil when not a number)
    }

    /// The RoPE frequency factors convert_hf_to_gguf.py writes for Llama 3 scaling (`generate_extra_tensors`), in float32.
    static func ropeFactors(_ config: ModelConfig) -> [Float] {
        guard case let .llama3(factor, low, high, original) = config.ropeScaling else { return [] }
        let dim = config.headDim
        let lowWavelength = Double(original) / low, highWavelength = Double(original) / high
        return stride(from: 0, to: dim, by: 2).map { i -> Float in
            let freq = 1 / Float(pow(config.ropeTheta, Double(Float(i) / Float(dim))))
            let wavelength = Float(2 * Double.pi) / freq
            if Double(wavelength) < highWavelength { return 1 }
            if Double(wavelength) > lowWavelength { return Float(factor) }
            let smooth = (Float(original) / wavelength - Float(low)) / Float(high - low)
            return 1 / ((1 - smooth) / Float(factor) + smooth)
        }
    }
}
