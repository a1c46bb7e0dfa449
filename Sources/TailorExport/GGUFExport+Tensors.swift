import Foundation
import TailorAdapters
import TailorFormats
import TailorModels
import TailorTensor

extension GGUFExport {
    /// The type convert_hf_to_gguf.py gives a tensor: F32 for 1-D tensors and norms, else the out type, falling
    /// back to F16 when a row is not a whole number of the type's blocks.
    static func tensorType(name: String, shape: [Int], outType: GGUFOutType) -> GGMLType {
        if shape.count <= 1 || name.hasSuffix("_norm.weight") { return .f32 }
        let type = outType.tensorType
        if let blockSize = type.blockSize, let row = shape.last, row % blockSize != 0 { return .f16 }
        return type
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
            let type = tensorType(name: name, shape: shape, outType: outType)
            var heads: Int?
            if arch.arch.permutesQK {
                if parameter.name.contains("self_attn.q_proj.") { heads = config.headCount }
                if parameter.name.contains("self_attn.k_proj.") { heads = config.kvHeadCount }
            }
            tensors.append(try GGUFWriter.Tensor(name: name, shape: shape, type: type) { [heads] body in
                var values = try backend.download(try parameter.make(on: backend))
                if let heads { values = permuteRows(values, heads: heads, rowLength: shape.count == 2 ? shape[1] : 1) }
                let bytes = try GGMLQuantizer.quantize(values, type: type, tensor: name)
                try bytes.withUnsafeBytes { try body($0) }
            })
        }
        return tensors
    }

    /// llama.cpp's q/k row order (convert_hf_to_gguf.py's `permute`): within each head of D rows, row 2i + j comes from
    /// Hugging Face row j·D/2 + i (i < D/2, j ∈ {0, 1}), so its pairwise RoPE equals transformers' rotation of halves.
    static func permuteRows(_ values: [Float], heads: Int, rowLength: Int) -> [Float] {
        let headRows = values.count / rowLength / heads
        let half = headRows / 2
        var out = [Float](repeating: 0, count: values.count)
        values.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for h in 0..<heads {
                    for i in 0..<half {
                        for j in 0..<2 {
                            let to = (h * headRows + 2 * i + j) * rowLength
                            let from = (h * headRows + j * half + i) * rowLength
                            for k in 0..<rowLength { dst[to + k] = src[from + k] }
                        }
                    }
                }
            }
        }
        return out
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
