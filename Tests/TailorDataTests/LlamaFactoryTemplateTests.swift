import Foundation
import XCTest
import TailorTestSupport
import TailorTokenizers
@testable import TailorData

/// LLaMA-Factory's templates, token for token and label for label, against LLaMA-Factory's own
/// template code (Tests/Fixtures/data/llamafactory_templates.json, written by
/// scripts/reference/make_llamafactory_template_fixtures.py).
final class LlamaFactoryTemplateTests: XCTestCase {
    func testEncodingMatchesLlamaFactory() throws {
        let text = try String(contentsOf: TestPaths.fixture("data/llamafactory_templates.json"), encoding: .utf8)
        guard case .array(let cases)? = try ChatValue(json: text)["cases"] else { return XCTFail("no cases") }
        var tokenizers: [String: Tokenizer] = [:]
        var checked = Set<String>()
        for c in cases {
            let id = c["id"]?.stringValue ?? "?"
            let name = try XCTUnwrap(c["template"]?.stringValue, id)
            let template = try XCTUnwrap(LlamaFactoryTemplate.named(name), id)
            let tokName = c["tokenizer"]?.stringValue ?? ""
            let tok = try tokenizers[tokName] ?? DataTestSupport.tokenizer(tokName)
            tokenizers[tokName] = tok
            guard case .array(let raw)? = c["messages"] else { return XCTFail("\(id): no messages") }
            let messages = try raw.map { m in
                Message(role: try XCTUnwrap(Role(rawValue: m["role"]?.stringValue ?? ""), id), content: m["content"]?.stringValue ?? "")
            }
            var options = EncodingOptions()
            options.maskHistory = c["mask_history"] == .bool(true)
            options.templateVariables["enable_thinking"] = c["enable_thinking"]
            let encoder = try ConversationEncoder(tokenizer: tok, template: nil, llamaFactory: template,
                                                  bosToken: c["bos_token"]?.stringValue, eosToken: c["eos_token"]?.stringValue,
                                                  options: options)
            let sample = try encoder.encodeFull(Conversation(messages: messages, source: SourceLocation(file: id, line: 1, index: 0)))
            XCTAssertEqual(sample.inputIds, try ints(c["input_ids"], id), "\(id) ids")
            XCTAssertEqual(sample.labels, try ints(c["labels"], id), "\(id) labels")
            checked.insert(name)
        }
        XCTAssertEqual(checked, Set(LlamaFactoryTemplate.names), "every template has fixture cases")
    }

    func ints(_ value: ChatValue?, _ id: String) throws -> [Int32] {
        guard case .array(let items)? = value else { throw XCTSkip("\(id): no ids") }
        return try items.map { item in
            guard case .int(let n) = item, let narrow = Int32(exactly: n) else { throw DataError.invalidOption(name: id, reason: "not an id") }
            return narrow
        }
    }

    func testNamesResolveAfterBuiltinsAndWithPrefix() throws {
        XCTAssertEqual(DatasetOptions(template: "qwen3_nothink").llamaFactoryTemplate()?.name, "qwen3_nothink")
        XCTAssertNil(try DatasetOptions(template: "qwen3_nothink").chatTemplate())
        XCTAssertNil(DatasetOptions(template: "qwen").llamaFactoryTemplate(), "Tailor's built-in qwen keeps its name")
        XCTAssertNotNil(try DatasetOptions(template: "qwen").chatTemplate())
        XCTAssertEqual(DatasetOptions(template: "llamafactory:qwen").llamaFactoryTemplate()?.name, "qwen")
        XCTAssertThrowsError(try DatasetOptions(template: "llamafactory:nonesuch").chatTemplate()) { error in
            XCTAssertTrue("\(error)".contains("qwen3_nothink"), "\(error)")
        }
    }

    func testRolesMustAlternate() throws {
        let encoder = try ConversationEncoder(tokenizer: DataTestSupport.tokenizer("qwen2"), template: nil,
                                              llamaFactory: LlamaFactoryTemplate.named("qwen3_nothink"), eosToken: "<|im_end|>")
        let at = SourceLocation(file: "d.jsonl", line: 3, index: 2)
        let bad = Conversation(messages: [Message(role: .user, content: "a"), Message(role: .user, content: "b")], source: at)
        XCTAssertThrowsError(try encoder.encodeFull(bad)) { error in
            XCTAssertTrue("\(error)".contains("d.jsonl") && "\(error)".contains("message 2 is 'user', expected 'assistant'"), "\(error)")
        }
        let odd = Conversation(messages: [Message(role: .user, content: "a")], source: at)
        XCTAssertThrowsError(try encoder.encodeFull(odd))
    }

    func testRemoveThought() {
        XCTAssertEqual(LlamaFactoryTemplate.removeThought("<think>\nA.\n</think>\n\n\nAnswer"), "Answer")
        XCTAssertEqual(LlamaFactoryTemplate.removeThought("x<think>\na\n</think>\n\ny<think>\nb\n</think>\n\nz"), "xyz")
        XCTAssertEqual(LlamaFactoryTemplate.removeThought("no thought"), "no thought")
    }
}
