import Foundation
@testable import TailorTraining
import XCTest

/// Jobs run at most N at a time, each one's output in its log, with its exit status (or 128 + signal).
final class ProcessBatchTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-batch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func job(_ name: String, _ script: String) -> ProcessBatch.Job {
        ProcessBatch.Job(name: name, executable: URL(fileURLWithPath: "/bin/sh"), arguments: ["-c", script],
                         environment: ["JOB_NAME": name], log: folder.appendingPathComponent("logs/\(name).log"))
    }

    func testAtMostNRunAtOnceAndEachLogsItsOwnOutput() throws {
        // Each job records how many jobs were running when it started (a file per running job).
        let running = folder.appendingPathComponent("running").path
        try FileManager.default.createDirectory(atPath: running, withIntermediateDirectories: true)
        let script = "touch \(running)/$JOB_NAME; ls \(running) | wc -l; sleep 0.3; rm \(running)/$JOB_NAME; echo done $JOB_NAME >&2"
        let jobs = (1...5).map { job("j\($0)", script) }
        var started: [String] = [], ended: [String] = []
        let outcomes = try ProcessBatch(jobs, atOnce: 2).run { event in
            switch event {
            case let .started(job, pid):
                XCTAssertGreaterThan(pid, 0)
                started.append(job.name)
            case let .ended(job, outcome):
                XCTAssertEqual(job.name, outcome.name)
                ended.append(job.name)
            }
        }
        XCTAssertEqual(started, ["j1", "j2", "j3", "j4", "j5"], "started in the order given")
        XCTAssertEqual(Set(ended), Set(started))
        XCTAssertEqual(outcomes.map(\.status), [0, 0, 0, 0, 0])
        var counts: [Int] = []
        for name in started {
            let log = try String(contentsOf: folder.appendingPathComponent("logs/\(name).log"), encoding: .utf8)
            let lines = log.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            XCTAssertEqual(lines.last, "done \(name)", "standard error in the job's own log: \(log)")
            counts.append(try XCTUnwrap(Int(lines.first ?? ""), log))
        }
        XCTAssertEqual(counts.max(), 2, "never more than 2 at once, and 2 at some point: \(counts)")
        XCTAssertGreaterThanOrEqual(outcomes.map(\.seconds).min() ?? 0, 0.25)
    }

    func testStatusesSignalsAndAJobThatCannotStart() throws {
        var missing = job("missing", "")
        missing.executable = folder.appendingPathComponent("no-such-program")
        let outcomes = try ProcessBatch([job("fails", "exit 3"), job("killed", "kill -9 $$"), missing], atOnce: 3).run { _ in }
        let byName = Dictionary(uniqueKeysWithValues: outcomes.map { ($0.name, $0.status) })
        XCTAssertEqual(byName, ["fails": 3, "killed": 137, "missing": 127])
        let log = try String(contentsOf: folder.appendingPathComponent("logs/missing.log"), encoding: .utf8)
        XCTAssertTrue(log.contains("cannot start \(missing.executable.path)"), log)
    }

    /// interrupt() passes SIGINT to the running jobs (each its own process group, which a terminal's
    /// Ctrl-C would not reach) and starts no more; run still waits for the running ones to end.
    func testAnInterruptReachesTheRunningAndStartsNoMore() throws {
        let jobs = (1...4).map { job("s\($0)", "trap 'echo got-int; exit 130' INT; echo ready; while true; do sleep 0.05; done") }
        let batch = ProcessBatch(jobs, atOnce: 2)
        var started: [String] = []
        let outcomes = try batch.run { event in
            if case let .started(job, _) = event {
                started.append(job.name)
                if started.count == 2 {
                    Thread.sleep(forTimeInterval: 0.3)  // both shells have set their trap
                    batch.interrupt()
                }
            }
        }
        XCTAssertTrue(batch.isInterrupted)
        XCTAssertEqual(started, ["s1", "s2"])
        XCTAssertEqual(outcomes.map(\.status), [130, 130], "both ran their INT trap")
        for name in started {
            let log = try String(contentsOf: folder.appendingPathComponent("logs/\(name).log"), encoding: .utf8)
            XCTAssertTrue(log.contains("got-int"), log)
        }
    }

    func testAnUnwritableLogIsAClearError() throws {
        var blocked = job("x", "true")
        try Data().write(to: folder.appendingPathComponent("file"))
        blocked.log = folder.appendingPathComponent("file/x.log")
        XCTAssertThrowsError(try ProcessBatch([blocked], atOnce: 1).run { _ in }) { error in
            XCTAssertTrue("\(error)".contains("file/x.log"), "\(error)")
        }
    }
}
