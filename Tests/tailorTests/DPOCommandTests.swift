import Foundation
import TailorTestSupport
import XCTest

/// `tailor train --stage dpo` and `tailor data inspect|preview` on preference pairs, as processes.
final class DPOCommandTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-dpo-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func write(_ name: String, _ lines: [String]) throws -> String {
        let url = folder.appendingPathComponent(name)
        try (lines.joined(separator: "\n") + "\n").write(to: url, atomically: false, encoding: .utf8)
        return url.path
    }

    func testTrainWithStageDPOLogsTRLsMetrics() throws {
        guard let binary = TestPaths.tailorBinary else { throw XCTSkip("the tailor executable is not built beside the tests") }
        let pairs = try write("pairs.jsonl", (0..<8).map { i in
            #"{"prompt_ids": [1, \#(10 + i), \#(20 + i)], "chosen_ids": [\#(30 + i), 2], "rejected_ids": [\#(40 + i), \#(50 + i), 2]}"#
        })
        let out = folder.appendingPathComponent("out")
        let (status, output) = try TestPaths.run(binary, [
            "train", "--model_name_or_path", TestPaths.fixture("models/llama").path, "--dataset", pairs, "--stage", "dpo",
            "--pref_beta", "0.2", "--loss_type", "sigmoid", "--output_dir", out.path, "--max_steps", "4", "--learning_rate", "0.01",
            "--per_device_train_batch_size", "2", "--logging_steps", "1", "--save_strategy", "no", "--r", "4",
            "--target_modules", "q_proj,v_proj", "--validation_split", "0.25", "--eval_strategy", "steps", "--eval_steps", "2",
        ])
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(output.contains("data: 6 preference pairs ("), output)
        XCTAssertTrue(output.contains("2 evaluation pairs; reference: the base model with the adapter disabled"), output)
        XCTAssertTrue(output.contains("rewards/margins"), output)
        XCTAssertTrue(output.contains("eval_rewards/accuracies"), output)
        let lines = try String(contentsOf: out.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n")
        let steps = lines.filter { $0.contains(#""event": "step""#) }
        XCTAssertEqual(steps.count, 4)
        XCTAssertTrue(steps.allSatisfy { $0.contains(#""rewards/margins""#) && $0.contains(#""logps/rejected""#) }, "\(steps)")
        XCTAssertTrue(steps[0].contains(#""loss": 0.6931471"#), "a fresh adapter: loss log 2 at step 1\n\(steps[0])")
        XCTAssertEqual(lines.filter { $0.contains(#""eval_rewards/margins""#) }.count, 2)
        for file in ["adapter_model.safetensors", "adapter_config.json", "rewards.png", "loss.png", "trainer_state.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(file).path), file)
        }
        let yaml = try String(contentsOf: out.appendingPathComponent("tailor_config.yaml"), encoding: .utf8)
        XCTAssertTrue(yaml.contains("stage: dpo\n") && yaml.contains("beta: 0.2\n"), yaml)
    }

    func testDataInspectAndPreviewShowPairs() throws {
        guard let binary = TestPaths.tailorBinary else { throw XCTSkip("the tailor executable is not built beside the tests") }
        let data = try write("pairs.jsonl", [
            #"{"prompt": "What is 2 + 2?", "chosen": "4", "rejected": "5, I think"}"#,
            #"{"prompt": "Name a colour.", "chosen": "Blue", "rejected": "Blue"}"#,
        ])
        let model = TestPaths.fixture("tokenizers/qwen2").path
        let inspect = try TestPaths.run(binary, ["data", "inspect", data, "--model", model])
        XCTAssertEqual(inspect.status, 0, inspect.output)
        XCTAssertTrue(inspect.output.contains("preference pairs: 2, as stage dpo tokenizes them"), inspect.output)
        XCTAssertTrue(inspect.output.contains("  chosen tokens: min "), inspect.output)
        XCTAssertTrue(inspect.output.contains("chosen identical to rejected: 1"), inspect.output)
        XCTAssertTrue(inspect.output.contains("pairs.jsonl:2: chosen identical to rejected: chosen and rejected are the same reply"), inspect.output)
        let preview = try TestPaths.run(binary, ["data", "preview", data, "--model", model, "--no-color"])
        XCTAssertEqual(preview.status, 0, preview.output)
        XCTAssertTrue(preview.output.contains("chosen:") && preview.output.contains("rejected:"), preview.output)
        // This template has no generation prompt, so (as in TRL) the assistant header starts the reply.
        XCTAssertTrue(preview.output.contains("What is 2 + 2?<|im_end|>\n[[<|im_start|>assistant\n4<|im_end|>\n]]"), preview.output)
        XCTAssertTrue(preview.output.contains("[[<|im_start|>assistant\n5, I think<|im_end|>\n]]"), preview.output)
    }
}
