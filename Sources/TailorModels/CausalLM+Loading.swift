#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TailorFormats
import TailorTensor

extension CausalLM {
    /// Loads a Hugging Face model folder: config.json and model.safetensors (or a sharded
    /// checkpoint with model.safetensors.index.json).
    ///
    /// Weights keep their file dtype (bf16 stays bf16, widened inside each GEMM); on the CPU
    /// they alias the memory-mapped file instead of being copied.
    ///
    /// A folder saved by transformers + bitsandbytes in 4 bits (`quantization_config`, `*.quant_state.*`
    /// tensors) loads its linears as they are stored; `quantization` quantizes the linears of a
    /// f32/bf16/f16 folder while loading (transformers' `load_in_4bit=True`); `rounding` rounds the
    /// frozen f32 product weights to bf16 (`ProductWeightRounding`; `roundedProductWeights` counts them).
    public static func load(folder: URL, backend: Backend, quantization: FourBitQuantization? = nil,
                            rounding: ProductWeightRounding? = nil) throws -> CausalLM {
        let config = try ModelConfig(contentsOf: folder.appendingPathComponent("config.json"))
        let checkpoint = try SafetensorsCheckpoint(folder: folder)
        return try load(config: config, checkpoint: checkpoint, backend: backend, quantization: quantization, rounding: rounding)
    }

    /// Builds the model from an opened checkpoint, checking every weight's presence and shape.
    public static func load(config: ModelConfig, checkpoint: SafetensorsCheckpoint, backend: Backend,
                            quantization: FourBitQuantization? = nil, rounding: ProductWeightRounding? = nil) throws -> CausalLM {
        let source = checkpoint.indexURL?.path ?? checkpoint.url.path
        var rounded = 0
        // An f32 weight rounded as it loads: the f32 file pages read for it are not needed again.
        func round(_ name: String, _ shape: [Int], to dtype: DType) throws -> Tensor {
            let narrow = try backend.upload(try checkpoint.floats(name), shape: shape, dtype: dtype)
            checkpoint.releasePages(name)
            rounded += 1
            return narrow
        }
        try quantization?.validate(source: source)
        func weight(_ name: String, _ shape: [Int]) throws -> Tensor {
            if FourBitQuantization.quantizes(name), BitsAndBytesLayout.isFourBit(name, in: checkpoint) {
                let blocks = try BitsAndBytesLayout.read(name, shape: shape, in: checkpoint)
                do { return try backend.upload(fourBit: blocks, shape: shape) } catch let error as TensorError {
                    throw ModelError.tensor(error, during: "\(source): loading \(name)")
                }
            }
            guard let info = checkpoint.info(name) else {
                throw ModelError.missingWeight(name: name, source: source, expectedShape: shape)
            }
            guard info.shape == shape else {
                throw ModelError.weightShapeMismatch(name: name, source: source, expected: shape, got: info.shape)
            }
            guard let dtype = info.dtype.tensorDType, [.f32, .bf16, .f16].contains(dtype) else {
                throw ModelError.unsupportedWeightDType(name: name, source: source, dtype: info.dtype.rawValue)
            }
            if let quantization, FourBitQuantization.quantizes(name) {
                let quantized = try quantization.quantize(try checkpoint.floats(name), name: name, shape: shape, source: source, backend: backend)
                checkpoint.releasePages(name)  // the f32 file pages read for it are not needed again
                return quantized
            }
            if let rounding, dtype == .f32, rounding.rounds(name) { return try round(name, shape, to: rounding.dtype) }
            let bytes = try checkpoint.bytes(name)
            let aligned = Int(bitPattern: bytes.baseAddress) % dtype.byteSize == 0
            // Alias the mapped file when the data is aligned; copy otherwise.
            return try backend.upload(bytes: bytes, shape: shape, dtype: dtype, owner: aligned ? checkpoint : nil)
        }
        let model = try assemble(config: config, backend: backend, weight: weight)
        // A tied output layer: the lookup keeps the f32 table, the products get a rounded copy.
        if let rounding, model.lmHead.name == embedName, model.embedTokens.dtype == .f32, rounding.rounds(lmHeadName) {
            model.lmHead.weight = try round(embedName, model.embedTokens.shape, to: rounding.dtype)  // [V, C]
        }
        model.roundedProductWeights = rounded
        return model
    }

    /// Builds the module tree, asking `weight(name, shape)` for each parameter.
    static func assemble(config c: ModelConfig, backend: Backend,
                         weight: (String, [Int]) throws -> Tensor) throws -> CausalLM {
        func linear(_ name: String, out: Int, in: Int, bias: Bool) throws -> Linear {
            let w = try weight(name + ".weight", [out, `in`])
            return Linear(name: name + ".weight", weight: w, bias: bias ? try weight(name + ".bias", [out]) : nil)
        }
        let embed = try weight(embedName, [c.vocabSize, c.hiddenSize])
        var layers: [DecoderLayer] = []
        for i in 0..<c.layerCount {
            let p = "model.layers.\(i)."
            layers.append(DecoderLayer(
                index: i,
                inputNorm: try weight(p + "input_layernorm.weight", [c.hiddenSize]),
                qProj: try linear(p + "self_attn.q_proj", out: c.qDim, in: c.hiddenSize, bias: c.qkvBias),
                kProj: try linear(p + "self_attn.k_proj", out: c.kvDim, in: c.hiddenSize, bias: c.qkvBias),
                vProj: try linear(p + "self_attn.v_proj", out: c.kvDim, in: c.hiddenSize, bias: c.qkvBias),
                oProj: try linear(p + "self_attn.o_proj", out: c.hiddenSize, in: c.qDim, bias: c.outputBias),
                qNorm: c.qkNorm ? try weight(p + "self_attn.q_norm.weight", [c.headDim]) : nil,
                kNorm: c.qkNorm ? try weight(p + "self_attn.k_norm.weight", [c.headDim]) : nil,
                postAttentionNorm: try weight(p + "post_attention_layernorm.weight", [c.hiddenSize]),
                gateProj: try linear(p + "mlp.gate_proj", out: c.intermediateSize, in: c.hiddenSize, bias: c.mlpBias),
                upProj: try linear(p + "mlp.up_proj", out: c.intermediateSize, in: c.hiddenSize, bias: c.mlpBias),
                downProj: try linear(p + "mlp.down_proj", out: c.hiddenSize, in: c.intermediateSize, bias: c.mlpBias)))
        }
        let norm = try weight(finalNormName, [c.hiddenSize])
        let head = c.tieWordEmbeddings ? nil : try weight(lmHeadName, [c.vocabSize, c.hiddenSize])
        return CausalLM(config: c, backend: backend, embedTokens: embed, layers: layers, finalNorm: norm, lmHead: head)
    }

    /// A model with random weights (benchmarks, tests): normal(0, 0.02)-like uniform values for
    /// matrices, ones for norms, zeros for biases, in `dtype`.
    /// With `quantization`, the decoder linears are quantized to 4 bits as they are made (QLoRA benchmarks).
    public static func random(config: ModelConfig, backend: Backend, seed: UInt64 = 0, dtype: DType = .f32,
                              quantization: FourBitQuantization? = nil) throws -> CausalLM {
        try quantization?.validate(source: "random weights")
        var generator = SplitMix64(state: seed)
        return try assemble(config: config, backend: backend) { name, shape in
            let count = shape.reduce(1, *)
            if name.hasSuffix("norm.weight") {
                return try backend.upload([Float](repeating: 1, count: count), shape: shape, dtype: dtype)
            }
            if name.hasSuffix(".bias") {
                return try backend.upload([Float](repeating: 0, count: count), shape: shape, dtype: dtype)
            }
            // Uniform in ±0.02·√3 has the standard deviation of transformers' normal(0, 0.02) init.
            let limit: Float = 0.02 * 1.732_050_8
            var values = [Float](repeating: 0, count: count)
            for i in 0..<count { values[i] = generator.nextFloat() * 2 * limit - limit }
            if let quantization, FourBitQuantization.quantizes(name) {
                return try quantization.quantize(values, name: name, shape: shape, source: "random weights", backend: backend)
            }
            return try backend.upload(values, shape: shape, dtype: dtype)
        }
    }
}
