import Foundation
import XCTest
import TailorTestSupport
import TailorTokenizers
@testable import TailorData

/// `DatasetOptions` and `DatasetEncoder`: the one encoding path of `tailor data` and `tailor train`.
final class DatasetEncoderTests: XCTestCase {
    let at = SourceLocation(file: "t.jsonl", line: 3, index: 2)

    func pretrained() throws -> PretrainedTokenizer {
        try PretrainedTokenizer(folder: TestPaths.fixture("tokenizers/qwen2"))
    }

    func chat() -> Conversation {
        Conversation(messages: [Message(role: .user, content: "one two three four five six seven eight"),
                                Message(role: .assistant, content: "nine ten")], source: at)
    }

    func testTruncationNamesIncludeTRLsModes() {
        XCTAssertEqual(EncodingOptions.Truncation.named("keep_start"), .right)
        XCTAssertEqual(EncodingOptions.Truncation.named("keep_end"), .left)
        for mode in EncodingOptions.Truncation.allCases { XCTAssertEqual(EncodingOptions.Truncation.named(mode.rawValue), mode) }
        XCTAssertNil(EncodingOptions.Truncation.named("middle"))
        XCTAssertEqual(EncodingOptions.Truncation.names, ["keep_response", "right", "left", "drop", "keep_start", "keep_end"])
    }

    /// keep_end (left) keeps the last tokens, as TRL's truncation_mode keep_end does.
    func testLeftTruncationKeepsTheLastTokens() throws {
        let full = try DatasetEncoder(options: DatasetOptions(), tokenizer: pretrained()).conversations!.encodeFull(chat())
        let options = DatasetOptions(maxLength: 6, truncation: .left)
        var issues: [DataIssue] = []
        let cut = try XCTUnwrap(try DatasetEncoder(options: options, tokenizer: pretrained()).encode(chat(), issues: &issues))
        XCTAssertEqual(cut.inputIds, Array(full.inputIds.suffix(6)))
        XCTAssertEqual(cut.labels, Array(full.labels.suffix(6)))
        XCTAssertEqual(cut.truncatedTokens, full.count - 6)
        XCTAssertEqual(issues.map(\.kind), [.truncated])
        XCTAssertTrue(issues[0].message.contains("cut \(full.count - 6) tokens from the start"), issues[0].message)
    }

    func testTemplateIsABuiltinNameOrAJinjaFile() throws {
        XCTAssertNil(try DatasetOptions().chatTemplate())
        XCTAssertNotNil(try DatasetOptions(template: "chatml").chatTemplate())
        let path = TestPaths.fixture("data/parity.jinja").path
        let fromFile = try XCTUnwrap(try DatasetOptions(template: path).chatTemplate())
        let text = try fromFile.render(messages: chat().messages.map(\.chatValue), addGenerationPrompt: false, extra: ["eos_token": .string("</s>")]).text
        XCTAssertTrue(text.hasPrefix("### user:\none two"), text)
        XCTAssertThrowsError(try DatasetOptions(template: "no-such-template").chatTemplate()) { error in
            XCTAssertTrue("\(error)".contains("option template: 'no-such-template' is not a built-in template"), "\(error)")
            XCTAssertTrue("\(error)".contains("chatml"), "\(error)")
        }
        XCTAssertThrowsError(try DatasetOptions(template: "/no/such/file.jinja").chatTemplate()) { error in
            XCTAssertTrue("\(error)".contains("/no/such/file.jinja cannot be read"), "\(error)")
        }
    }

    func testLoadAddsTheSystemPromptAndReadsColumnTemplates() throws {
        let path = try DataTestSupport.tempFile("d.jsonl", """
        {"messages": [{"role": "system", "content": "Own."}, {"role": "user", "content": "u"}, {"role": "assistant", "content": "a"}]}
        {"Question": "q?", "Answer": "a."}
        """)
        // Mixed formats: the first record is messages, the second fits none without a column template.
        XCTAssertThrowsError(try DatasetEncoder.load(paths: [path], options: DatasetOptions()))
        let columns = DatasetOptions(promptTemplate: #"Q: {Question}\n"#, responseTemplate: "{Answer}", systemPrompt: "Be brief.",
                                     skipInvalid: true)
        XCTAssertEqual(columns.loaderOptions.format, .columns)
        XCTAssertEqual(columns.columnTemplate, ColumnTemplate(prompt: "Q: {Question}\n", response: "{Answer}"),
                       "a written \\n is a newline")
        let loaded = try DatasetEncoder.load(paths: [path], options: columns)
        XCTAssertEqual(loaded.skipped.count, 1, "the messages record has no Question column")
        XCTAssertEqual(loaded.conversations.map { $0.messages.map(\.content) }, [["Be brief.", "Q: q?\n", "a."]])
        let own = try DatasetEncoder.load(paths: [path], options: DatasetOptions(format: .messages, systemPrompt: "Be brief.", skipInvalid: true))
        XCTAssertEqual(own.conversations.first?.messages.first?.content, "Own.", "a sample's own system turn wins")
    }

    func testEncodeTakesConversationsAndTokenizedRecordsInOrder() throws {
        let path = try DataTestSupport.tempFile("d.jsonl", """
        {"messages": [{"role": "user", "content": "u"}, {"role": "assistant", "content": "a"}]}
        {"input_ids": [1, 2, 3, 4, 5]}
        """)
        let options = DatasetOptions(maxLength: 4)
        let loaded = try DatasetEncoder.load(paths: [path], options: options)
        let withModel = try DatasetEncoder(options: options, tokenizer: pretrained()).encode(loaded)
        XCTAssertEqual(withModel.samples.count, 2)
        XCTAssertEqual(withModel.samples[1].inputIds, [1, 2, 3, 4])
        let without = try DatasetEncoder(options: options, tokenizer: nil)
        XCTAssertEqual(try without.encode(loaded).samples.map(\.inputIds), [[1, 2, 3, 4]], "only the tokenized record without a tokenizer")
        var issues: [DataIssue] = []
        XCTAssertThrowsError(try without.encode(loaded.conversations[0], issues: &issues))
    }
}
