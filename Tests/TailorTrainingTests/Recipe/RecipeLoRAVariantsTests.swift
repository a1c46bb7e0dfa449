import TailorAdapters
import TailorTensor
import TailorTraining
import XCTest

/// The recipe keys of the LoRA variants: use_dora, rank_pattern / alpha_pattern, LoRA+.
final class RecipeLoRAVariantsTests: XCTestCase {
    func recipe(_ pairs: [(String, RecipeValue)]) throws -> TrainRecipe {
        var recipe = TrainRecipe()
        _ = try RecipeKeys.apply([("model_name_or_path", .string("m")), ("dataset", .string("d.json"))] + pairs, to: &recipe)
        return recipe
    }

    func testKeysAreRead() throws {
        // A YAML mapping arrives as "pattern=value" items (TrainCommand); a flag as "{...}" or "a=1,b=2".
        let recipe = try recipe([("use_dora", .bool(true)), ("rank_pattern", .list(["q_proj=8", #"layers\.0\.mlp\.down_proj=2"#])),
                                 ("alpha_pattern", .string("{v_proj: 32, 'o_proj': 4.5}")), ("loraplus_lr_ratio", .number(16))])
        XCTAssertTrue(recipe.lora.useDora)
        XCTAssertEqual(recipe.lora.rankPattern.map(\.pattern), ["q_proj", #"layers\.0\.mlp\.down_proj"#])
        XCTAssertEqual(recipe.lora.rankPattern.map(\.value), [8, 2])
        XCTAssertEqual(recipe.lora.alphaPattern.map(\.pattern), ["v_proj", "o_proj"])
        XCTAssertEqual(recipe.lora.alphaPattern.map(\.value), [32, 4.5])
        XCTAssertEqual(recipe.training.loraPlusLRRatio, 16)
        XCTAssertEqual(recipe.training.loraPlusLREmbedding, 1e-6, "peft's default")
        try recipe.validate()
        // tailor_config.yaml writes them back as YAML reads them.
        let yaml = RecipeYAML.render(recipe)
        XCTAssertTrue(yaml.contains("use_dora: true"), yaml)
        XCTAssertTrue(yaml.contains(#"rank_pattern: {'q_proj': 8, 'layers\.0\.mlp\.down_proj': 2}"#), yaml)
        XCTAssertTrue(yaml.contains("alpha_pattern: {'v_proj': 32, 'o_proj': 4.5}"), yaml)
        XCTAssertTrue(yaml.contains("loraplus_lr_ratio: 16"), yaml)
        XCTAssertEqual(try self.recipe([("rank_pattern", .string("q_proj=8,v_proj=4"))]).lora.rankPattern.map(\.value), [8, 4])
    }

    func testBadValuesAreNamed() throws {
        XCTAssertThrowsError(try recipe([("rank_pattern", .list(["q_proj=2.5"]))])) { XCTAssertTrue("\($0)".contains("positive integer"), "\($0)") }
        XCTAssertThrowsError(try recipe([("rank_pattern", .list(["q_proj"]))])) { XCTAssertTrue("\($0)".contains("rank_pattern"), "\($0)") }
        XCTAssertThrowsError(try recipe([("alpha_pattern", .list(["q_proj=-1"]))])) { XCTAssertTrue("\($0)".contains("positive number"), "\($0)") }
        XCTAssertThrowsError(try recipe([("rank_pattern", .list(["q_proj(=8"]))]).validate()) { error in
            XCTAssertTrue("\(error)".contains("rank_pattern") && "\(error)".contains("regular expression"), "\(error)")
        }
        XCTAssertThrowsError(try recipe([("loraplus_lr_ratio", .number(0))]).validate()) {
            XCTAssertTrue("\($0)".contains("loraplus_lr_ratio") && "\($0)".contains("positive"), "\($0)")
        }
    }

    /// Keys of LoRA given to full fine-tuning are an error naming both.
    func testLoRAKeysWithFullFineTuningAreRefused() throws {
        for (key, value) in [("use_dora", RecipeValue.bool(true)), ("rank_pattern", .list(["q_proj=8"])), ("alpha_pattern", .list(["q_proj=8"])),
                             ("loraplus_lr_ratio", .number(16)), ("loraplus_lr_embedding", .number(1e-5))] {
            XCTAssertThrowsError(try recipe([("finetuning_type", .string("full")), (key, value)]).validate(), key) { error in
                XCTAssertTrue("\(error)".contains(key) && "\(error)".contains("finetuning_type") && "\(error)".contains("full"), "\(error)")
            }
        }
    }

    /// LoRA+'s groups as peft's create_loraplus_optimizer makes them.
    func testLoRAPlusGroups() throws {
        let backend = try CPUBackend()
        func parameter(_ name: String, _ shape: [Int], decay: Bool = true) throws -> TrainableParameter {
            TrainableParameter(name: name, value: try backend.zeros(shape, dtype: .f32), weightDecay: decay)
        }
        let parameters = [try parameter("m.q_proj.lora_A.weight", [4, 8]), try parameter("m.q_proj.lora_B.weight", [8, 4]),
                          try parameter("m.q_proj.lora_magnitude_vector", [8]), try parameter("m.q_proj.bias", [8], decay: false),
                          try parameter("model.norm.weight", [8], decay: false), try parameter("model.embed_tokens.weight", [16, 8])]
        let grouped = LoRAPlus(ratio: 16).grouped(parameters)
        XCTAssertEqual(grouped.map(\.learningRateScale), [1, 16, 16, 16, 16, 1])
        XCTAssertEqual(grouped.map(\.weightDecay), [true, true, true, false, true, true],
                       "peft's groups decay every name without 'bias' (a norm too, unlike Trainer's)")
    }
}
