import Foundation
import TailorTestSupport
@testable import TailorTraining
import XCTest

/// training_state.json, the loop state of a checkpoint: written as Python's json writes it, read back exactly.
final class CheckpointTests: XCTestCase {
    func testStateRoundTripsWithASeedBeyondInt64() throws {
        let state = Checkpoint.State(globalStep: 5, totalSteps: 10, seed: .max, parameterNames: ["a", "b"],
                                     parameterShapes: [[2, 3], [4]], elapsedSeconds: 1.5)
        let url = try MalformedJSON.write("training_state.json")
        try state.write(to: url)
        let text = try String(contentsOf: url, encoding: .utf8)
        XCTAssertTrue(text.contains("\"seed\": 18446744073709551615,"), text)
        XCTAssertTrue(text.contains("\"elapsedSeconds\": 1.5,"), text)
        XCTAssertEqual(try Checkpoint.State(contentsOf: url), state)
    }

    func testStateWrittenByEarlierVersionsIsRead() throws {
        // JSONEncoder's layout (" : ", escaped slashes) from before TailorJSON.
        let url = try MalformedJSON.write("training_state.json")
        try Data(#"{"elapsedSeconds" : 2,"format" : "tailor-checkpoint-1","globalStep" : 3,"parameterNames" : ["m\/a"],"parameterShapes" : [[1]],"seed" : 42,"totalSteps" : 4}"#.utf8).write(to: url)
        XCTAssertEqual(try Checkpoint.State(contentsOf: url),
                       Checkpoint.State(globalStep: 3, totalSteps: 4, seed: 42, parameterNames: ["m/a"], parameterShapes: [[1]], elapsedSeconds: 2))
    }

    func testMalformedStateNamesFileLineAndColumn() throws {
        let url = try MalformedJSON.write("training_state.json")
        MalformedJSON.assertNamesPosition("resume_from_checkpoint: \(url.path) cannot be read: ") {
            _ = try Checkpoint.State(contentsOf: url)
        }
        try Data(#"{"format": "tailor-checkpoint-1", "globalStep": "3"}"#.utf8).write(to: url)
        XCTAssertThrowsError(try Checkpoint.State(contentsOf: url)) { error in
            XCTAssertEqual("\(error)", "resume_from_checkpoint: \(url.path) cannot be read: field 'globalStep' must be an integer")
        }
    }

    /// A checkpoint folder with a marker file, as `Checkpoint.list` sees one.
    func makeFolder(_ url: URL, marker: String) throws {
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        try Data("{}".utf8).write(to: url.appendingPathComponent("training_state.json"))
        try Data(marker.utf8).write(to: url.appendingPathComponent("marker"))
    }

    func marker(_ url: URL) -> String? {
        (try? String(contentsOf: url.appendingPathComponent("marker"), encoding: .utf8))
    }

    /// Replacing checkpoint-N renames the old one aside, moves the new one in, then deletes the old:
    /// a kill between the two renames leaves the old one aside, and `recover` puts it back.
    func testReplacingACheckpointIsAtomicAndAKillInBetweenIsRecovered() throws {
        let out = try MalformedJSON.write("x").deletingLastPathComponent()
        defer { try? FileManager.default.removeItem(at: out) }
        let final = out.appendingPathComponent("checkpoint-5")
        try makeFolder(final, marker: "old")
        let temporary = out.appendingPathComponent(".checkpoint-5.tmp-\(getpid())")
        try makeFolder(temporary, marker: "new")
        struct Killed: Error {}
        Checkpoint.testHookBetweenRenames = { _ in throw Killed() }
        defer { Checkpoint.testHookBetweenRenames = nil }
        XCTAssertThrowsError(try Checkpoint.commit(temporary, to: final))
        let aside = out.appendingPathComponent(".checkpoint-5.old-\(getpid())")
        XCTAssertEqual(marker(aside), "old", "the old checkpoint is aside, not deleted")
        XCTAssertEqual(Checkpoint.list(in: out).map(\.step), [], "the state a kill here leaves: no checkpoint-5")
        XCTAssertEqual(Set(Checkpoint.recover(outputDir: out)), [aside.lastPathComponent, temporary.lastPathComponent])
        XCTAssertEqual(Checkpoint.list(in: out).map(\.step), [5])
        XCTAssertEqual(marker(final), "old", "restored")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out.path).sorted(), ["checkpoint-5", "x"])

        // Without the kill: the new one is in and nothing is left aside.
        Checkpoint.testHookBetweenRenames = nil
        try makeFolder(temporary, marker: "new")
        try Checkpoint.commit(temporary, to: final)
        XCTAssertEqual(marker(final), "new")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out.path).sorted(), ["checkpoint-5", "x"])
    }

    /// A kill after the new checkpoint moved in leaves the old one aside: it is deleted. Temporary
    /// folders of dead processes are deleted; one of a live process is left alone.
    func testRecoverDeletesStaleLeftoversOnly() throws {
        let out = try MalformedJSON.write("x").deletingLastPathComponent()
        defer { try? FileManager.default.removeItem(at: out) }
        try makeFolder(out.appendingPathComponent("checkpoint-5"), marker: "new")
        try makeFolder(out.appendingPathComponent(".checkpoint-5.old-999999"), marker: "old")
        try makeFolder(out.appendingPathComponent(".checkpoint-10.tmp-999999"), marker: "partial")
        try makeFolder(out.appendingPathComponent(".checkpoint-15.tmp-1"), marker: "live")  // PID 1 is alive
        Checkpoint.recover(outputDir: out)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out.path).sorted(),
                       [".checkpoint-15.tmp-1", "checkpoint-5", "x"])
        XCTAssertEqual(marker(out.appendingPathComponent("checkpoint-5")), "new")
        XCTAssertNil(Checkpoint.leftover("checkpoint-5"))
        XCTAssertNil(Checkpoint.leftover(".checkpoint-5.tmp-x"))
        XCTAssertEqual(Checkpoint.leftover(".checkpoint-12.old-77")?.step, 12)
    }
}
