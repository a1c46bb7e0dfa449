import Foundation
@testable import tailor
import TailorTraining
import XCTest

/// tailor_config.yaml, written from `RecipeKeys.table`, reads back (through Yams, as `tailor train
/// config.yaml` reads it) to the same recipe, for values other than the defaults too.
final class TrainConfigYAMLTests: XCTestCase {
    func readBack(_ recipe: TrainRecipe) throws -> TrainRecipe {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-config-\(UUID().uuidString).yaml")
        defer { try? FileManager.default.removeItem(at: file) }
        try RecipeYAML.render(recipe).write(to: file, atomically: true, encoding: .utf8)
        var again = TrainRecipe()
        XCTAssertEqual(try RecipeKeys.apply(try TrainCommand.readYAML(file.path), to: &again), [], "no warnings")
        return again
    }

    func recipe(_ flags: [String]) throws -> TrainRecipe {
        var recipe = TrainRecipe()
        _ = try RecipeKeys.apply(try TrainCommand.parseFlags(flags), to: &recipe)
        return recipe
    }

    func assertReadsBack(_ recipe: TrainRecipe, file: StaticString = #filePath, line: UInt = #line) throws {
        var written = recipe, read = try readBack(recipe)
        written.givenKeys = []
        read.givenKeys = []
        if recipe.finetuningType == .full {  // the LoRA keys mean nothing then, and are not written
            XCTAssertEqual(read.lora, TrainRecipe().lora, file: file, line: line)
            written.lora = read.lora
        }
        XCTAssertEqual(read, written, RecipeYAML.render(recipe), file: file, line: line)
    }

    func testDefaultsAndChangedValuesReadBack() throws {
        try assertReadsBack(TrainRecipe())
        try assertReadsBack(try recipe([
            "--model", "a \"quoted\" folder", "--dataset", "a.json", "b dir/", "--dataset_format", "tokenized",
            "--template", "chatml", "--system", "Be brief.\nReally.", "--validation_file", "v.json", "--val_size", "0.1",
            "--cutoff_len", "256", "--packing", "--train_on_inputs", "true", "--adapter_name_or_path", "runs/a",
            "--lora_rank", "4", "--lora_alpha", "8.5", "--lora_dropout", "0.05", "--target_modules", "q_proj", "v_proj",
            "--use_rslora", "--layers_to_transform", "0", "1", "--init_lora_weights", "gaussian", "--bias", "lora_only",
            "--modules_to_save", "lm_head", "--ensure_weight_tying", "true", "--output_dir", "out/run 1",
            "--num_train_epochs", "1.5", "--max_steps", "40", "--per_device_train_batch_size", "2",
            "--per_device_eval_batch_size", "3", "--gradient_accumulation_steps", "4", "--learning_rate", "2e-4",
            "--weight_decay", "0.01", "--optim", "sgd", "--optim_args", "momentum=0.9,nesterov=True", "--adam_beta1", "0.8",
            "--adam_beta2", "0.95", "--adam_epsilon", "1e-6", "--max_grad_norm", "0.5", "--lr_scheduler_type", "cosine",
            "--warmup_steps", "5", "--warmup_ratio", "0.1", "--seed", "7", "--logging_steps", "2", "--eval_strategy", "steps",
            "--eval_steps", "10", "--save_strategy", "epoch", "--save_steps", "20", "--save_total_limit", "2",
            "--gradient_checkpointing", "--group_by_length", "--resume_from_checkpoint", "latest", "--device", "auto",
            "--bf16", "false",
        ]))
        try assertReadsBack(try recipe(["--target_modules", #".*\.(q|v)_proj"#, "--train_sampling_strategy", "sequential",
                                        "--finetuning_type", "full", "--r", "4"]))
        // The encoding keys tailor data shares.
        try assertReadsBack(try recipe(["--dataset", "d.csv", "--prompt_template", "Q: {Question}\n", "--response_template", "{Answer}",
                                        "--template", "my template.jinja", "--truncation_mode", "keep_end", "--mask_history",
                                        "--skip_invalid", "--assistant_only_loss", "false", "--dataset_format", "columns"]))
    }
}
