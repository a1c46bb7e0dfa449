import TailorModels
import TailorTensor
import TailorTraining
import XCTest

/// The QLoRA recipe keys: LLaMA-Factory's quantization_bit / quantization_type / double_quantization and
/// transformers' BitsAndBytesConfig names, each side with its own defaults.
final class QuantizationKeysTests: XCTestCase {
    func recipe(_ pairs: [(String, RecipeValue)]) throws -> TrainRecipe {
        var recipe = TrainRecipe()
        for (key, value) in pairs { _ = try RecipeKeys.apply(key, value, to: &recipe) }
        return recipe
    }

    func testEachSideHasItsDefaults() throws {
        XCTAssertNil(try recipe([]).quantization.fourBit)
        XCTAssertEqual(try recipe([("quantization_bit", .number(4))]).quantization.fourBit,
                       FourBitQuantization(format: .nf4, doubleQuant: true))
        XCTAssertEqual(try recipe([("load_in_4bit", .bool(true))]).quantization.fourBit,
                       FourBitQuantization(format: .fp4, doubleQuant: false))
        XCTAssertEqual(try recipe([("load_in_4bit", .bool(true)), ("bnb_4bit_quant_type", .string("nf4")),
                                   ("bnb_4bit_use_double_quant", .bool(true)), ("bnb_4bit_compute_dtype", .string("torch.bfloat16")),
                                   ("bnb_4bit_quant_storage", .string("uint8"))]).quantization.fourBit,
                       FourBitQuantization(format: .nf4, doubleQuant: true, computeDType: .bf16))
        XCTAssertEqual(try recipe([("quantization_bit", .number(4)), ("quantization_type", .string("fp4")),
                                   ("double_quantization", .bool(false))]).quantization.fourBit,
                       FourBitQuantization(format: .fp4, doubleQuant: false))
        XCTAssertNil(try recipe([("quantization_bit", .null), ("load_in_8bit", .bool(false))]).quantization.fourBit)
        XCTAssertNil(try recipe([("load_in_4bit", .bool(false))]).quantization.fourBit)
    }

    func testWhatIsNotBuiltOrWrongIsRefused() throws {
        for (key, value, text) in [("quantization_bit", RecipeValue.number(8), "LLM.int8"), ("load_in_8bit", .bool(true), "LLM.int8"),
                                   ("quantization_bit", .number(3), "must be 4"), ("quantization_type", .string("int4"), "nf4 or fp4"),
                                   ("bnb_4bit_compute_dtype", .string("float64"), "float32, bfloat16 or float16"),
                                   ("bnb_4bit_quant_storage", .string("int32"), "uint8")] {
            XCTAssertThrowsError(try recipe([(key, value)]), key) { error in
                XCTAssertTrue("\(error)".contains(text), "\(key): \(error)")
            }
        }
        var full = try recipe([("quantization_bit", .number(4)), ("finetuning_type", .string("full"))])
        full.modelNameOrPath = "m"
        full.datasets = ["d.json"]
        XCTAssertThrowsError(try full.validate()) { error in
            XCTAssertTrue("\(error)".contains("quantization_bit") && "\(error)".contains("finetuning_type lora"), "\(error)")
        }
    }
}
