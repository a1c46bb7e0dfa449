import TailorFormats
import TailorModels
import TailorTensor

/// A trained PiSSA / OLoRA adapter as a plain LoRA of twice the rank on the original base, as
/// peft's `save_pretrained(..., path_initial_model_for_weight_conversion=initial)` writes it
/// (`LoraModel.subtract_mutated_init`): with W = W_res + s·B₀·A₀ at the start and W_res + s·B·A
/// after training, the update is ΔW = s·(B·A − B₀·A₀) = s·[B | −B₀]·[A ; A₀], so
///
///     A' = [A ; A₀]  [2r, in]  (torch.cat dim 0),   B' = [B | −B₀]  [out, 2r]  (torch.cat dim 1)
///
/// and the config keeps the scaling: r ← 2r, lora_alpha ← 2·lora_alpha (with use_rslora
/// lora_alpha ← √2·lora_alpha), every rank_pattern and alpha_pattern value doubled,
/// init_lora_weights ← true. The converted adapter needs no adjusted base.
extension LoRAAdapters {
    /// The initial A and B of every module by Hugging Face name (`aName` / `bName`), on the host:
    /// what `convertedToLoRA` subtracts. Take it right after a PiSSA / OLoRA init, before training.
    public func initialFactors(backend: Backend) throws -> [String: [Float]] {
        var values: [String: [Float]] = [:]
        for module in modules {
            values[module.lora.aName] = try backend.download(module.lora.a)
            values[module.lora.bName] = try backend.download(module.lora.b)
        }
        return values
    }

    /// The plain-LoRA adapter of rank 2r equal to these trained adapters on the original base
    /// (see above); `initial` gives A₀ and B₀ by Hugging Face name (`initialFactors`, or a
    /// pissa_init folder's tensors).
    /// - Throws: `AdapterError.badOption` for what peft's conversion cannot express: DoRA
    ///   magnitudes, trained biases or modules_to_save copies (peft's converted file holds only
    ///   lora_A and lora_B), use_rslora with rank_pattern / alpha_pattern (peft refuses it);
    ///   `.adapterWeight` for a missing or mis-shaped initial tensor.
    public func convertedToLoRA(initial: (String) throws -> [Float]?, backend: Backend) throws -> LoRAAdapters {
        try Self.checkConvertible(config)
        var converted = config
        converted.r = 2 * config.r
        converted.loraAlpha = config.useRslora ? config.loraAlpha * 2.0.squareRoot() : 2 * config.loraAlpha
        converted.rankPattern = config.rankPattern.map { ($0.pattern, 2 * $0.value) }
        converted.alphaPattern = config.alphaPattern.map { ($0.pattern, 2 * $0.value) }
        converted.initLoraWeights = .kaiming
        converted.loraDropout = config.loraDropout
        let workspace = LoRAWorkspace()
        let parts = try modules.map { module -> (name: String, lora: LoRA) in
            let lora = module.lora
            let (r, inFeatures, outFeatures) = (lora.rank, lora.a.shape[1], lora.b.shape[0])
            func start(_ name: String, count: Int) throws -> [Float] {
                guard let values = try initial(name) else {
                    throw AdapterError.adapterWeight(name: name, file: "the initial adapter", problem: "is missing; the conversion subtracts the adapter's initial A and B")
                }
                guard values.count == count else {
                    throw AdapterError.adapterWeight(name: name, file: "the initial adapter", problem: "has \(values.count) values, but this adapter's \(module.name) needs \(count) (r = \(r))")
                }
                return values
            }
            let a0 = try start(lora.aName, count: r * inFeatures), b0 = try start(lora.bName, count: outFeatures * r)
            let a = try backend.download(lora.a), b = try backend.download(lora.b)
            var bPrime = [Float](repeating: 0, count: outFeatures * 2 * r)
            for i in 0..<outFeatures {
                for j in 0..<r {
                    bPrime[i * 2 * r + j] = b[i * r + j]
                    bPrime[i * 2 * r + r + j] = -b0[i * r + j]
                }
            }
            let scaling = LoRAConfig.scaling(alpha: converted.alpha(of: module.name), r: converted.rank(of: module.name), rslora: converted.useRslora)
            return (module.name, LoRA(module: module.name, a: try backend.upload(a + a0, shape: [2 * r, inFeatures], dtype: .f32),
                                      b: try backend.upload(bPrime, shape: [outFeatures, 2 * r], dtype: .f32), scaling: scaling,
                                      workspace: workspace))
        }
        return LoRAAdapters(config: converted, modules: parts)
    }

    /// Throws for a config whose trained adapter peft's conversion cannot turn into a plain LoRA.
    public static func checkConvertible(_ config: LoRAConfig) throws {
        let problem: String?
        if !config.initLoraWeights.adjustsBase {
            problem = "needs an adapter whose init adjusts the base (init_lora_weights pissa, pissa_niter_K or olora; here \(config.initLoraWeights.name)): a plain LoRA already runs on the original base"
        } else if config.useDora {
            problem = "cannot convert a DoRA adapter: peft's conversion concatenates lora_A and lora_B only, and DoRA's magnitude does not add up that way"
        } else if config.bias != .none || !config.modulesToSave.isEmpty {
            problem = "cannot carry trained biases or modules_to_save copies: peft's converted file holds only lora_A and lora_B; train without bias / modules_to_save, or use the unconverted adapter"
        } else if config.useRslora && !(config.rankPattern.isEmpty && config.alphaPattern.isEmpty) {
            problem = "is not supported with use_rslora together with rank_pattern or alpha_pattern (peft refuses it: doubling the pattern's alphas would not keep an rsLoRA scaling)"
        } else {
            problem = nil
        }
        if let problem { throw AdapterError.badOption(name: "pissa_convert", problem: problem) }
    }
}
