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

    func sweep(_ binary: URL, into name: String, _ extra: [String] = [], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        try TestPaths.run(binary, ["sweep", "--model_name_or_path", TestPaths.fixture("models/llama").path, "--dataset",
                                   folder.appendingPathComponent("train.jsonl").path, "--output_dir", folder.appendingPathComponent(name).path,
                                   "--grid", "r=2,4", "--grid", "learning_rate=1e-2,2e-2", "--max_steps", "4", "--save_strategy", "steps",
                                   "--save_steps", "2", "--logging_steps", "1", "--per_device_train_batch_size", "2"] + extra, environment: environment)
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

    /// --parallel 2: the four runs as processes two at a time, on data the sweep encoded once, each
    /// bit-identical to the same run trained one after the other with as many threads.
    func testParallelRunsEqualSequentialOnes() throws {
        guard let binary = TestPaths.tailorBinary else { throw XCTSkip("the tailor executable is not built beside the tests") }
        let sequential = try sweep(binary, into: "one-by-one", [], environment: ["TAILOR_NUM_THREADS": "1"])
        XCTAssertEqual(sequential.status, 0, sequential.output)
        let parallel = try sweep(binary, into: "parallel", ["--parallel", "2"], environment: ["TAILOR_NUM_THREADS": "2"])
        XCTAssertEqual(parallel.status, 0, parallel.output)
        let work = folder.appendingPathComponent("parallel/.sweep")
        XCTAssertTrue(parallel.output.contains("sweep: 4 runs, 2 at a time, 1 thread each; logs in \(work.path)"), parallel.output)
        XCTAssertEqual(parallel.output.components(separatedBy: "sweep: data encoded once").count - 1, 1, parallel.output)
        XCTAssertEqual(parallel.output.components(separatedBy: " started (pid ").count - 1, 4, parallel.output)
        XCTAssertEqual(parallel.output.components(separatedBy: " finished in ").count - 1, 4, parallel.output)
        XCTAssertEqual(parallel.output.components(separatedBy: "finished  4/4").count - 1, 4, "the closing table\n\(parallel.output)")
        for name in ["r-2_learning_rate-1e-2", "r-2_learning_rate-2e-2", "r-4_learning_rate-1e-2", "r-4_learning_rate-2e-2"] {
            let log = try String(contentsOf: work.appendingPathComponent("\(name).log"), encoding: .utf8)
            XCTAssertTrue(log.contains("data: the sweep's earlier run encoded the same data; reused"), "\(name) read the sweep's data\n\(log)")
            let one = try Data(contentsOf: folder.appendingPathComponent("one-by-one/\(name)/adapter_model.safetensors"))
            let other = try Data(contentsOf: folder.appendingPathComponent("parallel/\(name)/adapter_model.safetensors"))
            XCTAssertEqual(one, other, name)
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: work.path)
        XCTAssertFalse(left.contains { $0.hasSuffix(".data") }, "the encoded data is removed at the end: \(left)")
        // As if the third run had been killed after its checkpoint at step 2: run again, and only it
        // trains, resumed in its own process, to the same bits.
        let killed = folder.appendingPathComponent("parallel/r-4_learning_rate-1e-2")
        let metrics = try String(contentsOf: killed.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n")
        try (metrics.prefix(while: { !$0.contains(#""step": 3"#) }).joined(separator: "\n") + "\n")
            .write(to: killed.appendingPathComponent("metrics.jsonl"), atomically: true, encoding: .utf8)
        for name in ["checkpoint-4", "adapter_model.safetensors", "adapter_config.json"] {
            try FileManager.default.removeItem(at: killed.appendingPathComponent(name))
        }
        let again = try sweep(binary, into: "parallel", ["--parallel", "2"], environment: ["TAILOR_NUM_THREADS": "2"])
        XCTAssertEqual(again.status, 0, again.output)
        XCTAssertEqual(again.output.components(separatedBy: "finished earlier: skipped").count - 1, 3, again.output)
        XCTAssertEqual(again.output.components(separatedBy: " (pid ").count - 1, 1, again.output)
        XCTAssertTrue(again.output.contains("r-4_learning_rate-1e-2 (r=4, learning_rate=1e-2) started, resuming from its latest checkpoint"), again.output)
        XCTAssertEqual(try Data(contentsOf: killed.appendingPathComponent("adapter_model.safetensors")),
                       try Data(contentsOf: folder.appendingPathComponent("one-by-one/r-4_learning_rate-1e-2/adapter_model.safetensors")), "resumed bit-identically")

        let bad = try sweep(binary, into: "bad", ["--parallel", "0"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.output.contains("--parallel 0: give how many runs train at once"), bad.output)
    }

    /// Ctrl-C (SIGINT to the sweep) reaches the running runs, which are process groups of their own: each
    /// saves a checkpoint and stops, no more runs start, and the sweep exits 130 saying how to go on.
    func testAnInterruptedParallelSweepStopsItsRunsWithCheckpoints() throws {
        guard let binary = TestPaths.tailorBinary else { throw XCTSkip("the tailor executable is not built beside the tests") }
        let out = folder.appendingPathComponent("stopped")
        let process = Process()
        process.executableURL = binary
        process.arguments = ["sweep", "--model_name_or_path", TestPaths.fixture("models/llama").path, "--dataset",
                             folder.appendingPathComponent("train.jsonl").path, "--output_dir", out.path, "--grid", "r=2,4,6",
                             "--max_steps", "1000000", "--save_strategy", "steps", "--save_steps", "2", "--per_device_train_batch_size", "2",
                             "--parallel", "2"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let logs = ["r-2", "r-4"].map { out.appendingPathComponent(".sweep/\($0).log") }
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline, !logs.allSatisfy({ ((try? String(contentsOf: $0, encoding: .utf8)) ?? "").contains(": saved ") }) {
            Thread.sleep(forTimeInterval: 0.1)
        }
        process.interrupt()  // SIGINT, as Ctrl-C sends the terminal's foreground process
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 130, output)
        XCTAssertTrue(output.contains("interrupt: each running run stops after its step with a checkpoint"), output)
        XCTAssertTrue(output.contains("sweep: stopped; run the same command again"), output)
        for log in logs {
            let text = try String(contentsOf: log, encoding: .utf8)
            XCTAssertTrue(text.contains("interrupted after step"), text)
            XCTAssertEqual(Sweep.state(of: out.appendingPathComponent(log.deletingPathExtension().lastPathComponent)), .resumable)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("r-6").path), "the third run never started")
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
