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

    func testListsWrittenOnTheCommandLine() throws {
        let (recipe, _) = try apply([("modules_to_save", .string("[embed_tokens, 'lm_head']")),
                                     ("dataset", .list(["a.json", "b.json"]))])
        XCTAssertEqual(recipe.lora.modulesToSave, ["embed_tokens", "lm_head"])
        XCTAssertEqual(recipe.datasets, ["a.json", "b.json"])
        let (commas, _) = try apply([("modules_to_save", .string("embed_tokens,lm_head"))])
        XCTAssertEqual(commas.lora.modulesToSave, ["embed_tokens", "lm_head"])
    }

    func testTargetModuleForms() throws {
        XCTAssertEqual(try apply([("target_modules", .list(["q_proj", "v_proj"]))]).0.lora.targetModules, .names(["q_proj", "v_proj"]))
        XCTAssertEqual(try apply([("target_modules", .string("all-linear"))]).0.lora.targetModules, .allLinear)
        XCTAssertEqual(try apply([("target_modules", .string(#".*\.(q|v)_proj"#))]).0.lora.targetModules, .regex(#".*\.(q|v)_proj"#))
    }

    func testOptimAndOptimArgs() throws {
        let (recipe, warnings) = try apply([("optim", .string("sgd")), ("optim_args", .string("momentum=0.9,nesterov=True"))])
        XCTAssertEqual(recipe.training.optim, .sgd)
        XCTAssertEqual(recipe.training.optimArgs, "momentum=0.9,nesterov=True")
        XCTAssertTrue(warnings.isEmpty, "\(warnings)")
        XCTAssertEqual(try apply([("optim", .string("adamw_torch_fused"))]).0.training.optim, .adamwTorchFused)
        for name in ["adamw_8bit", "adamw_bnb_8bit", "paged_adamw_8bit", "paged_adamw_32bit"] {
            XCTAssertEqual(try apply([("optim", .string(name))]).0.training.optim.rawValue, name)
        }
        for name in ["adafactor", "adamw_hf", "lion_8bit"] {
            var recipe = TrainRecipe()
            XCTAssertThrowsError(try RecipeKeys.apply("optim", .string(name), to: &recipe)) { error in
                XCTAssertTrue("\(error)".contains(name) && "\(error)".contains("adamw_torch, adamw_torch_fused, sgd, adamw_8bit"), "\(error)")
            }
        }
        var malformed = TrainRecipe()
        XCTAssertThrowsError(try RecipeKeys.apply("optim_args", .string("momentum:0.9"), to: &malformed)) { error in
            XCTAssertTrue("\(error)".contains("optim_args") && "\(error)".contains("momentum:0.9"), "\(error)")
        }
        let yaml = RecipeYAML.render(try apply([("optim", .string("sgd")), ("optim_args", .string("momentum=0.9"))]).0)
        XCTAssertTrue(yaml.contains("optim: sgd\n") && yaml.contains("optim_args: \"momentum=0.9\"\n"), yaml)
    }

    func testGroupByLengthInBothSpellings() throws {
        XCTAssertEqual(try apply([("group_by_length", .bool(true))]).0.training.sampling, .groupByLength)
        XCTAssertEqual(try apply([("train_sampling_strategy", .string("group_by_length"))]).0.training.sampling, .groupByLength)
        XCTAssertEqual(try apply([("train_sampling_strategy", .string("sequential"))]).0.training.shuffle, false)
        XCTAssertEqual(try apply([("group_by_length", .bool(true)), ("shuffle", .bool(true))]).0.training.sampling, .groupByLength,
                       "shuffle true keeps the grouping, which shuffles")
        XCTAssertEqual(try apply([("group_by_length", .bool(true)), ("group_by_length", .bool(false))]).0.training.sampling, .random)
        XCTAssertTrue(try apply([("group_by_length", .bool(true))]).1.isEmpty)
        for key in ["optim", "group_by_length", "train_sampling_strategy"] {
            XCTAssertNil(RecipeKeys.ignored[key], "\(key) has an effect now")
        }
        var recipe = TrainRecipe()
        XCTAssertThrowsError(try RecipeKeys.apply("train_sampling_strategy", .string("batch_rebalance"), to: &recipe)) { error in
            XCTAssertTrue("\(error)".contains("random, sequential, group_by_length"), "\(error)")
        }
        let yaml = RecipeYAML.render(try apply([("group_by_length", .bool(true))]).0)
        XCTAssertTrue(yaml.contains("train_sampling_strategy: group_by_length\n"), yaml)
    }
}

extension RecipeKeysTests {
    /// YAML reads a bare `no` as false; tailor_config.yaml writes `eval_strategy: no`.
    func testStrategyNoWrittenAsABareYAMLWord() throws {
        let (recipe, _) = try apply([("eval_strategy", .bool(false)), ("save_strategy", .bool(false))])
        XCTAssertEqual(recipe.training.evalStrategy, .no)
        XCTAssertEqual(recipe.training.saveStrategy, .no)
        var other = TrainRecipe()
        XCTAssertThrowsError(try RecipeKeys.apply("save_strategy", .bool(true), to: &other))
    }
}

extension RecipeKeysTests {
    func testAdapterNameOrPathAndGivenKeys() throws {
        let (recipe, warnings) = try apply([("adapter_name_or_path", .string("runs/a")), ("lora_rank", .number(4)),
                                            ("dataset_format", .string("tokenized"))])
        XCTAssertTrue(warnings.isEmpty, "\(warnings)")
        XCTAssertEqual(recipe.adapterNameOrPath, "runs/a")
        XCTAssertEqual(recipe.givenKeys, ["adapter_name_or_path", "r", "dataset_format"], "canonical names, aliases resolved")
        XCTAssertNil(try apply([("adapter_name_or_path", .null)]).0.adapterNameOrPath)
        let yaml = RecipeYAML.render(recipe)
        XCTAssertTrue(yaml.contains("adapter_name_or_path: \"runs/a\"\n") && yaml.contains("dataset_format: \"tokenized\"\n"), yaml)
        XCTAssertFalse(RecipeYAML.render(TrainRecipe()).contains("adapter_name_or_path"))
    }
}
