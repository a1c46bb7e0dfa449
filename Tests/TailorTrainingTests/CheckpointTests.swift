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
}
