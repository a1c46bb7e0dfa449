import Foundation
@testable import tailor
import TailorMetrics
import TailorTestSupport
import TailorTraining
import XCTest

/// `tailor eval` on preference pairs (--metrics rewards): the numbers a stage dpo run reports on
/// its held-back pairs, for any adapter, against the base; and its refusals.
final class EvalPairsCommandTests: XCTestCase {
    var folder: URL!
    let model = TestPaths.fixture("generation/chat-llama").path

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-eval-pairs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    /// LLaMA-Factory's sharegpt preference form, as in dpo_en_demo.json.
    func writePairs(_ name: String, _ range: Range<Int>) throws -> String {
        let words = ["river", "stone", "cloud", "ember", "field", "north", "glass", "amber", "maple", "quiet", "lumen", "harbor"]
        let lines = range.map { i in
            let w = words[i % words.count], v = words[(i + 5) % words.count]
            return #"{"conversations": [{"from": "human", "value": "Tell me about the \#(w)."}], "#
                + #""chosen": {"from": "gpt", "value": "The \#(w) is calm and \#(v)."}, "#
                + #""rejected": {"from": "gpt", "value": "No. \#(v) \#(v) \#(v)"}}"#
        }
        let url = folder.appendingPathComponent(name)
        try (lines.joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    func results(_ out: URL) throws -> [String: [String: Double]] {
        let root = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("eval_results.json"))) as? [String: Any])
        return try XCTUnwrap(root["metrics"] as? [String: [String: Double]])
    }

    func testRewardsOfATrainedAdapterEqualItsDPORunsHeldBackEvaluation() async throws {
        let train = try writePairs("train.jsonl", 0..<8), held = try writePairs("held.jsonl", 8..<13)
        let run = folder.appendingPathComponent("dpo")
        var recipe = TrainRecipe()
        let flags = ["--model_name_or_path", model, "--stage", "dpo", "--dataset", train, "--eval_dataset", held,
                     "--output_dir", run.path, "--max_steps", "4", "--eval_strategy", "steps", "--eval_steps", "4",
                     "--per_device_train_batch_size", "2", "--per_device_eval_batch_size", "2", "--learning_rate", "0.02",
                     "--lora_rank", "4", "--lora_alpha", "8", "--target_modules", "q_proj,v_proj", "--max_length", "48",
                     "--pref_beta", "0.2", "--save_strategy", "no", "--logging_steps", "1"]
        for (key, value) in try TrainCommand.parseFlags(flags) { _ = try RecipeKeys.apply(key, value, to: &recipe) }
        try TrainRun(recipe: recipe, dryRun: false).run()
        let evalLine = try XCTUnwrap(String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
            .split(separator: "\n").last { $0.contains(#""eval_rewards/margins""#) })
        let logged = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(evalLine.utf8)) as? [String: Any])

        let out = folder.appendingPathComponent("eval")
        // No --metrics: preference data scores with rewards. Another batch size than the run's.
        var command = try EvalCommand.parse(["--model", model, "--adapter", "dpo=\(run.path)", "--dataset", held, "--beta", "0.2",
                                             "--max-length", "48", "--eval-batch-size", "3", "--output", out.path])
        try await command.run()
        let metrics = try results(out)
        XCTAssertEqual(Set(metrics.keys), ["base", "dpo"])
        let dpo = try XCTUnwrap(metrics["dpo"])
        XCTAssertEqual(Set(dpo.keys), Set(PairScoring.columns))
        for column in PairScoring.columns {
            let expected = try XCTUnwrap(logged["eval_" + column] as? Double, column)
            XCTAssertEqual(try XCTUnwrap(dpo[column]), expected, accuracy: 1e-5 * abs(expected) + 1e-6, column)
        }
        XCTAssertGreaterThan(abs(try XCTUnwrap(dpo["rewards/margins"])), 1e-3, "the run moved the adapter: its margin is not noise")
        // The base row: its log-probabilities, which are the reference (reward = β·(policy − reference)).
        let base = try XCTUnwrap(metrics["base"])
        XCTAssertEqual(Set(base.keys), ["logps/chosen", "logps/rejected"])
        for side in ["chosen", "rejected"] {
            let reference = try XCTUnwrap(dpo["logps/\(side)"]) - (try XCTUnwrap(dpo["rewards/\(side)"])) / 0.2
            XCTAssertEqual(try XCTUnwrap(base["logps/\(side)"]), reference, accuracy: 1e-5 * abs(reference), side)
        }
        let report = try String(contentsOf: out.appendingPathComponent("report.md"), encoding: .utf8)
        XCTAssertTrue(report.contains("| model | rewards/accuracies | rewards/margins |"), report)
        XCTAssertTrue(report.contains("![reward accuracy](report_rewards.png)"), report)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("report.png").path), "no 0-100 chart for rewards")
        let png = try Data(contentsOf: out.appendingPathComponent("report_rewards.png"))
        XCTAssertEqual(Array(png.prefix(4)), [0x89, 0x50, 0x4E, 0x47])
    }

    func testAFreshAdapterHasZeroRewardsAndMetricsMustFitTheData() async throws {
        let held = try writePairs("held.jsonl", 0..<3)
        let sft = folder.appendingPathComponent("sft.jsonl")
        try Data(#"{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}"#.utf8 + [10]).write(to: sft)
        // SFT records cannot give rewards: the record is named.
        var onSFT = try EvalCommand.parse(["--model", model, "--dataset", sft.path, "--metrics", "rewards", "--output", folder.path])
        do {
            try await onSFT.run()
            XCTFail("scored SFT records as pairs")
        } catch {
            XCTAssertTrue("\(error)".contains("sft.jsonl:1"), "\(error)")
            XCTAssertTrue("\(error)".contains("a conversation without a rejected reply"), "\(error)")
        }
        // Pairs cannot give perplexity or generation metrics.
        var onPairs = try EvalCommand.parse(["--model", model, "--dataset", held, "--metrics", "ppl", "--output", folder.path])
        do {
            try await onPairs.run()
            XCTFail("scored pairs with ppl")
        } catch {
            XCTAssertTrue(EvalCommand.message(for: error).contains("held.jsonl:1 is a preference pair (prompt, chosen, rejected): pairs score with --metrics rewards; ppl needs SFT records"),
                          EvalCommand.message(for: error))
        }
        XCTAssertThrowsError(try EvalCommand.parse(["--model", model, "--dataset", held, "--metrics", "rewards,ppl"])) { error in
            XCTAssertTrue(EvalCommand.message(for: error).contains("rewards scores preference pairs and cannot be combined with ppl"), EvalCommand.message(for: error))
        }
        XCTAssertThrowsError(try EvalCommand.parse(["--model", model, "--dataset", held, "--beta", "0"]))

        // An adapter whose B is zero (as peft starts one; one warmup step at learning rate 0 saves it) is the base: rewards exactly 0, accuracy 0 (ties do not count).
        let fresh = folder.appendingPathComponent("fresh")
        var recipe = TrainRecipe()
        let flags = ["--model_name_or_path", model, "--stage", "dpo", "--dataset", held, "--output_dir", fresh.path, "--max_steps", "1",
                     "--warmup_steps", "1", "--lora_rank", "2", "--target_modules", "q_proj", "--save_strategy", "no",
                     "--per_device_train_batch_size", "3"]
        for (key, value) in try TrainCommand.parseFlags(flags) { _ = try RecipeKeys.apply(key, value, to: &recipe) }
        try TrainRun(recipe: recipe, dryRun: false).run()
        let out = folder.appendingPathComponent("eval")
        var command = try EvalCommand.parse(["--model", model, "--adapter", fresh.path, "--dataset", held, "--output", out.path])
        try await command.run()
        let metrics = try results(out)
        let adapter = try XCTUnwrap(metrics["fresh"])
        for column in ["rewards/accuracies", "rewards/margins", "rewards/chosen", "rewards/rejected"] { XCTAssertEqual(adapter[column], 0, column) }
        XCTAssertEqual(adapter["logps/chosen"], metrics["base"]?["logps/chosen"])
        XCTAssertLessThan(try XCTUnwrap(adapter["logps/chosen"]), 0)
    }
}
