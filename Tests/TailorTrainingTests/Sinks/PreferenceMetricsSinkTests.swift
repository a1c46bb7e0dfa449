import Foundation
import TailorJSON
@testable import TailorTraining
import XCTest

/// A preference run's metrics (TRL's names) reach every sink: metrics.jsonl and trainer_state.json
/// (`rewards/margins`, `eval_rewards/margins`, averaged over logging_steps as TRL averages them),
/// TensorBoard (`train/rewards/margins`, `eval/rewards/margins`), the console, and rewards.png.
final class PreferenceMetricsSinkTests: XCTestCase {
    /// syntheticRun with DPO metrics: margin 0.1·step, accuracy 1 from step 3, eval margins 0.5 and 1.
    func preferenceRun(outputDir: String) -> [TrainingEvent] {
        syntheticRun(outputDir: outputDir).map { event in
            switch event {
            case var .step(record):
                record.metrics = ["rewards/margins": 0.1 * Double(record.step), "rewards/accuracies": record.step >= 3 ? 1 : 0.5,
                                  "rewards/chosen": 0.05 * Double(record.step), "logps/chosen": -10]
                return .step(record)
            case var .evaluation(record):
                record.metrics = ["rewards/margins": Double(record.step) / 10, "rewards/accuracies": 0.75]
                return .evaluation(record)
            default:
                return event
            }
        }
    }

    func testEverySinkWritesTheMetrics() throws {
        let folder = try makeSinkFolder(self, keepAs: "preference")
        let jsonl = MetricsJSONLSink(loggingSteps: 2)
        let state = TrainerStateSink(settings: .init(loggingSteps: 2))
        let board = TensorBoardSink(loggingSteps: 2, clock: { 1_700_000_000 })
        let plot = LossPlotSink(loggingSteps: 2)
        let text = TextCollector()
        let console = ConsoleProgressSink(output: text, interactive: false)
        for event in preferenceRun(outputDir: folder.path) {
            for sink in [jsonl, state, board, plot, console] as [TrainingSink] { try sink.handle(event) }
        }
        let lines = try String(contentsOf: folder.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n")
            .map { try JSONValue(parsing: String($0)) }
        let step4 = try XCTUnwrap(lines.first { $0["event"]?.stringValue == "step" && $0["step"]?.integralValue == 4 })
        XCTAssertEqual(try XCTUnwrap(step4["rewards/margins"]?.doubleValue), 0.35, accuracy: 1e-12, "mean of steps 3 and 4")
        XCTAssertEqual(step4["rewards/accuracies"]?.doubleValue, 1)
        XCTAssertEqual(step4["logps/chosen"]?.doubleValue, -10)
        let keys = step4.objectValue?.map(\.key) ?? []
        XCTAssertEqual(Array(keys.prefix(7)), ["loss", "grad_norm", "learning_rate", "rewards/chosen", "rewards/accuracies",
                                               "rewards/margins", "logps/chosen"], "TRL's order after learning_rate")
        let eval = try XCTUnwrap(lines.first { $0["event"]?.stringValue == "evaluation" })
        XCTAssertEqual(eval["eval_rewards/margins"]?.doubleValue, 0.5)
        XCTAssertEqual(eval["eval_rewards/accuracies"]?.doubleValue, 0.75)

        let trainerState = try JSONValue(parsing: String(contentsOf: folder.appendingPathComponent("trainer_state.json"), encoding: .utf8))
        let history = trainerState["log_history"]?.arrayValue ?? []
        XCTAssertEqual(history.first { $0["step"]?.integralValue == 4 && $0["loss"] != nil }?["rewards/accuracies"]?.doubleValue, 1)
        XCTAssertEqual(history.first { $0["eval_loss"] != nil }?["eval_rewards/margins"]?.doubleValue, 0.5)
        XCTAssertEqual(state.points(of: "rewards/margins").eval.map(\.y), [0.5, 1])

        let runs = folder.appendingPathComponent("runs")
        let file = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: runs.path).first)
        let scalars = try TensorBoardSinkTests.scalars(Data(contentsOf: runs.appendingPathComponent(file)))
        XCTAssertEqual(scalars.filter { $0.tag == "train/rewards/margins" }.map(\.step), [2, 4, 6, 8, 10])
        XCTAssertEqual(scalars.filter { $0.tag == "eval/rewards/accuracies" }.map(\.value), [0.75, 0.75])

        XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent("rewards.png").path))
        XCTAssertTrue(try String(contentsOf: folder.appendingPathComponent("rewards.svg"), encoding: .utf8).contains("train margin"))
        XCTAssertEqual(plot.margins.count, 5)
        XCTAssertTrue(text.text.contains("rewards/margins 0.200 rewards/accuracies 0.500"), text.text)
        XCTAssertTrue(text.text.contains("eval_loss 2.0000 eval_rewards/margins 0.500 eval_rewards/accuracies 0.750"), text.text)
    }

    func testSFTWritesNoRewardChart() throws {
        let folder = try makeSinkFolder(self)
        let plot = LossPlotSink()
        for event in syntheticRun(outputDir: folder.path) { try plot.handle(event) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("rewards.png").path))
    }
}
