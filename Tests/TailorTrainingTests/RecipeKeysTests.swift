import TailorTraining
import XCTest

/// Option names as users know them, old and new spellings, warnings and suggestions.
final class RecipeKeysTests: XCTestCase {
    func apply(_ pairs: [(String, RecipeValue)]) throws -> (TrainRecipe, [String]) {
        var recipe = TrainRecipe()
        var warnings: [String] = []
        for (key, value) in pairs {
            if let warning = try RecipeKeys.apply(key, value, to: &recipe) { warnings.append(warning) }
        }
        return (recipe, warnings)
    }

    func testHuggingFaceNamesAndAliases() throws {
        let (recipe, warnings) = try apply([
            ("model_name_or_path", .string("Qwen/Qwen2.5-0.5B-Instruct")), ("train_file", .string("a.json,b.json")),
            ("lora_rank", .number(16)), ("lora_alpha", .number(32)), ("lora_target", .string("all")),
            ("learning_rate", .string("2e-4")), ("per_device_train_batch_size", .number(4)),
            ("gradient_accumulation_steps", .number(8)), ("evaluation_strategy", .string("steps")),
            ("max_length", .number(512)), ("warmup_steps", .number(0.1)), ("lr_scheduler_type", .string("cosine")),
            ("report_to", .string("tensorboard")), ("fp16", .bool(true)), ("optim", .string("adamw_torch")),
        ])
        XCTAssertEqual(recipe.datasets, ["a.json", "b.json"])
        XCTAssertEqual(recipe.lora.r, 16)
        XCTAssertEqual(recipe.lora.loraAlpha, 32)
        XCTAssertEqual(recipe.lora.targetModules, .allLinear)
        XCTAssertEqual(recipe.training.learningRate, 2e-4)
        XCTAssertEqual(recipe.training.evalStrategy, .steps)
        XCTAssertEqual(recipe.maxSeqLength, 512)
        XCTAssertEqual(recipe.training.warmupRatio, 0.1, "transformers 5: a float warmup_steps below 1 is a ratio")
        XCTAssertEqual(recipe.training.lrSchedulerType, .cosine)
        XCTAssertEqual(warnings.count, 2, "report_to and fp16 warn; optim adamw_torch is what Tailor does")
        XCTAssertTrue(warnings[0].contains("report_to"))
    }

    func testUnknownKeySuggestsTheNearestName() {
        var recipe = TrainRecipe()
        XCTAssertThrowsError(try RecipeKeys.apply("learning_rat", .number(1e-4), to: &recipe)) { error in
            XCTAssertTrue("\(error)".contains("did you mean 'learning_rate'"), "\(error)")
        }
        XCTAssertThrowsError(try RecipeKeys.apply("r", .number(0), to: &recipe)) { error in
            XCTAssertTrue("\(error)".contains("'r'"), "\(error)")
        }
        XCTAssertThrowsError(try RecipeKeys.apply("lr_scheduler_type", .string("cosinus"), to: &recipe)) { error in
            XCTAssertTrue("\(error)".contains("cosine_with_restarts"), "\(error)")
        }
    }

    func testTargetModuleForms() throws {
        XCTAssertEqual(try apply([("target_modules", .list(["q_proj", "v_proj"]))]).0.lora.targetModules, .names(["q_proj", "v_proj"]))
        XCTAssertEqual(try apply([("target_modules", .string("all-linear"))]).0.lora.targetModules, .allLinear)
        XCTAssertEqual(try apply([("target_modules", .string(#".*\.(q|v)_proj"#))]).0.lora.targetModules, .regex(#".*\.(q|v)_proj"#))
    }
}
