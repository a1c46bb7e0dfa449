import Foundation
import TailorTestSupport
import XCTest

/// `tailor train` as a process: a second run into a busy output_dir fails at once naming the
/// first's PID; SIGINT saves a checkpoint, says how to resume and exits 130; a second SIGINT
/// exits at once; the checkpoint resumes.
final class TrainProcessTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-train-process-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let records = (0..<8).map { i in #"{"input_ids": [1, \#(10 + i), \#(20 + i), \#(30 + i), 2], "labels": [-100, -100, \#(20 + i), \#(30 + i), 2]}"# }
        try (records.joined(separator: "\n") + "\n").write(to: folder.appendingPathComponent("train.jsonl"), atomically: true, encoding: .utf8)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    var out: URL { folder.appendingPathComponent("out") }

    /// Arguments of a run far too long to finish during the test.
    var arguments: [String] {
        ["train", "--model_name_or_path", TestPaths.fixture("models/llama").path, "--dataset", folder.appendingPathComponent("train.jsonl").path,
         "--output_dir", out.path, "--max_steps", "10000000", "--per_device_train_batch_size", "2", "--learning_rate", "0.001",
         "--logging_steps", "1", "--save_strategy", "no", "--r", "2", "--target_modules", "q_proj"]
    }

    /// A started `tailor train` writing to `log`.
    final class Running {
        let process = Process()
        let log: URL

        init(_ binary: URL, _ arguments: [String], log: URL) throws {
            self.log = log
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            let handle = try FileHandle(forWritingTo: log)
            process.executableURL = binary
            process.arguments = arguments
            process.standardOutput = handle
            process.standardError = handle
            try process.run()
        }

        var output: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

        /// Waits until `condition` holds (or the process ends, or 120 s pass).
        func wait(until condition: () -> Bool) -> Bool {
            let deadline = Date().addingTimeInterval(120)
            while Date() < deadline {
                if condition() { return true }
                if !process.isRunning { return condition() }
                usleep(20_000)
            }
            return false
        }

        func exit() -> Int32 {
            let deadline = Date().addingTimeInterval(120)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
            return process.terminationStatus
        }
    }

    /// metrics.jsonl's lines of `event` in `out`.
    func lines(_ event: String) -> [String] {
        let text = (try? String(contentsOf: out.appendingPathComponent("metrics.jsonl"), encoding: .utf8)) ?? ""
        return text.split(separator: "\n").map(String.init).filter { $0.contains(#""event": "\#(event)""#) }
    }

    func testASecondRunIsLockedOutAndSIGINTSavesAResumableCheckpoint() throws {
        guard let binary = TestPaths.tailorBinary else { throw XCTSkip("the tailor executable is not built beside the tests") }
        let first = try Running(binary, arguments, log: folder.appendingPathComponent("first.log"))
        XCTAssertTrue(first.wait { !lines("step").isEmpty }, first.output)

        // Item: two runs into one output_dir. The second fails at once, naming the first's PID.
        let started = Date()
        let second = try TestPaths.run(binary, arguments)
        XCTAssertNotEqual(second.status, 0, second.output)
        XCTAssertTrue(second.output.contains("is in use by another tailor train (PID \(first.process.processIdentifier) holds .tailor.lock)"),
                      second.output)
        XCTAssertLessThan(Date().timeIntervalSince(started), 60)
        XCTAssertTrue(first.process.isRunning, "the first run goes on")

        // SIGINT: the step finishes, a checkpoint is saved, the command to resume is printed, status 130.
        kill(first.process.processIdentifier, SIGINT)
        XCTAssertEqual(first.exit(), 130, first.output)
        let output = first.output
        let checkpoints = try FileManager.default.contentsOfDirectory(atPath: out.path).filter { $0.hasPrefix("checkpoint-") }
        XCTAssertEqual(checkpoints.count, 1, "\(checkpoints)\n\(output)")
        let checkpoint = out.appendingPathComponent(try XCTUnwrap(checkpoints.first))
        let step = try XCTUnwrap(Int(checkpoint.lastPathComponent.dropFirst("checkpoint-".count)))
        XCTAssertTrue(output.contains("interrupted after step \(step): saved \(checkpoint.path)"), output)
        XCTAssertTrue(output.contains("to resume: tailor train ") && output.contains("--resume_from_checkpoint \(checkpoint.path)"), output)
        XCTAssertTrue(output.contains("resume_from_checkpoint: latest"), output)
        XCTAssertEqual(lines("interrupted").count, 1)
        for file in ["training_state.json", "trainer_state.json", "optimizer.safetensors", "adapter_model.safetensors"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: checkpoint.appendingPathComponent(file).path), file)
        }

        // The checkpoint resumes: the new run starts at the next step (and is stopped the same way).
        let resumed = try Running(binary, arguments + ["--resume_from_checkpoint", "latest"], log: folder.appendingPathComponent("resumed.log"))
        XCTAssertTrue(resumed.wait { lines("started").count == 2 && lines("step").contains { $0.contains(#""step": \#(step + 1),"#) } },
                      resumed.output)
        XCTAssertTrue(lines("started").last?.contains(#""first_step": \#(step + 1)"#) == true, lines("started").joined(separator: "\n"))
        kill(resumed.process.processIdentifier, SIGINT)
        XCTAssertEqual(resumed.exit(), 130, resumed.output)
        XCTAssertTrue(resumed.output.contains("(resuming at step \(step + 1))"), resumed.output)
    }

    func testASecondSIGINTExitsAtOnce() throws {
        guard let binary = TestPaths.tailorBinary else { throw XCTSkip("the tailor executable is not built beside the tests") }
        let run = try Running(binary, arguments, log: folder.appendingPathComponent("run.log"))
        XCTAssertTrue(run.wait { !lines("step").isEmpty }, run.output)
        kill(run.process.processIdentifier, SIGINT)
        kill(run.process.processIdentifier, SIGINT)
        XCTAssertEqual(run.exit(), 130, run.output)
    }

    /// Values no run can use, and an output_dir that cannot be written, fail `--dry-run` before any
    /// model loads (the model path here does not exist); surprising values warn.
    func testDryRunReportsBadValuesAndOutputFoldersBeforeLoading() throws {
        guard let binary = TestPaths.tailorBinary else { throw XCTSkip("the tailor executable is not built beside the tests") }
        let common = ["train", "--dry-run", "--model_name_or_path", folder.appendingPathComponent("no-model").path,
                      "--dataset", folder.appendingPathComponent("train.jsonl").path]
        for rate in ["-1e-4", "0", "nan"] {
            let result = try TestPaths.run(binary, common + ["--output_dir", out.path, "--learning_rate", rate])
            XCTAssertNotEqual(result.status, 0, result.output)
            XCTAssertTrue(result.output.contains("option 'learning_rate' must be a positive number"), "\(rate): \(result.output)")
        }
        let file = folder.appendingPathComponent("a-file")
        try Data("x".utf8).write(to: file)
        let result = try TestPaths.run(binary, common + ["--output_dir", file.path])
        XCTAssertNotEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("option 'output_dir': \(file.path) cannot be written (it is a file, not a folder)"), result.output)
        XCTAssertFalse(result.output.contains("NSCocoaErrorDomain"), result.output)

        let warned = try TestPaths.run(binary, ["train", "--dry-run", "--model_name_or_path", TestPaths.fixture("models/llama").path,
                                                "--dataset", folder.appendingPathComponent("train.jsonl").path, "--output_dir", out.path,
                                                "--max_steps", "0"])
        XCTAssertEqual(warned.status, 0, warned.output)
        XCTAssertTrue(warned.output.contains("warning: max_steps: 0 means unset"), warned.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "a dry run writes nothing, not even the lock")
    }
}
