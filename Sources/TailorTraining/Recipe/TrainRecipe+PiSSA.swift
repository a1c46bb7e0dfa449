import TailorAdapters

/// LLaMA-Factory's PiSSA keys. LLaMA-Factory turns `pissa_init: true` into peft's
/// `init_lora_weights = "pissa_niter_<pissa_iter>"` ("pissa" when pissa_iter is -1; its default
/// pissa_iter is 16), and `pissa_convert: true` into its PissaConvertCallback, which saves
/// output_dir/pissa_init before training and output_dir/pissa_converted after it.
public struct PiSSAKeys: Sendable, Equatable {
    /// pissa_init
    public var initialize = false
    /// pissa_iter: the randomized SVD's power iterations; -1 the exact SVD.
    public var iterations = 16
    /// pissa_convert
    public var convert = false

    public init() {}

    /// The init pissa_init asks for, or nil for a pissa_iter that names none (0: `validate` says why).
    public var initKind: LoRAInit? {
        iterations == -1 ? .pissa : iterations >= 1 ? .pissaNiter(iterations) : nil
    }
}

extension TrainRecipe {
    /// After pissa_init / pissa_iter are read: with pissa_init and no init_lora_weights given, the
    /// init is LLaMA-Factory's (a given init_lora_weights stays; `validatePiSSAKeys` checks they agree).
    mutating func applyPiSSAKeys() {
        guard pissa.initialize, !givenKeys.contains("init_lora_weights"), let kind = pissa.initKind else { return }
        lora.initLoraWeights = kind
    }

    /// pissa_iter names an init, pissa_init agrees with a given init_lora_weights, and
    /// pissa_convert has an adapter it can convert.
    /// - Throws: `TrainingError.invalidValue` / `.conflictingKeys` naming the keys.
    func validatePiSSAKeys() throws {
        if pissa.initialize {
            guard let kind = pissa.initKind else {
                throw TrainingError.invalidValue(key: "pissa_iter", problem: LoRAInit.niterProblem("pissa_niter_\(pissa.iterations)") ?? "must be -1 or at least 1")
            }
            if givenKeys.contains("init_lora_weights") && lora.initLoraWeights != kind {
                throw TrainingError.conflictingKeys(key: "init_lora_weights", other: "pissa_init",
                                                    problem: "is \(lora.initLoraWeights.name), but pissa_init with pissa_iter \(pissa.iterations) means \(kind.name) (LLaMA-Factory's pissa_niter_<pissa_iter>, pissa for -1); give one of them, or make them agree")
            }
        }
        if lora.initLoraWeights.adjustsBase && quantization.fourBit != nil && finetuningType == .lora && adapterNameOrPath == nil {
            throw TrainingError.conflictingKeys(key: "init_lora_weights", other: "quantization_bit",
                                                problem: "is \(lora.initLoraWeights.name), which decomposes and adjusts each adapted weight, but quantization_bit 4 stores those weights as 4-bit blocks. peft refuses PiSSA on a quantized base (initialize under float32/bf16, then re-quantize the residual); Tailor builds neither PiSSA nor OLoRA over 4-bit weights: drop quantization_bit, or use a plain init")
        }
        if pissa.convert, let start = adapterNameOrPath {
            throw TrainingError.conflictingKeys(key: "pissa_convert", other: "adapter_name_or_path",
                                                problem: "needs the adapter's initial PiSSA / OLoRA values, but with adapter_name_or_path the run continues \(start) and starts from that folder's trained ones, so the converted adapter would be wrong; convert when the adapter is first trained, or train without pissa_convert")
        }
        if pissa.convert {
            do { try LoRAAdapters.checkConvertible(lora) } catch AdapterError.badOption(_, let problem) {
                throw TrainingError.invalidValue(key: "pissa_convert", problem: problem)
            }
        }
    }
}
