import Foundation
@testable import tailor
import XCTest

/// `tailor generate --prompts FILE.jsonl`: the prompt file is read through TailorJSON.
final class GenerateCommandTests: XCTestCase {
    func prompts(_ text: String) throws -> (GenerateCommand, String) {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-prompts-\(UUID().uuidString).jsonl")
        try Data(text.utf8).write(to: url)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return (try GenerateCommand.parse(["--model", "unused", "--prompts", url.path]), url.path)
    }

    func testPromptsAndMessagesAreRead() throws {
        let (command, path) = try prompts(#"{"prompt": "hi é"}"# + "\n\n" + #"{"messages": [{"role": "user", "content": "a/b"}]}"# + "\n")
        let items = try command.readPrompts(path)
        XCTAssertEqual(items.map(\.text), ["hi é", "a/b"])
        XCTAssertEqual(items[1].messages?.first?.role, "user")
    }

    func testBadLineNamesFileLineAndColumn() throws {
        let (command, path) = try prompts(#"{"prompt": "a"}"# + "\n" + #"{"prompt" "b"}"# + "\n")
        XCTAssertThrowsError(try command.readPrompts(path)) { error in
            XCTAssertEqual("\(error)", path + #":2: not valid JSON at column 11: unexpected character '"'; expected ':' after the key "prompt""#)
        }
    }

    /// A negative number after a numeric option is read as its value and refused with the real
    /// constraint (it used to be taken for a flag: "Missing value").
    func testNegativeNumbersAreValuesAndAreRefusedWithTheirConstraint() throws {
        let cases: [([String], String)] = [
            (["--max-new-tokens", "-5"], "--max-new-tokens must be ≥ 1 (got -5)"),
            (["--max-new-tokens", "0"], "--max-new-tokens must be ≥ 1 (got 0)"),
            (["--temperature", "-0.5"], "'temperature' = -0.5 must be a strictly positive number"),
            (["--top-k", "-1"], "'top_k' = -1 must be 0 (off) or a positive integer"),
            (["--batch-size", "-2"], "--batch-size must be ≥ 1 (got -2)"),
        ]
        for (flags, expected) in cases {
            XCTAssertThrowsError(try GenerateCommand.parse(["--model", "unused", "--prompt", "hi"] + flags), "\(flags)") { error in
                let message = GenerateCommand.message(for: error)
                XCTAssertTrue(message.contains(expected), "\(flags): \(message)")
                XCTAssertFalse(message.contains("Missing value"), message)
            }
        }
        XCTAssertEqual(try GenerateCommand.parse(["--model", "m", "--prompt", "hi", "--temperature", "0.5"]).options.temperature, 0.5)
        XCTAssertThrowsError(try DataSplitCommand.parse(["x.json", "--val-size", "-0.1"])) { error in
            XCTAssertTrue(DataSplitCommand.message(for: error).contains("--val-size must be a share in [0, 1)"), DataSplitCommand.message(for: error))
        }
        XCTAssertThrowsError(try DataPreviewCommand.parse(["x.json", "--index", "-1"])) { error in
            XCTAssertTrue(DataPreviewCommand.message(for: error).contains("--index must be ≥ 0 (got -1)"), DataPreviewCommand.message(for: error))
        }
    }

    /// --output naming the --prompts file (by any path) would overwrite the prompts: refused.
    func testOutputThatIsThePromptsFileIsRefused() throws {
        let (_, path) = try prompts(#"{"prompt": "a"}"# + "\n")
        let url = URL(fileURLWithPath: path)
        let link = url.deletingLastPathComponent().appendingPathComponent("link-\(UUID().uuidString).jsonl")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: url)
        addTeardownBlock { try? FileManager.default.removeItem(at: link) }
        for output in [path, url.deletingLastPathComponent().path + "/./" + url.lastPathComponent, link.path] {
            XCTAssertThrowsError(try GenerateCommand.parse(["--model", "m", "--prompts", path, "--output", output])) { error in
                XCTAssertTrue(GenerateCommand.message(for: error).contains("is the --prompts file: writing the results would overwrite the prompts"),
                              GenerateCommand.message(for: error))
            }
        }
        XCTAssertNoThrow(try GenerateCommand.parse(["--model", "m", "--prompts", path, "--output", path + ".out"]))
    }
}
