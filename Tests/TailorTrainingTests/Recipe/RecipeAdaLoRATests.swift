import Foundation
import TailorAdapters
import TailorTraining
import XCTest

/// The recipe keys of AdaLoRA: peft_type ADALORA, init_r, target_r, tinit, tfinal, deltaT, beta1,
/// beta2, orth_reg_weight, total_step with the LoRA keys that apply, and the errors for keys of
/// another method and schedules peft refuses.
final class RecipeAdaLoRATests: XCTestCase {
    func recipe(_ pairs: [(String, RecipeValue)]) throws -> TrainRecipe {
        var recipe = TrainRecipe()
        _ = try RecipeKeys.apply([("model_name_or_path", .string("m")), ("dataset", .string("d.json"))] + pairs, to: &recipe)
        return recipe
    }

    func testKeysAreRead() throws {
        let recipe = try recipe([("peft_type", .string("adalora")), ("init_r", .number(6)), ("target_r", .number(2)), ("tinit", .number(2)),
                                 ("tfinal", .number(3)), ("deltaT", .number(1)), ("beta1", .number(0.8)), ("beta2", .number(0.9)),
                                 ("orth_reg_weight", .number(0.3)), ("total_step", .number(10)), ("lora_alpha", .number(16)),
                                 ("lora_dropout", .number(0.1)), ("target_modules", .list(["q_proj", "v_proj"]))])
        try recipe.validate()
        XCTAssertEqual(recipe.peftType, .adalora)
        XCTAssertEqual(recipe.adaLoRAConfig, AdaLoRAConfig(targetModules: .names(["q_proj", "v_proj"]), initR: 6, targetR: 2, tinit: 2, tfinal: 3,
                                                           deltaT: 1, beta1: 0.8, beta2: 0.9, orthRegWeight: 0.3, totalStep: 10,
                                                           loraAlpha: 16, loraDropout: 0.1))
        let defaults = try self.recipe([("peft_type", .string("ADALORA"))]).adaLoRAConfig
        XCTAssertEqual(defaults, AdaLoRAConfig(), "peft's defaults: init_r 12, target_r 8, lora_alpha 8, no total_step (the run's)")
        // tailor_config.yaml writes AdaLoRA's keys and none of LoRA's that AdaLoRA refuses.
        let yaml = RecipeYAML.render(recipe)
        for line in ["peft_type: ADALORA\n", "init_r: 6\n", "target_r: 2\n", "tinit: 2\n", "tfinal: 3\n", "deltaT: 1\n", "total_step: 10\n",
                     "orth_reg_weight: 0.3\n", "lora_alpha: 16"] {
            XCTAssertTrue(yaml.contains(line), "\(line) in\n\(yaml)")
        }
        XCTAssertFalse(yaml.contains("\nr: ") || yaml.contains("use_rslora") || yaml.contains("finetuning_type") || yaml.contains("use_dora"), yaml)
    }

    func testKeysOfAnotherMethodAreErrors() throws {
        for key in ["init_r", "target_r", "tinit", "total_step"] {
            XCTAssertThrowsError(try recipe([(key, .number(4))]).validate(), key) { error in
                XCTAssertTrue("\(error)".contains(key) && "\(error)".contains("peft_type: ADALORA"), "\(error)")
            }
            XCTAssertThrowsError(try recipe([("peft_type", .string("IA3")), (key, .number(4))]).validate(), key) { error in
                XCTAssertTrue("\(error)".contains(key) && "\(error)".contains("AdaLoRA"), "\(error)")
            }
        }
        let lora: [(String, RecipeValue)] = [("r", .number(4)), ("use_dora", .bool(true)), ("use_rslora", .bool(true)),
                                             ("loraplus_lr_ratio", .number(16)), ("finetuning_type", .string("lora")),
                                             ("feedforward_modules", .list(["down_proj"]))]
        for (key, value) in lora {
            XCTAssertThrowsError(try recipe([("peft_type", .string("ADALORA")), (key, value)]).validate(), key) { error in
                XCTAssertTrue("\(error)".contains(key) && "\(error)".contains("peft_type"), "\(error)")
            }
        }
    }

    func testSchedulesPeftRefusesAreErrors() throws {
        for (pairs, key) in [([("init_r", RecipeValue.number(4)), ("target_r", .number(6))], "target_r"),
                             ([("tinit", .number(5)), ("tfinal", .number(5)), ("total_step", .number(10))], "tinit"),
                             ([("orth_reg_weight", .number(-0.5))], "orth_reg_weight"),
                             ([("beta2", .number(1.5))], "beta2")] {
            XCTAssertThrowsError(try recipe([("peft_type", .string("ADALORA"))] + pairs).validate(), key) { error in
                XCTAssertTrue("\(error)".contains(key), "\(error)")
            }
        }
        XCTAssertThrowsError(try recipe([("peft_type", .string("ADALORA")), ("resume_from_checkpoint", .string("out/checkpoint-5"))]).validate()) {
            XCTAssertTrue("\($0)".contains("resume_from_checkpoint"), "\($0)")
        }
    }
}
