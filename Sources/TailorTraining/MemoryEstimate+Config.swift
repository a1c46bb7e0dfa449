import TailorAdapters
import TailorModels
import TailorTensor

extension MemoryEstimate {
    /// How a run trains, for an estimate made from a config alone.
    public enum Method: String, Sendable, CaseIterable {
        /// Every parameter, as trained f32 copies.
        case full
        /// LoRA adapters on the frozen base in its stored dtype.
        case lora
        /// LoRA adapters on a base whose decoder linears are 4-bit blocks (`quantization_bit: 4`).
        case qlora
    }

    /// The estimate of a run on a model known only by its config.json, before any weight is read:
    /// the same parts `init(model:trainable:...)` gives once the model is loaded.
    /// - Parameters:
    ///   - weightDType: how the checkpoint stores its weights (config.json's torch_dtype; f32 for `tailor bench`'s presets).
    ///   - lora: the adapter's settings (lora and qlora): rank (and rank_pattern), target_modules, layers_to_transform,
    ///     dropout, DoRA magnitudes.
    ///   - quantization: qlora's 4-bit format (nil: LLaMA-Factory's `quantization_bit: 4`, nf4 with double quantization).
    /// - Throws: `AdapterError` when the adapter's target_modules pick none of the model's linears.
    public init(config: ModelConfig, method: Method, weightDType: DType, lora: LoRAConfig, quantization: FourBitQuantization? = nil,
                tokens: Int, checkpointing: Bool, optimizerStates: Int, optimizerStateBytes: Double = 4, savedActivationBytes: Int = 4,
                runtimeBytes: Int = MemoryEstimate.cpuRuntimeBytes) throws {
        let weightBytes: Int, trained: Int, modules: [Shape.AdapterModule]
        switch method {
        case .full:
            (weightBytes, trained, modules) = (4 * config.parameterCount, config.parameterCount, [])
        case .lora, .qlora:
            let fourBit = method == .qlora ? quantization ?? FourBitQuantization(format: .nf4, doubleQuant: true) : nil
            weightBytes = config.weightBytes(dtype: weightDType, quantization: fourBit)
            let linears = config.linearModules
            let targeted = Set(try LoRAAdapters.targetedModules(among: linears.map(\.name), config: lora))
            let picked = linears.filter { targeted.contains($0.name) }
            modules = picked.map { Shape.AdapterModule(rank: lora.rank(of: $0.name), inFeatures: $0.inFeatures) }
            trained = picked.reduce(0) { sum, linear in
                sum + lora.rank(of: linear.name) * (linear.inFeatures + linear.outFeatures) + (lora.useDora ? linear.outFeatures : 0)
            }
        }
        self.init(shape: Shape(config: config, weightBytes: weightBytes, trainedValues: trained, adapterModules: modules,
                               adapterDropout: !modules.isEmpty && lora.loraDropout > 0, tokens: tokens, checkpointing: checkpointing,
                               optimizerStates: optimizerStates, optimizerStateBytes: optimizerStateBytes,
                               savedActivationBytes: savedActivationBytes, runtimeBytes: runtimeBytes))
    }
}
