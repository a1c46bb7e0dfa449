@testable import TailorTraining
import XCTest

/// `RecipeKeys.table` is the one description of the keys: every spelling accepted before it
/// existed still works, and the YAML, the help and the errors come from it.
final class RecipeTableTests: XCTestCase {
    /// The canonical keys, aliases and no-effect keys Tailor accepted before the table.
    static let earlierKnown = [
        "model_name_or_path", "dataset", "dataset_format", "template", "system_prompt", "validation_file", "validation_split",
        "max_seq_length", "packing", "train_on_inputs", "finetuning_type", "r", "lora_alpha", "lora_dropout", "target_modules",
        "use_rslora", "layers_to_transform", "init_lora_weights", "bias", "modules_to_save", "ensure_weight_tying",
        "adapter_name_or_path", "output_dir", "num_train_epochs", "max_steps", "per_device_train_batch_size",
        "per_device_eval_batch_size", "gradient_accumulation_steps", "learning_rate", "weight_decay", "adam_beta1",
        "adam_beta2", "adam_epsilon", "max_grad_norm", "lr_scheduler_type", "warmup_steps", "warmup_ratio", "seed",
        "logging_steps", "eval_strategy", "eval_steps", "save_strategy", "save_steps", "save_total_limit",
        "gradient_checkpointing", "resume_from_checkpoint", "shuffle", "assistant_only_loss",
        "optim", "optim_args", "train_sampling_strategy", "group_by_length", "device", "use_cpu", "no_cuda", "bf16",
    ]
    static let earlierAliases: [String: String] = [
        "model": "model_name_or_path",
        "train_file": "dataset", "data_files": "dataset", "data_path": "dataset", "dataset_path": "dataset", "datasets": "dataset",
        "formatting": "dataset_format", "format": "dataset_format",
        "system": "system_prompt", "default_system": "system_prompt",
        "eval_file": "validation_file", "eval_dataset": "validation_file",
        "val_size": "validation_split",
        "max_length": "max_seq_length", "cutoff_len": "max_seq_length", "model_max_length": "max_seq_length",
        "lora_r": "r", "lora_rank": "r", "lora_target": "target_modules", "evaluation_strategy": "eval_strategy",
        "finetuning_method": "finetuning_type", "train_on_prompt": "train_on_inputs",
    ]
    static let earlierIgnored = [
        "report_to", "dataloader_num_workers", "dataloader_pin_memory", "fp16", "tf32", "logging_dir", "run_name",
        "do_train", "do_eval", "push_to_hub", "hub_model_id", "ddp_find_unused_parameters",
        "torch_compile", "remove_unused_columns", "label_names", "load_best_model_at_end", "metric_for_best_model",
        "greater_is_better", "logging_first_step", "save_safetensors", "gradient_checkpointing_kwargs", "lazy_preprocess",
        "preprocessing_num_workers", "overwrite_cache", "plot_loss", "trust_remote_code", "task_type", "inference_mode",
        "dataset_text_field", "disable_tqdm", "dataset_num_proc",
    ]

    func testEverySpellingAcceptedBeforeStillIs() {
        for name in Self.earlierKnown {
            XCTAssertNotNil(RecipeKeys.entry(name), name)
            XCTAssertNil(RecipeKeys.ignored[name], "\(name) has an effect")
        }
        for (alias, canonical) in Self.earlierAliases {
            XCTAssertEqual(RecipeKeys.entry(alias)?.name, canonical, alias)
            XCTAssertEqual(RecipeKeys.aliases[alias], canonical, alias)
        }
        for name in Self.earlierIgnored {
            XCTAssertNotNil(RecipeKeys.ignored[name], name)
            var recipe = TrainRecipe()
            XCTAssertEqual(try RecipeKeys.apply(name, .bool(true), to: &recipe)?.hasPrefix("'\(name)' is accepted but has no effect: "), true)
            XCTAssertEqual(recipe, TrainRecipe(), "\(name) changes nothing")
        }
        XCTAssertTrue(Set(Self.earlierKnown).subtracting(["no_cuda"]).isSubset(of: RecipeKeys.known),
                      "every key acted on before still is (no_cuda is now a spelling of use_cpu)")
        // Accepted without effect before; now it says to replace another run's checkpoints.
        var recipe = TrainRecipe()
        XCTAssertNil(try RecipeKeys.apply("overwrite_output_dir", .bool(true), to: &recipe))
        XCTAssertTrue(recipe.training.overwriteOutputDir)
        // Accepted without effect before; now a DeepSpeed config's ZeRO stage for a data-parallel run (a file it reads).
        XCTAssertNil(RecipeKeys.ignored["deepspeed"])
        XCTAssertNotNil(RecipeKeys.entry("deepspeed"))
        XCTAssertThrowsError(try RecipeKeys.apply("deepspeed", .string("/nonexistent/ds_z2_config.json"), to: &recipe)) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent/ds_z2_config.json cannot be read"), "\(error)")
        }
    }

    func testEachSpellingNamesOneEntry() {
        let spellings = RecipeKeys.table.flatMap(\.spellings)
        XCTAssertEqual(spellings.count, Set(spellings).count, "a spelling names two entries")
        XCTAssertEqual(RecipeKeys.bySpelling.count, spellings.count)
    }

    /// The default recipe writes what the hand-written renderer wrote (order aside) for the keys
    /// it knew; a key added to the table since adds its own line.
    func testDefaultYAMLIsTheOneWrittenBefore() {
        let expected = """
        model_name_or_path: ""
        dataset: []
        validation_split: 0.0
        max_seq_length: 1024
        packing: false
        train_on_inputs: false
        finetuning_type: lora
        r: 8
        lora_alpha: 16.0
        lora_dropout: 0.0
        target_modules: all-linear
        use_rslora: false
        init_lora_weights: true
        bias: none
        output_dir: "output"
        num_train_epochs: 3.0
        max_steps: -1
        per_device_train_batch_size: 8
        per_device_eval_batch_size: 8
        gradient_accumulation_steps: 1
        learning_rate: 5e-05
        weight_decay: 0.0
        optim: adamw_torch
        adam_beta1: 0.9
        adam_beta2: 0.999
        adam_epsilon: 1e-08
        max_grad_norm: 1.0
        lr_scheduler_type: linear
        warmup_steps: 0
        warmup_ratio: 0.0
        seed: 42
        logging_steps: 500
        eval_strategy: no
        save_strategy: steps
        save_steps: 500
        gradient_checkpointing: false
        train_sampling_strategy: random
        device: cpu
        bf16: true
        """
        let rendered = RecipeYAML.render(TrainRecipe())
        let earlier = rendered.split(separator: "\n").filter { line in
            Self.earlierKnown.contains(String(line.prefix { $0 != ":" }))
        }
        XCTAssertEqual(Set(earlier), Set(expected.split(separator: "\n")), rendered)
        XCTAssertEqual(earlier.count, expected.split(separator: "\n").count)
        XCTAssertTrue(rendered.hasSuffix("\n"))

        var full = TrainRecipe()
        full.finetuningType = .full
        full.adapterNameOrPath = "a"
        let fullYAML = RecipeYAML.render(full)
        for key in RecipeKeys.table where key.group == .lora {
            XCTAssertFalse(fullYAML.contains("\n\(key.name):"), "\(key.name) is a LoRA key: \(fullYAML)")
        }
    }

    func testHelpListsEveryKeyWithItsSpellingsAndDefault() {
        let help = RecipeHelp.text()
        for key in RecipeKeys.table {
            XCTAssertTrue(help.contains(key.name), key.name)
            for alias in key.aliases { XCTAssertTrue(help.contains(alias), alias) }
        }
        for line in help.split(separator: "\n") { XCTAssertLessThanOrEqual(line.count, 78, String(line)) }
        let lines = help.components(separatedBy: "\n")
        XCTAssertTrue(lines.contains("  r (lora_r, lora_rank)       LoRA rank (8)"), help)
        XCTAssertTrue(lines.contains("  optim                       the optimizer: adamw_torch | adamw_torch_fused |"), help)
        XCTAssertTrue(lines.contains("  model_name_or_path (model)  HF model folder, or a .gguf file (imported once"), help)
        XCTAssertTrue(lines.contains("  eval_steps                  steps between evaluations (logging_steps)"), help)
        XCTAssertEqual(RecipeKey.Group.allCases.filter { help.contains($0.rawValue) }.count, RecipeKey.Group.allCases.count)
    }

    func testErrorsSayWhatKindOfThingWentWrong() {
        func error(_ key: String, _ value: RecipeValue) -> TrainingError? {
            var recipe = TrainRecipe()
            do { _ = try RecipeKeys.apply(key, value, to: &recipe) } catch { return error as? TrainingError }
            return nil
        }
        guard case let .unknownKey(name, nearest) = error("lora_alpa", .number(8)) else { return XCTFail("unknown key") }
        XCTAssertEqual(name, "lora_alpa")
        XCTAssertEqual(nearest, "lora_alpha")
        guard case let .wrongValueType(key, expected, got) = error("lora_rank", .string("eight")) else { return XCTFail("type") }
        XCTAssertEqual([key, expected, got], ["lora_rank", "a number", "eight"], "the spelling written is named")
        guard case .wrongValueType = error("r", .number(2.5)) else { return XCTFail("not an integer") }
        guard case .wrongValueType = error("template", .list(["a", "b"])) else { return XCTFail("a list for one value") }
        guard case let .invalidValue(range, _) = error("lora_dropout", .number(2)) else { return XCTFail("range") }
        XCTAssertEqual(range, "lora_dropout")
        guard case .invalidValue = error("r", .number(0)) else { return XCTFail("below the minimum") }
        guard case let .invalidValue(_, problem) = error("device", .string("tpu")) else { return XCTFail("choice") }
        XCTAssertEqual(problem, "must be one of auto, cpu or cuda (got tpu)")
        XCTAssertEqual("\(error("eval_steps", .number(0))!)", "option 'eval_steps' must be an integer of at least 1 (got 0)")
    }

    func testRequiredAndConflictingKeys() throws {
        var recipe = TrainRecipe()
        XCTAssertThrowsError(try recipe.validate()) { error in
            guard case let .missingKey(key, _)? = error as? TrainingError else { return XCTFail("\(error)") }
            XCTAssertEqual(key, "model_name_or_path")
        }
        recipe.modelNameOrPath = "m"
        XCTAssertThrowsError(try recipe.validate()) { error in
            XCTAssertEqual("\(error)", "option 'dataset' is required: give one or more data files (JSON, JSONL, CSV)")
        }
        recipe.datasets = ["d.json"]
        XCTAssertNoThrow(try recipe.validate())
        recipe.adapterNameOrPath = "a"
        recipe.finetuningType = .full
        XCTAssertThrowsError(try recipe.validate()) { error in
            guard case let .conflictingKeys(key, other, _)? = error as? TrainingError else { return XCTFail("\(error)") }
            XCTAssertEqual([key, other], ["adapter_name_or_path", "finetuning_type"])
        }
    }

    func testApplyingPairsReturnsTheWarningsInOrder() throws {
        var recipe = TrainRecipe()
        let warnings = try RecipeKeys.apply([("fp16", .bool(true)), ("r", .number(4)), ("report_to", .string("none"))], to: &recipe)
        XCTAssertEqual(warnings.count, 2)
        XCTAssertTrue(warnings[0].hasPrefix("'fp16'") && warnings[1].hasPrefix("'report_to'"), "\(warnings)")
        XCTAssertEqual(recipe.lora.r, 4)
        XCTAssertEqual(recipe.givenKeys, ["r"])
    }

    /// `stage` was accepted without effect, so `stage: dpo` trained SFT; now sft, pt and dpo train
    /// and the stages Tailor does not have are refused.
    func testStageTrainsSFTPTDPOOrKTOAndRefusesTheOthers() throws {
        for name in ["sft", "pt", "dpo", "kto"] {
            var recipe = TrainRecipe()
            XCTAssertNil(try RecipeKeys.apply("stage", .string(name), to: &recipe))
            XCTAssertEqual(recipe.stage.rawValue, name)
        }
        for name in ["rm", "ppo"] {
            var recipe = TrainRecipe()
            XCTAssertThrowsError(try RecipeKeys.apply("stage", .string(name), to: &recipe)) { error in
                XCTAssertEqual("\(error)", "stage: \(name) (reward-model and RL training; Tailor trains stage sft, pt, dpo or kto; ORPO and SimPO are stage dpo's loss_type orpo / simpo) is not implemented in Tailor yet")
            }
        }
        var recipe = TrainRecipe()
        XCTAssertThrowsError(try RecipeKeys.apply("stage", .string("sfft"), to: &recipe)) { error in
            XCTAssertEqual("\(error)", "option 'stage' must be sft, pt, dpo or kto (got 'sfft'); rm and ppo are not built yet")
        }
        // KTO's KL estimate needs batches of 2 or more drawn in file order.
        recipe.stage = .kto
        recipe.modelNameOrPath = "m"
        recipe.datasets = ["d.json"]
        recipe.training.perDeviceTrainBatchSize = 1
        XCTAssertThrowsError(try recipe.validate()) { error in XCTAssertTrue("\(error)".contains("at least 2 for stage kto"), "\(error)") }
        recipe.training.perDeviceTrainBatchSize = 4
        XCTAssertNil(try RecipeKeys.apply("train_sampling_strategy", .string("random"), to: &recipe))
        XCTAssertThrowsError(try recipe.validate()) { error in XCTAssertTrue("\(error)".contains("must be sequential for stage kto"), "\(error)") }
    }

    /// The preference keys by TRL's names and LLaMA-Factory's; losses Tailor does not compute are
    /// refused as not built, a list of one loss is TRL's form.
    func testPreferenceKeys() throws {
        var recipe = TrainRecipe()
        XCTAssertNil(try RecipeKeys.apply("pref_beta", .string("0.25"), to: &recipe))
        XCTAssertNil(try RecipeKeys.apply("pref_loss", .string("hinge"), to: &recipe))
        XCTAssertEqual(recipe.preference.beta, 0.25)
        XCTAssertEqual(recipe.preference.loss, .hinge)
        XCTAssertNil(try RecipeKeys.apply("loss_type", .list(["ipo"]), to: &recipe))
        XCTAssertEqual(recipe.preference.loss, .ipo)
        XCTAssertNil(try RecipeKeys.apply("dpo_label_smoothing", .string("0.1"), to: &recipe))
        XCTAssertEqual(recipe.preference.labelSmoothing, 0.1)
        XCTAssertThrowsError(try RecipeKeys.apply("pref_loss", .string("kto_pair"), to: &recipe)) { error in
            XCTAssertEqual("\(error)", "pref_loss: kto_pair (Tailor computes the sigmoid, hinge, ipo, robust, exo_pair, nca_pair, bco_pair, sppo_hard, apo_zero, apo_down, sft, sigmoid_norm, simpo or orpo losses) is not implemented in Tailor yet")
        }
        XCTAssertNil(try RecipeKeys.apply("loss_type", .list(["sigmoid", "bco_pair", "sft"]), to: &recipe))
        XCTAssertEqual(recipe.preference.losses, [.sigmoid, .bcoPair, .sft])
        XCTAssertThrowsError(try RecipeKeys.apply("loss_type", .list(["simpo", "sft"]), to: &recipe)) { error in
            XCTAssertTrue("\(error)".contains("simpo is an objective of its own; only DPO's losses combine"), "\(error)")
        }
        XCTAssertThrowsError(try RecipeKeys.apply("loss_type", .string("sigmod"), to: &recipe)) { error in
            XCTAssertTrue("\(error)".contains("must be one of sigmoid, hinge, ipo, robust, exo_pair, nca_pair, bco_pair, sppo_hard, apo_zero, apo_down, sft, sigmoid_norm, simpo or orpo (got 'sigmod')"), "\(error)")
        }
        recipe.stage = .dpo
        recipe.modelNameOrPath = "m"
        recipe.datasets = ["d.json"]
        recipe.preference.beta = 0
        XCTAssertThrowsError(try recipe.validate()) { error in XCTAssertTrue("\(error)".contains("beta"), "\(error)") }
        recipe.preference.beta = 0.1
        recipe.preference.loss = .robust
        recipe.preference.labelSmoothing = 0.5
        XCTAssertThrowsError(try recipe.validate()) { error in XCTAssertTrue("\(error)".contains("[0, 0.5)"), "\(error)") }
        recipe.preference.labelSmoothing = 0
        recipe.preference.losses = [.sigmoid, .sft]
        recipe.preference.lossWeights = [1]
        XCTAssertThrowsError(try recipe.validate()) { error in XCTAssertTrue("\(error)".contains("1 weights for 2 losses"), "\(error)") }
        recipe.preference.lossWeights = nil
        recipe.preference.losses = [.exoPair]
        XCTAssertThrowsError(try recipe.validate()) { error in XCTAssertTrue("\(error)".contains("(0, 1) for loss_type exo_pair"), "\(error)") }
        // LLaMA-Factory's pref_ftx: DPO's losses only, at least 0.
        recipe.preference.losses = [.sigmoid]
        XCTAssertNil(try RecipeKeys.apply("pref_ftx", .string("0.5"), to: &recipe))
        XCTAssertEqual(recipe.preference.ftx, 0.5)
        XCTAssertNoThrow(try recipe.validate())
        recipe.preference.ftx = -1
        XCTAssertThrowsError(try recipe.validate()) { error in XCTAssertTrue("\(error)".contains("'pref_ftx' must be a number of at least 0 (got -1.0)"), "\(error)") }
        recipe.preference.ftx = 1
        recipe.preference.loss = .simpo
        XCTAssertThrowsError(try recipe.validate()) { error in XCTAssertTrue("\(error)".contains("has its own (cpo_alpha)"), "\(error)") }
    }

    func testLLaMAFactoryRunKeysAreKnown() throws {
        var recipe = TrainRecipe()
        XCTAssertNil(try RecipeKeys.apply("max_samples", .number(1000), to: &recipe))
        XCTAssertEqual(recipe.maxSamples, 1000)
        let warning = try RecipeKeys.apply("save_only_model", .number(180000000), to: &recipe)
        XCTAssertEqual(warning?.hasPrefix("'save_only_model' is accepted but has no effect: "), true)
        // LLaMA-Factory's examples set ddp_timeout: 180000000; it is the data-parallel collectives' timeout now.
        XCTAssertNil(try RecipeKeys.apply("ddp_timeout", .number(180000000), to: &recipe))
        XCTAssertEqual(recipe.training.ddpTimeout, 180000000)
    }

    /// validation_split_percentage was an alias of the 0–1 fraction, so 0.5 held out half the data
    /// where transformers' scripts hold out 0.5%; it is a percentage now.
    func testValidationSplitPercentageIsAPercentage() throws {
        var recipe = TrainRecipe()
        XCTAssertNil(try RecipeKeys.apply("validation_split_percentage", .number(5), to: &recipe))
        XCTAssertEqual(recipe.validationSplit, 0.05, accuracy: 1e-12)
        XCTAssertThrowsError(try RecipeKeys.apply("validation_split_percentage", .number(100), to: &recipe)) { error in
            XCTAssertEqual("\(error)", "option 'validation_split_percentage' must be a percentage from 0 up to 100 (got 100)")
        }
    }
}
