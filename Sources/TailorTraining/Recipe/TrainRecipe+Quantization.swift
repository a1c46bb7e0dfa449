import TailorModels
import TailorTensor

/// QLoRA: the frozen linears in 4 bits, from transformers' BitsAndBytesConfig keys or LLaMA-Factory's.
public struct QuantizationSettings: Sendable, Equatable {
    /// Whose defaults fill what the recipe leaves out: transformers' `load_in_4bit` (fp4, no double quant)
    /// or LLaMA-Factory's `quantization_bit: 4` (nf4, double quantization).
    public enum Defaults: Sendable, Equatable { case transformers, llamaFactory }

    /// nil: weights stay in their file dtype.
    public var defaults: Defaults?
    /// `bnb_4bit_quant_type` / `quantization_type`.
    public var format: FourBitFormat?
    /// `bnb_4bit_use_double_quant` / `double_quantization`.
    public var doubleQuant: Bool?
    /// `bnb_4bit_compute_dtype`.
    public var computeDType: DType?

    public init() {}

    /// The quantization the model loads with, or nil when it is off.
    public var fourBit: FourBitQuantization? {
        guard let defaults else { return nil }
        let lf = defaults == .llamaFactory
        return FourBitQuantization(format: format ?? (lf ? .nf4 : .fp4), doubleQuant: doubleQuant ?? lf,
                                   computeDType: computeDType ?? .f32)
    }
}

extension RecipeKeys {
    /// quantization_bit: 4 (LLaMA-Factory) turns QLoRA on; 8 (LLM.int8) is not built; null / false is off.
    static func quantizationBit(_ value: RecipeValue, _ key: String, _ recipe: inout TrainRecipe) throws {
        if value == .null { recipe.quantization.defaults = nil; return }
        if let on = try? value.bool(key), !on { recipe.quantization.defaults = nil; return }
        guard let bits = try? value.integer(key, min: 0) else {
            throw TrainingError.invalidValue(key: key, problem: "must be 4, null or false (got \(value))")
        }
        switch bits {
        case 4: recipe.quantization.defaults = .llamaFactory
        case 8: throw TrainingError.notImplemented("\(key): 8 (LLM.int8 frozen weights; use 4 for QLoRA, or leave \(key) out)")
        default: throw TrainingError.invalidValue(key: key, problem: "must be 4 (bitsandbytes' QLoRA), null or false (got \(bits))")
        }
    }

    /// load_in_4bit: true turns QLoRA on with transformers' BitsAndBytesConfig defaults.
    static func loadIn4Bit(_ value: RecipeValue, _ key: String, _ recipe: inout TrainRecipe) throws {
        if value == .null { return }
        recipe.quantization.defaults = try value.bool(key) ? .transformers : nil
    }

    /// load_in_8bit: only false / null (LLM.int8 is not built).
    static func loadIn8Bit(_ value: RecipeValue, _ key: String) throws {
        if value == .null { return }
        if try !value.bool(key) { return }
        throw TrainingError.notImplemented("\(key): true (LLM.int8 frozen weights; use load_in_4bit for QLoRA, or leave \(key) out)")
    }

    /// bnb_4bit_quant_type / quantization_type: nf4 or fp4.
    static func quantType(_ value: RecipeValue, _ key: String) throws -> FourBitFormat {
        let name = try value.text(key)
        guard let format = FourBitFormat(rawValue: name.lowercased()) else {
            throw TrainingError.invalidValue(key: key, problem: "must be nf4 or fp4 (got '\(name)')")
        }
        return format
    }

    /// bnb_4bit_compute_dtype: float32 / bfloat16 / float16 (torch names, with or without `torch.`).
    static func computeDType(_ value: RecipeValue, _ key: String) throws -> DType {
        let name = try value.text(key).replacingOccurrences(of: "torch.", with: "")
        switch name {
        case "float32", "fp32", "float": return .f32
        case "bfloat16", "bf16": return .bf16
        case "float16", "fp16", "half": return .f16
        default: throw TrainingError.invalidValue(key: key, problem: "must be float32, bfloat16 or float16 (got '\(name)')")
        }
    }

    /// bnb_4bit_quant_storage: the dtype bitsandbytes views the packed bytes as (for FSDP); the bytes are the same.
    static func quantStorage(_ value: RecipeValue, _ key: String) throws {
        let name = try value.text(key).replacingOccurrences(of: "torch.", with: "")
        guard ["uint8", "float16", "bfloat16", "float32"].contains(name) else {
            throw TrainingError.invalidValue(key: key, problem: "must be uint8, float16, bfloat16 or float32 (got '\(name)')")
        }
    }
}
