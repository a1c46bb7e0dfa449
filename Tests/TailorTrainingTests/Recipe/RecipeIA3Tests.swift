import Foundation
import TailorAdapters
import TailorTraining
import XCTest

/// The recipe keys of IA³: peft_type, feedforward_modules, init_ia3_weights, and the errors for
/// keys of another method.
final class RecipeIA3Tests: XCTestCase {
    func recipe(_ pairs: [(String, RecipeValue)]) throws -> TrainRecipe {
        var recipe = TrainRecipe()
        _ = try RecipeKeys.apply([("model_name_or_path", .string("m")), ("dataset", .string("d.json"))] + pairs, to: &recipe)
        return recipe
    }

    func testKeysAreRead() throws {
        let recipe = try recipe([("peft_type", .string("IA3")), ("target_modules", .list(["k_proj", "v_proj", "down_proj"])),
                                 ("feedforward_modules", .list(["down_proj"])), ("init_ia3_weights", .bool(false)),
                                 ("modules_to_save", .list(["lm_head"]))])
        try recipe.validate()
        XCTAssertEqual(recipe.peftType, .ia3)
        XCTAssertEqual(recipe.ia3Config, IA3Config(targetModules: .names(["k_proj", "v_proj", "down_proj"]), feedforwardModules: .names(["down_proj"]),
                                                   initIA3Weights: false, modulesToSave: ["lm_head"]))
        XCTAssertEqual(try self.recipe([("peft_type", .string("ia3"))]).peftType, .ia3, "any letter case")
        XCTAssertNil(try self.recipe([("peft_type", .string("IA3"))]).ia3Config.targetModules, "not given: peft's default for the model")
        // tailor_config.yaml writes IA³'s keys and none of LoRA's own, and reads back the same recipe.
        let yaml = RecipeYAML.render(recipe)
        XCTAssertTrue(yaml.contains("peft_type: IA3\n") && yaml.contains("feedforward_modules: [down_proj]\n")
                      && yaml.contains("init_ia3_weights: false\n"), yaml)
        XCTAssertFalse(yaml.contains("lora_alpha") || yaml.contains("\nr: ") || yaml.contains("use_rslora") || yaml.contains("finetuning_type"), yaml)
        var reread = TrainRecipe()
        let pairs: [(String, RecipeValue)] = yaml.split(separator: "\n").compactMap { line in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            let key = String(line[..<colon]), text = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if text.hasPrefix("[") { return (key, .list(text.dropFirst().dropLast().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })) }
            return (key, .string(text.trimmingCharacters(in: CharacterSet(charactersIn: "\""))))
        }
        _ = try RecipeKeys.apply(pairs.filter { ["peft_type", "target_modules", "feedforward_modules", "init_ia3_weights", "modules_to_save",
                                                 "model_name_or_path", "dataset"].contains($0.0) }, to: &reread)
        try reread.validate()
        XCTAssertEqual(reread.ia3Config, recipe.ia3Config, "tailor_config.yaml's IA³ keys read back")
        XCTAssertFalse(RecipeYAML.render(try self.recipe([])).contains("peft_type"), "LORA, the default, is not written")
    }

    func testKeysOfAnotherMethodAreErrors() throws {
        let lora: [(String, RecipeValue)] = [("r", .number(4)), ("lora_alpha", .number(8)), ("lora_dropout", .number(0.1)), ("use_dora", .bool(true)),
                                             ("rank_pattern", .list(["q_proj=4"])), ("loraplus_lr_ratio", .number(16)), ("use_rslora", .bool(true))]
        for (key, value) in lora {
            XCTAssertThrowsError(try recipe([("peft_type", .string("IA3")), (key, value)]).validate(), key) { error in
                XCTAssertTrue("\(error)".contains(key) && "\(error)".contains("peft_type") && "\(error)".contains("LoRA setting"), "\(error)")
            }
        }
        for (key, value) in [("feedforward_modules", RecipeValue.list(["down_proj"])), ("init_ia3_weights", .bool(false))] {
            XCTAssertThrowsError(try recipe([(key, value)]).validate(), key) { error in
                XCTAssertTrue("\(error)".contains(key) && "\(error)".contains("peft_type: IA3"), "\(error)")
            }
        }
        // LLaMA-Factory has no IA³ finetuning_type: any one given disagrees.
        for type in ["lora", "full"] {
            XCTAssertThrowsError(try recipe([("peft_type", .string("IA3")), ("finetuning_type", .string(type))]).validate()) { error in
                XCTAssertTrue("\(error)".contains("finetuning_type") && "\(error)".contains("IA3"), "\(error)")
            }
        }
        XCTAssertThrowsError(try recipe([("peft_type", .string("LOHA"))])) { XCTAssertTrue("\($0)".contains("does not train yet"), "\($0)") }
        XCTAssertThrowsError(try recipe([("peft_type", .string("IA3")), ("quantization_bit", .number(4))]).validate()) {
            XCTAssertTrue("\($0)".contains("IA³") && "\($0)".contains("quantization_bit"), "\($0)")
        }
        XCTAssertThrowsError(try recipe([("peft_type", .string("IA3")), ("target_modules", .list(["q_proj"])),
                                         ("feedforward_modules", .list(["down_proj"]))]).validate()) {
            XCTAssertTrue("\($0)".contains("feedforward_modules") && "\($0)".contains("subset"), "\($0)")
        }
    }
}
