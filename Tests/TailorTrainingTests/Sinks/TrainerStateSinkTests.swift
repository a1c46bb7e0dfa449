import Foundation
import TailorTestSupport
import TailorTraining
import XCTest

/// trainer_state.json against the one transformers.Trainer wrote for the same per-step values
/// (scripts/reference/make_trainer_state_fixtures.py: 10 steps, logging_steps 2, eval and save every 5).
final class TrainerStateSinkTests: XCTestCase {
    struct Reference: Decodable {
        struct Step: Decodable {
            var epoch: Double
            var grad_norm: Double
            var learning_rate: Double
            var loss: Double
            var step: Int
        }
        struct Eval: Decodable {
            var epoch: Double
            var eval_loss: Double
            var step: Int
        }
        var steps: [Step]
        var evals: [Eval]
        var samples: Int
    }

    func testLayoutEqualsTrainers() throws {
        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: TestPaths.fixture("trainer_state/steps.json")))
        let folder = try makeSinkFolder(self, keepAs: "trainer_state")
        let sink = TrainerStateSink(settings: .init(loggingSteps: 2, evalSteps: 5, saveSteps: 5, trainBatchSize: 2))
        try sink.handle(.started(TrainingPlan(totalSteps: 10, epochs: 1, samples: reference.samples, trainableParameters: 1,
                                              totalParameters: 1, outputDir: folder.path)))
        for step in reference.steps {
            try sink.handle(.step(StepRecord(step: step.step, totalSteps: 10, epoch: step.epoch, loss: step.loss,
                                             gradNorm: step.grad_norm, learningRate: step.learning_rate, labelTokens: 0,
                                             tokens: 0, elapsed: Double(step.step), tokensPerSecond: 0)))
            for eval in reference.evals where eval.step == step.step {
                try sink.handle(.evaluation(EvaluationRecord(step: eval.step, epoch: eval.epoch, loss: eval.eval_loss, labelTokens: 0)))
            }
        }
        let checkpoint = folder.appendingPathComponent("checkpoint-10")
        try FileManager.default.createDirectory(at: checkpoint, withIntermediateDirectories: true)
        try sink.handle(.checkpointSaved(step: 10, path: checkpoint.path))

        let oursText = try String(contentsOf: checkpoint.appendingPathComponent("trainer_state.json"), encoding: .utf8)
        let theirsText = try String(contentsOf: TestPaths.fixture("trainer_state/trainer_state.json"), encoding: .utf8)
        let ours = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(oursText.utf8)) as? [String: Any])
        let theirs = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(theirsText.utf8)) as? [String: Any])

        XCTAssertEqual(Set(ours.keys), Set(theirs.keys), "top-level keys")
        for key in ["global_step", "max_steps", "logging_steps", "eval_steps", "save_steps", "num_train_epochs",
                    "train_batch_size", "epoch", "is_hyper_param_search", "best_metric"] {
            XCTAssertEqual("\(ours[key] ?? "nil")", "\(theirs[key] ?? "nil")", key)
        }
        XCTAssertEqual(ours["stateful_callbacks"] as? NSDictionary, theirs["stateful_callbacks"] as? NSDictionary)
        let ourLog = try XCTUnwrap(ours["log_history"] as? [[String: Any]])
        let theirLog = try XCTUnwrap(theirs["log_history"] as? [[String: Any]])
        XCTAssertEqual(ourLog.count, theirLog.count)
        for (index, (a, b)) in zip(ourLog, theirLog).enumerated() {
            // Trainer adds eval_runtime / eval_samples_per_second / eval_steps_per_second, which Tailor's
            // EvaluationRecord does not carry.
            let expectedKeys = Set(b.keys).subtracting(["eval_runtime", "eval_samples_per_second", "eval_steps_per_second"])
            XCTAssertEqual(Set(a.keys), expectedKeys, "log_history[\(index)] keys")
            for key in expectedKeys {
                if key == "loss" {
                    // Trainer sums the window's losses in float32; Tailor in double.
                    XCTAssertEqual(try XCTUnwrap(a[key] as? Double), try XCTUnwrap(b[key] as? Double), accuracy: 1e-6, "[\(index)].loss")
                } else {
                    XCTAssertEqual("\(a[key]!)", "\(b[key]!)", "log_history[\(index)].\(key)")
                }
            }
        }
        // Same text layout: two-space indent, sorted keys, the same line structure up to values.
        func shape(_ text: String) -> [String] {
            text.split(separator: "\n").map { line in String(line.prefix { $0 != ":" }) }
                .filter { !$0.contains("eval_runtime") && !$0.contains("eval_samples_per_second") && !$0.contains("eval_steps_per_second") }
        }
        XCTAssertEqual(shape(oursText), shape(theirsText))
        XCTAssertTrue(oursText.hasSuffix("}\n"))
    }

    func testFinishedWritesSummaryAndRestoreContinues() throws {
        let folder = try makeSinkFolder(self)
        let sink = TrainerStateSink(settings: .init(loggingSteps: 1))
        for event in syntheticRun(outputDir: folder.path) { try sink.handle(event) }
        let url = folder.appendingPathComponent("trainer_state.json")
        let state = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let log = try XCTUnwrap(state["log_history"] as? [[String: Any]])
        XCTAssertEqual(log.count, 10 + 2 + 1)
        let last = try XCTUnwrap(log.last)
        for key in ["train_runtime", "train_loss", "train_samples_per_second", "train_steps_per_second", "total_flos", "step", "epoch"] {
            XCTAssertNotNil(last[key], key)
        }
        XCTAssertEqual(state["global_step"] as? Int, 10)
        // The checkpoint at step 5 holds the log up to step 5.
        let checkpoint = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("checkpoint-5/trainer_state.json"))) as? [String: Any])
        XCTAssertEqual(checkpoint["global_step"] as? Int, 5)
        XCTAssertEqual((checkpoint["log_history"] as? [Any])?.count, 6)

        // Resume from checkpoint-5: the history continues from it.
        let resumed = TrainerStateSink(settings: .init(loggingSteps: 1))
        try resumed.restore(from: folder.appendingPathComponent("checkpoint-5/trainer_state.json"))
        XCTAssertEqual(resumed.logHistoryCount, 6)
        XCTAssertEqual(resumed.globalStep, 5)
        XCTAssertThrowsError(try resumed.restore(from: folder.appendingPathComponent("nothing.json")))
    }

    func testMalformedStateNamesFileLineAndColumn() throws {
        let url = try MalformedJSON.write("trainer_state.json")
        MalformedJSON.assertNamesPosition("resume_from_checkpoint: \(url.path) cannot be read as a trainer_state.json (") {
            try TrainerStateSink().restore(from: url)
        }
    }

    func testNonFiniteValuesAreWrittenAsPythonDoesAndReadBack() throws {
        // Trainer logs a grad_norm of nan (fp16 overflow) as NaN, which Python's json reads back; so does Tailor.
        let folder = try makeSinkFolder(self)
        let sink = TrainerStateSink(settings: .init(loggingSteps: 1))
        try sink.handle(.started(TrainingPlan(totalSteps: 2, epochs: 1, samples: 4, trainableParameters: 1, totalParameters: 1,
                                              outputDir: folder.path)))
        for (step, norm) in [(1, Double.nan), (2, Double.infinity)] {
            try sink.handle(.step(StepRecord(step: step, totalSteps: 2, epoch: Double(step) / 2, loss: 1, gradNorm: norm,
                                             learningRate: 1e-4, labelTokens: 0, tokens: 0, elapsed: 1, tokensPerSecond: 0)))
        }
        let url = folder.appendingPathComponent("trainer_state.json")
        try sink.write(to: url)
        let text = try String(contentsOf: url, encoding: .utf8)
        XCTAssertTrue(text.contains("\"grad_norm\": NaN,") && text.contains("\"grad_norm\": Infinity,"), text)
        XCTAssertTrue(text.contains("\"learning_rate\": 0.0001,") && text.contains("\"epoch\": 0.5,"), text)
        let resumed = TrainerStateSink(settings: .init(loggingSteps: 1))
        try resumed.restore(from: url)
        func history(_ text: String) -> Substring? {
            guard let start = text.range(of: "\"log_history\": ["), let end = text.range(of: "\n  ],", range: start.upperBound..<text.endIndex)
            else { return nil }
            return text[start.lowerBound..<end.upperBound]
        }
        XCTAssertNotNil(history(text))
        XCTAssertEqual(history(resumed.json()), history(text))
    }
}
