import Foundation
@testable import tailor
import TailorTestSupport
import TailorTraining
import XCTest

/// `predict_with_generate: true`: each evaluation of a training run answers the evaluation prompts
/// with the model being trained and logs what `tailor eval` computes for the saved adapter.
final class PredictWithGenerateTests: XCTestCase {
    var folder: URL!
    let model = TestPaths.fixture("generation/chat-llama").path
    let records = TestPaths.fixture("eval/tiny.jsonl").path

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-pwg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func recipe(_ flags: [String]) throws -> TrainRecipe {
        var recipe = TrainRecipe()
        for (key, value) in try TrainCommand.parseFlags(flags) { _ = try RecipeKeys.apply(key, value, to: &recipe) }
        return recipe
    }

    func testEachEvaluationLogsTheGenerationMetricsTailorEvalGivesTheAdapter() async throws {
        let run = folder.appendingPathComponent("run")
        try TrainRun(recipe: try recipe([
            "--model_name_or_path", model, "--dataset", records, "--eval_dataset", records, "--output_dir", run.path,
            "--max_steps", "4", "--eval_strategy", "steps", "--eval_steps", "2", "--predict_with_generate", "true",
            "--eval_max_samples", "3", "--max_new_tokens", "6", "--per_device_eval_batch_size", "2", "--learning_rate", "0.05",
            "--lora_rank", "4", "--target_modules", "q_proj,v_proj", "--save_strategy", "no", "--per_device_train_batch_size", "2",
        ]), dryRun: false).run()
        let evals = try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n")
            .filter { $0.contains(#""eval_loss""#) }
            .map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        XCTAssertEqual(evals.count, 2, "evaluations at steps 2 and 4")
        let columns = ["sacrebleu-13a", "sacrebleu-zh", "rouge1", "rouge2", "rougeL"]
        for row in evals { for column in columns { XCTAssertNotNil(row["eval_" + column] as? Double, "\(column) in \(row)") } }
        let state = try String(contentsOf: run.appendingPathComponent("trainer_state.json"), encoding: .utf8)
        XCTAssertTrue(state.contains(#""eval_rougeL""#), "trainer_state.json's log_history has the metrics")

        // tailor eval on the saved adapter, same records, decoding and metrics: the last evaluation's numbers.
        let out = folder.appendingPathComponent("eval")
        var command = try EvalCommand.parse(["--model", model, "--adapter", "run=\(run.path)", "--dataset", records, "--max-samples", "3",
                                             "--max-new-tokens", "6", "--batch-size", "2", "--metrics", "sacrebleu,rouge-score", "--output", out.path])
        try await command.run()
        let results = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("eval_results.json"))) as? [String: Any])
        let adapter = try XCTUnwrap((results["metrics"] as? [String: [String: Double]])?["run"])
        let base = try XCTUnwrap((results["metrics"] as? [String: [String: Double]])?["base"])
        for column in columns {
            XCTAssertEqual(evals[1]["eval_" + column] as? Double ?? .nan, try XCTUnwrap(adapter[column]), accuracy: 1e-9, column)
        }
        XCTAssertNotEqual(columns.map { adapter[$0] }, columns.map { base[$0] }, "the trained adapter answers differently from the base")
    }

    func testPredictWithGenerateNeedsEvaluationAndStageSFT() throws {
        XCTAssertThrowsError(try recipe(["--model_name_or_path", model, "--dataset", records, "--predict_with_generate", "true",
                                         "--output_dir", folder.path]).validate()) { error in
            XCTAssertTrue("\(error)".contains("generates at each evaluation: set eval_strategy"), "\(error)")
        }
        XCTAssertThrowsError(try recipe(["--model_name_or_path", model, "--dataset", records, "--predict_with_generate", "true",
                                         "--stage", "dpo", "--eval_strategy", "steps", "--eval_dataset", records,
                                         "--output_dir", folder.path]).validate()) { error in
            XCTAssertTrue("\(error)".contains("stage dpo evaluates its own metrics"), "\(error)")
        }
    }
}
