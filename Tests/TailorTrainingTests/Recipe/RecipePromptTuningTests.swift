import Foundation
import TailorAdapters
import TailorTraining
import XCTest

/// The recipe keys of prompt tuning: peft_type PROMPT_TUNING, num_virtual_tokens, prompt_tuning_init
/// (with its text and tokenizer), and the errors for keys of another method.
final class RecipePromptTuningTests: XCTestCase {
    func recipe(_ pairs: [(String, RecipeValue)]) throws -> TrainRecipe {
        var recipe = TrainRecipe()
        _ = try RecipeKeys.apply([("model_name_or_path", .string("m")), ("dataset", .string("d.json"))] + pairs, to: &recipe)
        return recipe
    }

    func testKeysAreRead() throws {
        let recipe = try recipe([("peft_type", .string("prompt_tuning")), ("num_virtual_tokens", .number(8)),
                                 ("prompt_tuning_init", .string("TEXT")), ("prompt_tuning_init_text", .string("Answer as Zhen Huan."))])
        try recipe.validate()
        XCTAssertEqual(recipe.peftType, .promptTuning)
        XCTAssertEqual(recipe.promptTuningConfig, PromptTuningConfig(numVirtualTokens: 8, initialization: .text("Answer as Zhen Huan."),
                                                                     tokenizerNameOrPath: "m"))
        let yaml = RecipeYAML.render(recipe)
        XCTAssertTrue(yaml.contains("peft_type: PROMPT_TUNING\n") && yaml.contains("num_virtual_tokens: 8\n")
                      && yaml.contains("prompt_tuning_init: TEXT\n"), yaml)
        XCTAssertFalse(yaml.contains("lora_alpha") || yaml.contains("target_modules") || yaml.contains("finetuning_type"), yaml)
        let random = try self.recipe([("peft_type", .string("PROMPT_TUNING")), ("num_virtual_tokens", .number(4))])
        try random.validate()
        XCTAssertEqual(random.promptTuningConfig, PromptTuningConfig(numVirtualTokens: 4))
    }

    func testBadKeysAreErrors() throws {
        for (pairs, expected) in [
            ([("peft_type", RecipeValue.string("PROMPT_TUNING"))], "num_virtual_tokens"),
            ([("peft_type", .string("PROMPT_TUNING")), ("num_virtual_tokens", .number(4)), ("lora_rank", .number(8))], "'r'"),
            ([("peft_type", .string("PROMPT_TUNING")), ("num_virtual_tokens", .number(4)), ("target_modules", .list(["q_proj"]))], "adapts Linear modules"),
            ([("peft_type", .string("PROMPT_TUNING")), ("num_virtual_tokens", .number(4)), ("finetuning_type", .string("lora"))], "LLaMA-Factory has no finetuning_type for prompt or prefix tuning"),
            ([("peft_type", .string("PROMPT_TUNING")), ("num_virtual_tokens", .number(4)), ("prompt_tuning_init", .string("TEXT"))], "prompt_tuning_init_text"),
            ([("peft_type", .string("PROMPT_TUNING")), ("num_virtual_tokens", .number(4)), ("prompt_tuning_init_text", .string("hi"))], "read only with prompt_tuning_init TEXT"),
            ([("peft_type", .string("PROMPT_TUNING")), ("num_virtual_tokens", .number(4)), ("stage", .string("dpo"))], "dpo with PROMPT_TUNING is not built yet"),
            ([("num_virtual_tokens", RecipeValue.number(4))], "is a prompt-learning setting, but peft_type is LORA"),
        ] {
            XCTAssertThrowsError(try recipe(pairs).validate(), "\(pairs)") { error in
                XCTAssertTrue("\(error)".contains(expected), "\(pairs): \(error)")
            }
        }
        XCTAssertThrowsError(try recipe([("peft_type", .string("LOHA"))])) { error in
            XCTAssertTrue("\(error)".contains("a peft method Tailor does not train yet"), "\(error)")
        }
        XCTAssertThrowsError(try recipe([("peft_type", .string("bottleneck"))])) { error in
            XCTAssertTrue("\(error)".contains("bottleneck adapters") && "\(error)".contains("use LORA"), "\(error)")
        }
        let ptuning = try recipe([("peft_type", .string("P_TUNING")), ("num_virtual_tokens", .number(8)), ("encoder_hidden_size", .number(64))])
        try ptuning.validate()
        XCTAssertEqual(ptuning.promptTuning.encoderHiddenSize, 64)
        XCTAssertThrowsError(try recipe([("encoder_hidden_size", .number(64))]).validate()) { error in
            XCTAssertTrue("\(error)".contains("is a prompt-encoder setting, but peft_type is LORA; set peft_type: P_TUNING"), "\(error)")
        }
        // The LSTM encoder with its layers; its dropout is not built; an encoder peft does not have.
        let lstm = try recipe([("peft_type", .string("P_TUNING")), ("num_virtual_tokens", .number(8)),
                               ("encoder_reparameterization_type", .string("lstm")), ("encoder_num_layers", .number(3))])
        try lstm.validate()
        XCTAssertEqual(lstm.pTuningEncoder, .lstm(layers: 3))
        XCTAssertTrue(RecipeYAML.render(lstm).contains("encoder_reparameterization_type: LSTM\n")
                      && RecipeYAML.render(lstm).contains("encoder_num_layers: 3\n"), RecipeYAML.render(lstm))
        XCTAssertFalse(RecipeYAML.render(ptuning).contains("encoder_num_layers"), "the default is not written")
        // PREFIX_TUNING shares num_virtual_tokens and encoder_hidden_size (its projection's); prompt tuning's keys are refused.
        let projected = try recipe([("peft_type", .string("PREFIX_TUNING")), ("num_virtual_tokens", .number(4)),
                                    ("prefix_projection", .bool(true)), ("encoder_hidden_size", .number(12))])
        try projected.validate()
        XCTAssertTrue(projected.hasPromptEncoder && projected.promptTuning.encoderHiddenSize == 12)
        let prefix = try recipe([("peft_type", .string("PREFIX_TUNING")), ("num_virtual_tokens", .number(10))])
        try prefix.validate()
        XCTAssertEqual(prefix.peftType, .prefixTuning)
        XCTAssertTrue(RecipeYAML.render(prefix).contains("num_virtual_tokens: 10\n"))
        for (pairs, expected) in [
            ([("peft_type", RecipeValue.string("PREFIX_TUNING")), ("num_virtual_tokens", .number(4)), ("prompt_tuning_init", .string("TEXT"))],
             "is a prompt-tuning setting, but peft_type is PREFIX_TUNING"),
            ([("peft_type", .string("PREFIX_TUNING")), ("num_virtual_tokens", .number(4)), ("prefix_projection", .bool(true)),
              ("adapter_name_or_path", .string("/tmp/prefix"))], "cannot go on with prefix_projection"),
            ([("peft_type", .string("P_TUNING")), ("num_virtual_tokens", .number(4)), ("encoder_reparameterization_type", .string("LSTM")),
              ("encoder_dropout", .number(0.1))], "dropout between the LSTM's layers is not built"),
            ([("peft_type", .string("P_TUNING")), ("num_virtual_tokens", .number(4)), ("encoder_reparameterization_type", .string("GRU"))],
             "encoder_reparameterization_type"),
            ([("peft_type", .string("PREFIX_TUNING")), ("num_virtual_tokens", .number(4)), ("encoder_num_layers", .number(2))],
             "is a P-tuning setting, but peft_type is PREFIX_TUNING"),
            ([("peft_type", .string("PROMPT_TUNING")), ("num_virtual_tokens", .number(4)), ("prefix_projection", .bool(false))],
             "is a prefix-tuning setting, but peft_type is PROMPT_TUNING"),
            ([("peft_type", .string("PREFIX_TUNING"))], "num_virtual_tokens"),
        ] {
            XCTAssertThrowsError(try recipe(pairs).validate(), "\(pairs)") { error in
                XCTAssertTrue("\(error)".contains(expected), "\(pairs): \(error)")
            }
        }
    }
}
