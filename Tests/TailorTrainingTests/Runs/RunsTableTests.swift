import Foundation
import TailorTraining
import XCTest

/// `RunSummary`, `RunsTable` and `RunsPlot` on run folders written as MetricsJSONLSink writes them.
final class RunsTableTests: XCTestCase {
    func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-runs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    func writeRun(_ folder: URL, losses: [Double], evalLosses: [Double] = [], finished: Bool) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var lines = [#"{"event": "started", "max_steps": \#(losses.count), "num_train_epochs": 1.0}"#]
        for (index, loss) in losses.enumerated() {
            lines.append(#"{"loss": \#(loss), "learning_rate": 0.001, "step": \#(index + 1), "event": "step"}"#)
            if index < evalLosses.count { lines.append(#"{"eval_loss": \#(evalLosses[index]), "eval_rouge1": \#(10 * Double(index + 1)), "step": \#(index + 1), "event": "evaluation"}"#) }
        }
        if finished { lines.append(#"{"train_runtime": 12.5, "train_tokens_per_second": 100.0, "step": \#(losses.count), "event": "finished"}"#) }
        try (lines.joined(separator: "\n") + "\n").write(to: folder.appendingPathComponent("metrics.jsonl"), atomically: true, encoding: .utf8)
    }

    func testTableShowsDifferingSettingsResultsAndSorts() throws {
        let root = try temporaryFolder()
        try writeRun(root.appendingPathComponent("a"), losses: [2.0, 1.5, 1.2], evalLosses: [1.9, 1.4], finished: true)
        try writeRun(root.appendingPathComponent("b"), losses: [2.0, 1.0, 0.9], evalLosses: [1.8, 1.6], finished: true)
        try writeRun(root.appendingPathComponent("c"), losses: [2.1], finished: false)
        XCTAssertEqual(RunSummary.runFolders(under: root).map(\.lastPathComponent), ["a", "b", "c"])
        let settings: [String: [String: String]] = [
            "a": ["r": "16", "learning_rate": "0.001", "output_dir": "out/a"], "b": ["r": "8", "learning_rate": "0.001", "output_dir": "out/b"],
            "c": ["r": "32", "learning_rate": "0.001", "output_dir": "out/c"],
        ]
        let runs = try RunSummary.runFolders(under: root).map { try RunSummary.read(folder: $0, settings: settings[$0.lastPathComponent] ?? [:]) }
        XCTAssertEqual(runs.map(\.status), [.finished, .finished, .stopped])
        XCTAssertEqual(runs[0].bestEvalLoss, 1.4)
        XCTAssertEqual(runs[1].finalEvalLoss, 1.6)
        XCTAssertEqual(runs[2].totalSteps, 1)
        let table = RunsTable(runs)
        XCTAssertEqual(table.differing, ["r"], "learning_rate is the same everywhere; output_dir never counts")
        XCTAssertEqual(table.evalColumns, ["eval_rouge1"])
        XCTAssertEqual(try table.sorted(by: "eval_loss").runs.map(\.name), ["a", "b", "c"], "eval_loss 1.4 < 1.6; no value last")
        XCTAssertEqual(try table.sorted(by: "loss").runs.map(\.name), ["b", "a", "c"])
        XCTAssertEqual(try table.sorted(by: "r").runs.map(\.name), ["b", "a", "c"], "settings sort as numbers: 8 < 16 < 32")
        XCTAssertEqual(try table.sorted(by: "eval_rouge1", descending: true).runs.map(\.name), ["a", "b", "c"])
        XCTAssertThrowsError(try table.sorted(by: "bleu")) { error in XCTAssertTrue("\(error)".contains("'bleu' is no column"), "\(error)") }

        let text = table.text()
        XCTAssertTrue(text.hasPrefix("run  r   status    steps  loss"), text)
        XCTAssertTrue(text.contains("b     8  finished  3/3    0.9000"), text)
        let csv = table.csv().split(separator: "\n")
        XCTAssertEqual(csv[0], "run,r,status,steps,loss,best_loss,eval_loss,best_eval_loss,tokens/s,peak_rss_gb,wall_s,eval_rouge1")
        XCTAssertEqual(csv[3], "c,32,stopped,1/1,2.1000,2.1000,-,-,-,-,-,-")
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(table.json().text().utf8)) as? [[String: Any]])
        XCTAssertEqual(json[1]["best_loss"] as? Double, 0.9)
        XCTAssertEqual((json[0]["settings"] as? [String: String])?["output_dir"], "out/a", "JSON keeps every setting")
    }

    func testAResumedRunKeepsTheSeriesOfItsResumedProcess() throws {
        let folder = try temporaryFolder().appendingPathComponent("resumed")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let lines = [
            #"{"event": "started", "max_steps": 4, "first_step": 1}"#,
            #"{"loss": 2.0, "step": 1, "event": "step"}"#, #"{"loss": 1.9, "step": 2, "event": "step"}"#, #"{"loss": 1.8, "step": 3, "event": "step"}"#,
            #"{"event": "started", "max_steps": 4, "first_step": 3}"#,
            #"{"loss": 1.7, "step": 3, "event": "step"}"#, #"{"loss": 1.6, "step": 4, "event": "step"}"#,
        ]
        try (lines.joined(separator: "\n") + "\n").write(to: folder.appendingPathComponent("metrics.jsonl"), atomically: true, encoding: .utf8)
        let run = try RunSummary.read(folder: folder, settings: [:])
        XCTAssertEqual(run.series["loss"]?.map(\.step), [1, 2, 3, 4], "step 3 of the stopped process is replaced")
        XCTAssertEqual(run.series["loss"]?.map(\.value), [2.0, 1.9, 1.7, 1.6])
        XCTAssertEqual(RunsTable([run, run]).differing, [])
        var resumed = run
        resumed.settings = ["resume_from_checkpoint": "latest"]
        XCTAssertEqual(RunsTable([run, resumed]).differing, [], "how a run was started again does not tell runs apart")
    }

    func testSmoothingIsTensorBoardsAndThePlotOverlaysEveryRun() throws {
        // TensorBoard's debiased EMA, by hand: 0.4·1 / 0.4 = 1; (0.24 + 0.8) / 0.64; (0.624 + 1.2) / 0.784.
        let smoothed = RunsPlot.smoothed([1, 2, 3], weight: 0.6)
        XCTAssertEqual(smoothed[0], 1, accuracy: 1e-12)
        XCTAssertEqual(smoothed[1], 1.625, accuracy: 1e-12)
        XCTAssertEqual(smoothed[2], 1.824 / 0.784, accuracy: 1e-12)
        XCTAssertEqual(RunsPlot.smoothed([1, 2, 3], weight: 0), [1, 2, 3])

        let root = try temporaryFolder()
        try writeRun(root.appendingPathComponent("r8"), losses: [2.0, 1.5, 1.2], evalLosses: [1.9], finished: true)
        try writeRun(root.appendingPathComponent("r16"), losses: [2.0, 1.0, 0.9], evalLosses: [1.8], finished: true)
        let runs = try RunSummary.runFolders(under: root).map { try RunSummary.read(folder: $0, settings: ["r": $0.lastPathComponent.dropFirst().description]) }
        let plot = RunsPlot(table: RunsTable(runs), metrics: ["loss", "eval_loss"])
        XCTAssertEqual(plot.table.label(runs[0]), "r16 (r=16)")
        let svg = plot.svg()
        XCTAssertEqual(svg.components(separatedBy: "<g class=\"series\"").count - 1, 4, "2 runs in each of 2 panels")
        XCTAssertTrue(svg.contains("data-name=\"r8 (r=8)\""), svg)
        let png = try plot.png()
        XCTAssertEqual(Array(png.prefix(4)), [0x89, 0x50, 0x4E, 0x47])
    }
}
