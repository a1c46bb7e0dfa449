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
    }

    /// llama-quant.cpp's `use_more_bits`: the first and last eighth of the layers and every third one between.
    static func useMoreBits(_ layer: Int, _ layers: Int) -> Bool {
        layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2
    }

    /// The type llama-quantize (`llama_tensor_get_type`, no imatrix, not pure) gives a 2-D weight of a llama, qwen2
    /// or qwen3 model (no experts, not 70B) for the k-quant presets, fallbacks for rows that are not multiples of
    /// 256 included: output.weight (or a tied token_embd) Q6_K (Q8_0 for such rows); attn_v Q6_K on the layers
    /// `use_more_bits` picks (q4_k_m, q5_k_m) or the first four (Q5_K, q4_k_s); ffn_down the same by layer
    /// (q4_k_m, q5_k_m), or Q5_K in the first eighth (q4_k_s); every other weight the preset's type. Then
    /// Q4_K falls back to Q5_0, Q5_K to Q5_1, Q6_K to Q8_0 (F16 when a row is not a multiple of 32 either).
    static func presetType(name: String, rowLength: Int, preset: GGUFOutType, position p: MixPosition) -> GGMLType {
        var type = preset.tensorType
        if name == GGUFTensorNames.output || (p.tied && name == GGUFTensorNames.embedding) {
            type = rowLength % 256 != 0 ? .q8_0 : .q6_K
        } else if name.hasSuffix("attn_v.weight") {
            if (preset == .q4_k_m || preset == .q5_k_m) && useMoreBits(p.layer, p.layerCount) { type = .q6_K }
            else if preset == .q4_k_s && p.layer < 4 { type = .q5_K }
        } else if name.hasSuffix("ffn_down.weight") {
            if (preset == .q4_k_m || preset == .q5_k_m) && useMoreBits(p.layer, p.layerCount) { type = .q6_K }
            else if preset == .q4_k_s && p.layer < p.layerCount / 8 { type = .q5_K }
        }
        guard let blockSize = type.blockSize, rowLength % blockSize != 0 else { return type }
        let fallback: GGMLType = [GGMLType.q4_K: .q5_0, .q5_K: .q5_1, .q6_K: .q8_0][type] ?? type
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
            var position = MixPosition(layerCount: config.layerCount, tied: !parameters.contains { $0.name == CausalLM.lmHeadName })
            if let layer = GGUFExport.layerIndex(name) { position.layer = layer }
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
