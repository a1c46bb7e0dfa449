import Foundation
@testable import tailor
import TailorTestSupport
import TailorTraining
import XCTest

/// `tailor sweep` through the binary: a 2 × 2 grid on the tiny llama, skip and resume on re-run, and bad grids.
final class SweepCommandTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-sweep-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let records = (0..<8).map { i in #"{"input_ids": [1, \#(10 + i), \#(20 + i), \#(30 + i), 2], "labels": [-100, -100, \#(20 + i), \#(30 + i), 2]}"# }
        try (records.joined(separator: "\n") + "\n").write(to: folder.appendingPathComponent("train.jsonl"), atomically: true, encoding: .utf8)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func sweep(_ binary: URL, into name: String, _ extra: [String] = []) throws -> (status: Int32, output: String) {
        try TestPaths.run(binary, ["sweep", "--model_name_or_path", TestPaths.fixture("models/llama").path, "--dataset",
                                   folder.appendingPathComponent("train.jsonl").path, "--output_dir", folder.appendingPathComponent(name).path,
                                   "--grid", "r=2,4", "--grid", "learning_rate=1e-2,2e-2", "--max_steps", "4", "--save_strategy", "steps",
                                   "--save_steps", "2", "--logging_steps", "1", "--per_device_train_batch_size", "2"] + extra)
    }

    func testAGridTrainsEveryRunThenSkipsAndResumes() throws {
        guard let binary = TestPaths.tailorBinary else { throw XCTSkip("the tailor executable is not built beside the tests") }
        let first = try sweep(binary, into: "sweep")
        XCTAssertEqual(first.status, 0, first.output)
        let names = ["r-2_learning_rate-1e-2", "r-2_learning_rate-2e-2", "r-4_learning_rate-1e-2", "r-4_learning_rate-2e-2"]
        XCTAssertTrue(first.output.contains("sweep: 4 runs into \(folder.appendingPathComponent("sweep").path): " + names.joined(separator: ", ")), first.output)
        XCTAssertEqual(first.output.components(separatedBy: "data: the sweep's earlier run encoded the same data; reused").count - 1, 3, first.output)
        for name in names {
            let adapter = folder.appendingPathComponent("sweep/\(name)/adapter_config.json")
            XCTAssertTrue(FileManager.default.fileExists(atPath: adapter.path), name)
        }
        // The closing table: the two differing settings, every run finished.
        XCTAssertTrue(first.output.contains("run                     learning_rate  r  status"), first.output)
        XCTAssertEqual(first.output.components(separatedBy: "finished  4/4").count - 1, 4, first.output)
        let r4 = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("sweep/\(names[2])/adapter_config.json"))) as? [String: Any])
        XCTAssertEqual(r4["r"] as? Int, 4)

        // As if the third run had been killed after its checkpoint at step 2: its end and last checkpoint gone.
        let killed = folder.appendingPathComponent("sweep/\(names[2])")
        let finalWeights = try Data(contentsOf: killed.appendingPathComponent("adapter_model.safetensors"))
        let metrics = try String(contentsOf: killed.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n")
        try (metrics.prefix(while: { !$0.contains(#""step": 3"#) }).joined(separator: "\n") + "\n")
            .write(to: killed.appendingPathComponent("metrics.jsonl"), atomically: true, encoding: .utf8)
        for name in ["checkpoint-4", "adapter_model.safetensors", "adapter_config.json"] {
            try FileManager.default.removeItem(at: killed.appendingPathComponent(name))
        }
        XCTAssertEqual(Sweep.state(of: killed), .resumable)
        let second = try sweep(binary, into: "sweep")
        XCTAssertEqual(second.status, 0, second.output)
        XCTAssertEqual(second.output.components(separatedBy: "finished earlier: skipped").count - 1, 3, second.output)
        XCTAssertTrue(second.output.contains("sweep: run 3/4 r-4_learning_rate-1e-2 (r=4, learning_rate=1e-2): resuming from its latest checkpoint"), second.output)
        XCTAssertEqual(try Data(contentsOf: killed.appendingPathComponent("adapter_model.safetensors")), finalWeights, "resumed bit-identically")
    }

    func testBadGridsAreClearErrors() throws {
        guard let binary = TestPaths.tailorBinary else { throw XCTSkip("the tailor executable is not built beside the tests") }
        let base = ["sweep", "--model_name_or_path", TestPaths.fixture("models/llama").path, "--dataset", folder.appendingPathComponent("train.jsonl").path,
                    "--output_dir", folder.appendingPathComponent("bad").path]
        for (grid, says) in [
            (["--grid", "lora_rnak=2,4"], "lora_rnak"), (["--grid", "r="], "has no values"), ([], "is empty"),
            (["--grid", "r=2,2"], "gives 2 twice: two runs would write the same folder"),
            (["--grid", "r=2", "--grid", "lora_rank=4"], "names r twice"), (["--grid", "output_dir=a,b"], "is the sweep's folder"),
        ] {
            let result = try TestPaths.run(binary, base + grid)
            XCTAssertNotEqual(result.status, 0, "\(grid)")
            XCTAssertTrue(result.output.contains(says), "\(grid): \(result.output)")
        }
        let typo = try TestPaths.run(binary, base + ["--grid", "lora_rnak=2,4"])
        XCTAssertTrue(typo.output.contains("lora_rank"), "the nearest key is named: \(typo.output)")
    }
}
