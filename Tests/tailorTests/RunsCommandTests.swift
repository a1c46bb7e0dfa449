import Foundation
@testable import tailor
import TailorTestSupport
import TailorTraining
import XCTest

/// `tailor runs` on real runs of the tiny llama, through the binary.
final class RunsCommandTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-runs-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func testTwoRunsTabledByTheirDifferingRankAndPlotted() throws {
        guard let binary = TestPaths.tailorBinary else { throw XCTSkip("the tailor executable is not built beside the tests") }
        let data = folder.appendingPathComponent("train.jsonl")
        let records = (0..<8).map { i in #"{"input_ids": [1, \#(10 + i), \#(20 + i), \#(30 + i), 2], "labels": [-100, -100, \#(20 + i), \#(30 + i), 2]}"# }
        try (records.joined(separator: "\n") + "\n").write(to: data, atomically: true, encoding: .utf8)
        for r in [2, 4] {
            var recipe = TrainRecipe()
            let flags = ["--model_name_or_path", TestPaths.fixture("models/llama").path, "--dataset", data.path, "--output_dir",
                         folder.appendingPathComponent("sweep/r\(r)").path, "--max_steps", "3", "--r", "\(r)", "--learning_rate", "0.01",
                         "--save_strategy", "no", "--logging_steps", "1", "--per_device_train_batch_size", "4"]
            for (key, value) in try TrainCommand.parseFlags(flags) { _ = try RecipeKeys.apply(key, value, to: &recipe) }
            try TrainRun(recipe: recipe, dryRun: false).run()
        }
        let png = folder.appendingPathComponent("plot.png")
        let result = try TestPaths.run(binary, ["runs", folder.appendingPathComponent("sweep").path, "--format", "csv", "--sort", "r",
                                                "--plot", "loss,learning_rate", "--output", png.path])
        XCTAssertEqual(result.status, 0, result.output)
        let lines = result.output.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines.contains { $0.hasPrefix("run,r,status,steps,loss,") }, result.output)
        XCTAssertTrue(lines.contains { $0.hasPrefix("r2,2,finished,3/3,") }, result.output)
        XCTAssertTrue(lines.contains { $0.hasPrefix("r4,4,finished,3/3,") }, result.output)
        XCTAssertTrue(FileManager.default.fileExists(atPath: png.path))
        // System metrics: their own series in metrics.jsonl and TensorBoard, never in trainer_state.json.
        let run = folder.appendingPathComponent("sweep/r2")
        let system = try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n")
            .filter { $0.contains(#""event": "system""#) }
        XCTAssertEqual(system.count, 3, "one per logging step")
        XCTAssertTrue(system.allSatisfy { $0.contains(#""system/rss_gb""#) && $0.contains(#""system/cpu_percent""#) }, "\(system)")
        XCTAssertFalse(try String(contentsOf: run.appendingPathComponent("trainer_state.json"), encoding: .utf8).contains("system/"))
        let events = try FileManager.default.contentsOfDirectory(atPath: run.appendingPathComponent("runs").path)
        let tensorboard = try Data(contentsOf: run.appendingPathComponent("runs").appendingPathComponent(try XCTUnwrap(events.first)))
        XCTAssertNotNil(tensorboard.range(of: Data("system/peak_rss_gb".utf8)), "TensorBoard has the system series")
        let r2 = try XCTUnwrap(lines.first { $0.hasPrefix("r2,") }).split(separator: ",", omittingEmptySubsequences: false)
        XCTAssertGreaterThan(Double(r2[9]) ?? 0, 0.01, "peak_rss_gb: \(r2)")
        let svg = try String(contentsOf: folder.appendingPathComponent("plot.svg"), encoding: .utf8)
        XCTAssertEqual(svg.components(separatedBy: "<g class=\"series\"").count - 1, 4, "2 runs × 2 panels")

        let missing = try TestPaths.run(binary, ["runs", folder.appendingPathComponent("sweep").path, "--plot", "rewards/margins"])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.output.contains("--plot rewards/margins: no run logged it; logged: grad_norm, learning_rate, loss, system/"), missing.output)
        let empty = try TestPaths.run(binary, ["runs", folder.path + "/nothing"])
        XCTAssertTrue(empty.output.contains("no such folder"), empty.output)
    }
}
