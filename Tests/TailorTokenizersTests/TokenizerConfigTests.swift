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

    /// A copy of the qwen2 tokenizer folder, removed at the end of the test.
    func folderCopy() throws -> URL {
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-tokenizer-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: TestPaths.fixture("tokenizers/qwen2"), to: copy)
        addTeardownBlock { try? FileManager.default.removeItem(at: copy) }
        return copy
    }

    /// A chat template that does not parse names the file it came from: tokenizer_config.json's
    /// chat_template, or chat_template.jinja, which transformers reads in its place when present.
    func testChatTemplateErrorsNameTheFileTheTemplateCameFrom() throws {
        let copy = try folderCopy()
        let config = copy.appendingPathComponent("tokenizer_config.json")
        var object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: config)) as? [String: Any])
        object["chat_template"] = "{% for m in messages %}{{ m.content }"
        try JSONSerialization.data(withJSONObject: object).write(to: config)
        XCTAssertEqual(try PretrainedTokenizer(folder: copy).chatTemplateSource?.name, config.path + " (chat_template)")
        XCTAssertThrowsError(try PretrainedTokenizer(folder: copy).parsedChatTemplate()) { error in
            guard let error = error as? TemplateError else { return XCTFail("\(error)") }
            XCTAssertEqual(error.kind, .syntax)
            XCTAssertTrue("\(error)".hasPrefix(config.path + " (chat_template):1:"), "\(error)")
        }
        let jinja = copy.appendingPathComponent("chat_template.jinja")
        try Data("{{ 'hi' }}\n{% if %}".utf8).write(to: jinja)
        XCTAssertThrowsError(try PretrainedTokenizer(folder: copy).parsedChatTemplate()) { error in
            XCTAssertTrue("\(error)".hasPrefix(jinja.path + ":2:"), "\(error)")
        }
        // chat_template.jinja wins over tokenizer_config.json's template, as in transformers.
        try Data("{{ 'from the jinja file' }}".utf8).write(to: jinja)
        let tokenizer = try PretrainedTokenizer(folder: copy)
        XCTAssertEqual(tokenizer.chatTemplate, "{{ 'from the jinja file' }}")
        XCTAssertEqual(try tokenizer.parsedChatTemplate()?.render(variables: [:]).text, "from the jinja file")
        try Data([0x7B, 0x7B, 0xFF]).write(to: jinja)
        XCTAssertThrowsError(try PretrainedTokenizer(folder: copy)) { error in
            XCTAssertEqual(error as? TokenizerError, .fileNotReadable(file: jinja.path, reason: "cannot be read as UTF-8 text"))
        }
    }

    /// tokenizer_config.json that starts with a UTF-8 byte order mark reads (TailorJSON skips it).
    func testByteOrderMarkAtTheStartIsSkipped() throws {
        let copy = try folderCopy()
        let config = copy.appendingPathComponent("tokenizer_config.json")
        try Data([0xEF, 0xBB, 0xBF] + (try Data(contentsOf: config))).write(to: config)
        XCTAssertEqual(try PretrainedTokenizer(folder: copy).eosToken, try PretrainedTokenizer(folder: TestPaths.fixture("tokenizers/qwen2")).eosToken)
    }
}
