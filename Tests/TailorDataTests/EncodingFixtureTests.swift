import Foundation
import XCTest
import TailorTestSupport
import TailorTokenizers
@testable import TailorData

/// Token-for-token agreement with transformers (Tests/Fixtures/data/encoding.json, written by
/// scripts/reference/make_data_fixtures.py): record -> Conversation -> rendered text -> ids + labels.
final class EncodingFixtureTests: XCTestCase {
    func testEncodingMatchesTransformers() throws {
        let text = try String(contentsOf: TestPaths.fixture("data/encoding.json"), encoding: .utf8)
        guard case .array(let cases)? = try ChatValue(json: text)["cases"] else { return XCTFail("no cases") }
        var checked = 0, skipped: [String] = []
        var tokenizers: [String: Tokenizer] = [:]
        for c in cases {
            let id = c["id"]?.stringValue ?? "?"
            let tokName = c["tokenizer"]?.stringValue ?? ""
            let tok = try tokenizers[tokName] ?? DataTestSupport.tokenizer(tokName)
            tokenizers[tokName] = tok
            // Template.
            var template: ChatTemplate? = nil
            if let name = c["template"]?.stringValue, name != "raw" {
                template = try XCTUnwrap(try ChatTemplate.builtin(named: name), id)
            } else if let shared = c["shared_template"]?.stringValue {
                guard let url = TestPaths.sharedFile("templates/\(shared)") else { skipped.append(id); continue }
                template = try ChatTemplate(source: String(contentsOf: url, encoding: .utf8), name: shared)
            }
            // Record -> Conversation.
            let format = try XCTUnwrap(DatasetFormat(rawValue: c["format"]?.stringValue ?? ""), id)
            var columns: ColumnTemplate? = nil
            if let ct = c["column_template"] {
                columns = ColumnTemplate(prompt: ct["prompt"]?.stringValue ?? "", response: ct["response"]?.stringValue ?? "")
            }
            let record = Record(value: try XCTUnwrap(c["record"]), source: SourceLocation(file: id, line: 1, index: 0))
            let conversation = try RecordConverter(format: format, columnTemplate: columns).convert(record)
            if case .array(let expected)? = c["messages"] {
                XCTAssertEqual(conversation.messages.map(\.role.rawValue), expected.map { $0["role"]?.stringValue ?? "" }, id)
                XCTAssertEqual(conversation.messages.map(\.content), expected.map { $0["content"]?.stringValue ?? "" }, id)
            }
            var extra: [String: ChatValue] = [:]
            if case .object(let o)? = c["extra"] { for (k, v) in o { extra[k] = v } }
            let encoder = try ConversationEncoder(
                tokenizer: tok, template: template, bosToken: c["bos_token"]?.stringValue,
                eosToken: c["eos_token"]?.stringValue, options: EncodingOptions(templateVariables: extra))
            if let expectedText = c["text"]?.stringValue, conversation.text == nil {
                XCTAssertEqual(try encoder.render(conversation).text, expectedText, id)
            }
            let sample = try encoder.encodeFull(conversation)
            let ids = ints(c["input_ids"]), labels = ints(c["labels"])
            XCTAssertEqual(sample.inputIds, ids, "\(id): input_ids")
            XCTAssertEqual(sample.labels, labels, "\(id): labels")
            if sample.labels != labels { print(id, "first difference at", zip(sample.labels, labels).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? -1) }
            checked += 1
        }
        XCTAssertGreaterThanOrEqual(checked, 40)
        if !skipped.isEmpty { print("EncodingFixtureTests: skipped \(skipped.count) cases (../shared/templates absent)") }
    }

    private func ints(_ v: ChatValue?) -> [Int32] {
        guard case .array(let a)? = v else { return [] }
        return a.compactMap { if case .int(let i) = $0 { return Int32(i) } else { return nil } }
    }
}
