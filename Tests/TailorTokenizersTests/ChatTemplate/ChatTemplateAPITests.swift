import Foundation
import TailorTestSupport
import XCTest

@testable import TailorTokenizers

/// Errors, {% generation %} ranges, built-ins and reuse of one parsed template.
final class ChatTemplateAPITests: XCTestCase {
    func renderError(_ source: String, _ variables: [String: ChatValue] = [:]) -> TemplateError? {
        do {
            _ = try ChatTemplate(source: source, name: "t").render(variables: variables)
            return nil
        } catch let error as TemplateError {
            return error
        } catch {
            XCTFail("non-TemplateError \(error)")
            return nil
        }
    }

    func testSyntaxErrorNamesLineAndColumn() throws {
        let error = try XCTUnwrap(renderError("line one\n  {{ 1 + }}"))
        XCTAssertEqual(error.kind, .syntax)
        XCTAssertEqual(error.line, 2)
        XCTAssertEqual(error.column, 10)  // the `}}` where an operand was expected
        XCTAssertTrue(error.description.hasPrefix("t:2:10: syntax error"), error.description)

        let unclosed = try XCTUnwrap(renderError("a\n{% if x %}\nno end"))
        XCTAssertEqual(unclosed.kind, .syntax)
        XCTAssertTrue(unclosed.message.contains("endif"), unclosed.message)

        let unknownTag = try XCTUnwrap(renderError("{% frobnicate %}"))
        XCTAssertEqual(unknownTag.kind, .syntax)
        XCTAssertEqual(unknownTag.message, "Encountered unknown tag 'frobnicate'.")
        XCTAssertEqual(unknownTag.column, 4)
    }

    func testUnknownFilterAndTest() throws {
        let error = try XCTUnwrap(renderError("ok\n{{ x | from_json }}", ["x": "1"]))
        XCTAssertEqual(error.kind, .unknownFilter)
        XCTAssertEqual(error.message, "No filter named 'from_json'.")
        XCTAssertEqual(error.line, 2)
        XCTAssertEqual(error.column, 8)
        // Inside an `if`, jinja2 only fails when the filter runs.
        XCTAssertNil(renderError("{% if false %}{{ x | from_json }}{% endif %}"))
        XCTAssertEqual(renderError("{% if true %}{{ x | from_json }}{% endif %}")?.kind, .unknownFilter)
        XCTAssertEqual(renderError("{{ x is frobbed }}")?.kind, .unknownTest)
    }

    func testRaiseExceptionCarriesTheMessage() throws {
        let template = try ChatTemplate(source: "{% for m in messages %}\n{% if m.role == 'tool' %}{{ raise_exception('No tools: ' ~ m.role) }}{% endif %}{% endfor %}")
        XCTAssertThrowsError(try template.render(messages: [["role": "tool", "content": "x"]])) { error in
            guard let error = error as? TemplateError else { return XCTFail("\(error)") }
            XCTAssertEqual(error.kind, .raised)
            XCTAssertEqual(error.message, "No tools: tool")
            XCTAssertEqual(error.line, 2)
        }
        XCTAssertEqual(try template.render(messages: [["role": "user", "content": "x"]]).text, "")
    }

    func testUndefinedInStrictPlaces() throws {
        XCTAssertEqual(renderError("{{ nope() }}")?.kind, .undefined)
        XCTAssertEqual(renderError("{{ nope() }}")?.message, "'nope' is undefined")
        XCTAssertEqual(renderError("{{ nope.attr }}")?.kind, .undefined)
        XCTAssertEqual(renderError("{{ d.a.b }}", ["d": [:]])?.message, "'dict object' has no attribute 'a'")
        XCTAssertEqual(renderError("{{ nope + 1 }}")?.kind, .undefined)
        XCTAssertEqual(renderError("{% for x in none %}{% endfor %}")?.kind, .type)
        XCTAssertEqual(renderError("{% for x in 3 %}{% endfor %}")?.message, "'int' object is not iterable")
        // Lenient places, as in jinja2: printing, iterating, testing, defaulting.
        XCTAssertNil(renderError("{{ nope }}{% for x in nope %}{% endfor %}{{ nope is defined }}{{ nope | default('d') }}"))
        XCTAssertEqual(renderError("{% set l = [] %}{{ l.append(1) }}")?.kind, .security)
    }

    func testGenerationRangesAreScalarOffsets() throws {
        let template = try BuiltinChatTemplate.chatml.template()
        XCTAssertTrue(template.hasGenerationBlocks)
        let messages: [ChatValue] = [
            ["role": "user", "content": "Grüße 😀"],
            ["role": "assistant", "content": "Hallo — 😀!"],
            ["role": "user", "content": "again"],
            ["role": "assistant", "content": "ok"],
        ]
        let chat = try template.render(messages: messages)
        XCTAssertEqual(chat.generatedTexts, ["Hallo — 😀!<|im_end|>", "ok<|im_end|>"])
        let bytes = Array(chat.text.utf8)
        let utf8Texts = chat.generationUTF8Ranges.map { String(decoding: bytes[$0], as: UTF8.self) }
        XCTAssertEqual(utf8Texts, chat.generatedTexts)
        // Scalar offsets, as Python's str indices: the emoji counts as one.
        let prefix = "<|im_start|>user\nGrüße 😀<|im_end|>\n<|im_start|>assistant\n"
        XCTAssertEqual(chat.generationRanges.first?.lowerBound, prefix.unicodeScalars.count)
        XCTAssertFalse(try ChatTemplate(source: "{{ 'x' }}").hasGenerationBlocks)
    }

    func testGenerationInsideLoopsAndMacros() throws {
        let source = "{% macro turn(m) %}[{{ m }}]{% endmacro %}{% for m in ['a', 'bb'] %}<{% generation %}{{ turn(m) }}{% endgeneration %}>{% endfor %}"
        let chat = try ChatTemplate(source: source).render(variables: [:])
        XCTAssertEqual(chat.text, "<[a]><[bb]>")
        XCTAssertEqual(chat.generationRanges, [1..<4, 6..<10])
    }

    func testParseOnceRenderManyConcurrently() async throws {
        let template = try XCTUnwrap(try ChatTemplate.builtin(named: "Qwen2.5"))
        let messages: [ChatValue] = [["role": "user", "content": "hi"], ["role": "assistant", "content": "hello"]]
        let expected = try template.render(messages: messages, addGenerationPrompt: false).text
        let matches = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<32 {
                group.addTask { (try? template.render(messages: messages).text) == expected }
            }
            var all = true
            for await match in group { all = all && match }
            return all
        }
        XCTAssertTrue(matches)
        for _ in 0..<200 { _ = try template.render(messages: messages) }
    }

    func testBuiltinsMatchTheFixtureScriptAndLookUp() throws {
        for builtin in BuiltinChatTemplate.allCases {
            XCTAssertNoThrow(try builtin.template())
            let url = TestPaths.fixture("templates/builtin-\(builtin.rawValue).json")
            let doc = try ChatValue(json: String(decoding: try Data(contentsOf: url), as: UTF8.self))
            XCTAssertEqual(doc["source"]?.stringValue, builtin.source, "\(builtin) differs from the fixture script's copy")
        }
        XCTAssertEqual(BuiltinChatTemplate.named("LLaMA-3.1"), .llama3)
        XCTAssertEqual(BuiltinChatTemplate.named("chatml"), .chatml)
        XCTAssertEqual(BuiltinChatTemplate.named("deepseek_llm"), .deepseek)
        XCTAssertNil(BuiltinChatTemplate.named("nonesuch"))
        let alpaca = try BuiltinChatTemplate.alpaca.template().render(
            messages: [ChatMessage(role: "user", content: "Sum 2+2"), ChatMessage(role: "assistant", content: "4")],
            extra: ["eos_token": "</s>"])
        XCTAssertTrue(alpaca.text.hasSuffix("### Instruction:\nSum 2+2\n\n### Response:\n4</s>\n\n"), alpaca.text)
    }

    func testReasoningIsAliasedAsTransformersDoes() throws {
        let template = try ChatTemplate(source: "{{ messages[0] | tojson }}")
        let chat = try template.render(messages: [["role": "assistant", "content": "x", "reasoning": "r"]])
        XCTAssertEqual(chat.text, #"{"thinking": "r", "role": "assistant", "content": "x", "reasoning": "r", "reasoning_content": "r"}"#)
    }

    func testChatValueJSONKeepsOrderAndNumbers() throws {
        let value = try ChatValue(json: #"{"z": 1, "a": [1.0, 2e3, -3, "é\n\u00e9\ud83d\ude00"], "n": null}"#)
        XCTAssertEqual(value.jsonString, #"{"z": 1, "a": [1.0, 2000.0, -3, "é\né😀"], "n": null}"#)
        XCTAssertThrowsError(try ChatValue(json: "{\n  \"a\": tru }")) { error in
            XCTAssertEqual((error as? TemplateError)?.line, 2)
            XCTAssertEqual((error as? TemplateError)?.column, 8)
        }
    }
}
