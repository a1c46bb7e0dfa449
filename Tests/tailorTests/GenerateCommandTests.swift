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
}
