import Foundation
import TailorTestSupport
import TailorTokenizers
import XCTest

/// Every JSON file of a tokenizer folder names the file, line and column when it is not valid JSON.
final class TokenizerConfigTests: XCTestCase {
    func testMalformedFilesNameFileLineAndColumn() throws {
        for name in ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json"] {
            let url = try MalformedJSON.write(name)
            let read: () throws -> Void
            switch name {
            case "tokenizer.json": read = { _ = try Tokenizer(contentsOf: url) }
            case "tokenizer_config.json": read = { _ = try TokenizerConfig(contentsOf: url) }
            case "special_tokens_map.json": read = { _ = try SpecialTokensMap(contentsOf: url) }
            default: read = { _ = try GenerationTokenConfig(contentsOf: url) }
            }
            MalformedJSON.assertNamesPosition(url.path + ": ", read)
            XCTAssertThrowsError(try read()) { error in
                XCTAssertEqual(error as? TokenizerError, .invalidJSON(file: url.path, line: 3, column: 3,
                                                                      reason: "unexpected character '\"'; " + MalformedJSON.expected))
            }
        }
    }

    func testMalformedCompanionFileFailsTheFolder() throws {
        // A folder whose tokenizer_config.json is broken does not load with defaults: the file is named.
        let folder = TestPaths.fixture("tokenizers/qwen2")
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-tokenizer-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: folder, to: copy)
        defer { try? FileManager.default.removeItem(at: copy) }
        let config = copy.appendingPathComponent("tokenizer_config.json")
        try Data(MalformedJSON.text.utf8).write(to: config)
        MalformedJSON.assertNamesPosition(config.path + ": ") { _ = try PretrainedTokenizer(folder: copy) }
    }
}
