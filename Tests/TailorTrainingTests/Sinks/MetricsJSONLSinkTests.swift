import Foundation
import TailorTraining
import XCTest

final class MetricsJSONLSinkTests: XCTestCase {
    func lines(_ url: URL) throws -> [[String: Any]] {
        try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    func testOneLinePerEvent() throws {
        let folder = try makeSinkFolder(self, keepAs: "jsonl")
        let sink = MetricsJSONLSink()
        let events = syntheticRun(outputDir: folder.path)
        for event in events { try sink.handle(event) }
        let url = folder.appendingPathComponent("metrics.jsonl")
        XCTAssertEqual(sink.path, url.path)
        let records = try lines(url)
        XCTAssertEqual(records.count, events.count)
        XCTAssertEqual(records.map { $0["event"] as? String }.filter { $0 == "step" }.count, 10)
        let third = try XCTUnwrap(records.first { $0["step"] as? Int == 3 && $0["event"] as? String == "step" })
        XCTAssertEqual(third["loss"] as? Double, 3 - 0.6 - 0.05)
        XCTAssertEqual(third["grad_norm"] as? Double, 1.0 / 3)
        // The file holds 0.00030000000000000003 (Python reads it back exactly); Foundation's parser on Linux
        // is off in the last digit, hence the tolerance.
        XCTAssertEqual(try XCTUnwrap(third["learning_rate"] as? Double), 1e-4 * 3, accuracy: 1e-18)
        XCTAssertEqual(third["epoch"] as? Double, 0.6)
        let eval = try XCTUnwrap(records.first { $0["event"] as? String == "evaluation" })
        XCTAssertEqual(eval["eval_loss"] as? Double, 2.0)
        XCTAssertEqual(eval["step"] as? Int, 5)
        let warning = try XCTUnwrap(records.first { $0["event"] as? String == "warning" })
        XCTAssertEqual(warning["message"] as? String, "a warning \"quoted\" ü")
        let text = try String(contentsOf: url, encoding: .utf8)
        XCTAssertTrue(text.contains("\\u00fc"), "ensure_ascii like Python's json")
        XCTAssertTrue(text.contains("\"learning_rate\": 0.0001,"), "Python float repr")
    }

    /// logging_steps 4: lines at 4 and 8 with the mean loss of their window.
    func testLoggingStepsAverage() throws {
        let folder = try makeSinkFolder(self)
        let sink = MetricsJSONLSink(loggingSteps: 4)
        for event in syntheticRun(outputDir: folder.path) { try sink.handle(event) }
        let steps = try lines(folder.appendingPathComponent("metrics.jsonl")).filter { $0["event"] as? String == "step" }
        XCTAssertEqual(steps.map { $0["step"] as? Int }, [4, 8])
        let losses: [Double] = (5...8).map { step in
            let wiggle = step % 2 == 0 ? 0.05 : -0.05
            return 3 - 0.2 * Double(step) + wiggle
        }
        XCTAssertEqual(try XCTUnwrap(steps[1]["loss"] as? Double), losses.reduce(0, +) / 4, accuracy: 1e-12)
        XCTAssertEqual(steps[1]["num_tokens"] as? Int, 4 * 256)
    }

    /// A resumed run appends to the file; earlier lines stay.
    func testAppendsOnResume() throws {
        let folder = try makeSinkFolder(self)
        for _ in 0..<2 {
            let sink = MetricsJSONLSink()
            for event in syntheticRun(outputDir: folder.path, steps: 2) { try sink.handle(event) }
        }
        XCTAssertEqual(try lines(folder.appendingPathComponent("metrics.jsonl")).count, 2 * 4)
    }

    func testUnwritableFolderFailsAtStart() {
        let sink = MetricsJSONLSink()
        XCTAssertThrowsError(try sink.handle(syntheticRun(outputDir: "/proc/no-such-folder")[0]))
    }
}
