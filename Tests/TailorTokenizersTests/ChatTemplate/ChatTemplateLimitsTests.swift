import Foundation
import TailorTestSupport
import XCTest

@testable import TailorTokenizers

/// Issue 27: a template from a stranger's model folder must not crash or hang the program. Integers
/// beyond 64 bits, huge strings and lists, and runaway loops stop with a `TemplateError` naming the
/// template, the line and the column.
final class ChatTemplateLimitsTests: XCTestCase {
    func renderError(_ source: String, file: StaticString = #filePath, line: UInt = #line) -> TemplateError? {
        do {
            _ = try ChatTemplate(source: source, name: "m/tokenizer_config.json").render(variables: [:])
            XCTFail("rendered without an error: \(source)", file: file, line: line)
            return nil
        } catch let error as TemplateError {
            return error
        } catch {
            XCTFail("non-TemplateError \(error)", file: file, line: line)
            return nil
        }
    }

    /// `{{ '1e300' | int }}` (once `Int(d)` on the string's float): Python gives a big integer; Tailor says it has none.
    func testIntFilterOfAHugeFloatStringIsAClearError() throws {
        let error = try XCTUnwrap(renderError("{{ '1e300' | int }}"))
        XCTAssertEqual(error.kind, .limit)
        XCTAssertEqual(error.description, "m/tokenizer_config.json:1:14: stopped: int: 1e+300 does not fit a 64-bit integer (Tailor's templates have no big integers)")
    }

    /// The double path: `{{ 1e300 | int }}` and `'%d' % 1e300`; NaN as Python's ValueError.
    func testIntOfAHugeFloatIsAClearError() throws {
        XCTAssertEqual(try XCTUnwrap(renderError("{{ 1e300 | int }}")).kind, .limit)
        XCTAssertEqual(try XCTUnwrap(renderError("{{ -1e19 | int }}")).kind, .limit)
        XCTAssertEqual(try XCTUnwrap(renderError("{{ '%d' % 1e300 }}")).kind, .limit)
        XCTAssertTrue(try XCTUnwrap(renderError("{{ '%d' % ('nan' | float) }}")).message.contains("cannot convert float nan"))
        // What fits still converts as Python does (truncating toward zero).
        XCTAssertEqual(try ChatTemplate(source: "{{ -2.9 | int }} {{ '9e18' | int }} {{ '%d' % 7.9 }}").render(variables: [:]).text,
                       "-2 9000000000000000000 7")
        // '%f' of a large float is Python's exact expansion (it once went through Int too).
        let big = try ChatTemplate(source: "{{ '%f' % 1e300 }}|{{ '%.2f' % 1e10 }}|{{ '{:.1f}'.format(-123456789012.25) }}").render(variables: [:]).text
        XCTAssertEqual(big, "1000000000000000052504760255204420248704468581108159154915854115511802457988908195786371375080447864043704443832883878176942523235360430575644792184786706982848387200926575803737830233794788090059368953234970799945081119038967640880074652742780142494579258788820056842838115669472196386865459400540160.000000|10000000000.00|-123456789012.2")
    }

    /// `{{ 'x' * 10000000000 }}` once aborted on allocation.
    func testHugeStringRepeatIsAClearError() throws {
        let error = try XCTUnwrap(renderError("hello\n{{ 'x' * 10000000000 }}"))
        XCTAssertEqual(error.kind, .limit)
        XCTAssertEqual(error.line, 2)
        XCTAssertTrue(error.description.hasPrefix("m/tokenizer_config.json:2:"), error.description)
        XCTAssertTrue(error.message.contains("would make a string of 10000000000 bytes"), error.message)
        XCTAssertEqual(try XCTUnwrap(renderError("{{ 'xy' * 9223372036854775807 }}")).kind, .limit)  // the size overflows
        XCTAssertEqual(try XCTUnwrap(renderError("{{ [1] * 100000000000 }}")).kind, .limit)
        XCTAssertEqual(try XCTUnwrap(renderError("{{ 'a'.ljust(100000000000) }}")).kind, .limit)
        XCTAssertEqual(try XCTUnwrap(renderError("{{ '{:>100000000000}'.format(1) }}")).kind, .limit)
        XCTAssertEqual(try XCTUnwrap(renderError("{{ '%.100000000000f' % 1 }}")).kind, .limit)
        XCTAssertEqual(try XCTUnwrap(renderError("{{ 'a\nb' | indent(100000000000) }}")).kind, .limit)
    }

    /// A string doubled in a loop grows past any memory within 40 steps.
    func testDoublingStringIsAClearError() throws {
        let source = "{% set ns = namespace(s='x') %}{% for i in range(100) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s | length }}"
        XCTAssertEqual(try XCTUnwrap(renderError(source)).kind, .limit)
    }

    /// Two nested `range(100000)` loops (10^10 iterations) once hung; they stop at the step limit.
    func testNestedHugeLoopsStopAtTheStepLimit() throws {
        let start = Date()
        let error = try XCTUnwrap(renderError("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"))
        XCTAssertEqual(error.kind, .limit)
        XCTAssertTrue(error.message.contains("more than 1000000 loop iterations"), error.message)
        XCTAssertTrue(error.description.hasPrefix("m/tokenizer_config.json:1:"), error.description)
        XCTAssertLessThan(Date().timeIntervalSince(start), 120)
        // Unnamed templates are "chat template".
        do {
            _ = try ChatTemplate(source: "{{ 'x' * 10000000000 }}").render(variables: [:])
            XCTFail("rendered")
        } catch let error as TemplateError {
            XCTAssertTrue(error.description.hasPrefix("chat template:1:"), error.description)
        }
    }

    /// Macros calling themselves twice per level: exponential calls, bounded by the same step count.
    func testExponentialMacroCallsStopAtTheStepLimit() throws {
        let source = "{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(60) }}"
        XCTAssertEqual(try XCTUnwrap(renderError(source)).kind, .limit)
    }

    /// `range` with bounds whose difference overflows is "too big", not a trap; a reversed one is empty.
    func testRangeWithOverflowingBounds() throws {
        XCTAssertEqual(try XCTUnwrap(renderError("{{ range(-9223372036854775807, 9223372036854775807) }}")).kind, .security)
        XCTAssertEqual(try ChatTemplate(source: "{{ range(9223372036854775807, -9223372036854775807) | list }}|{{ range(5, 0, -2) | list }}")
                        .render(variables: [:]).text, "[]|[5, 3, 1]")
    }

    /// A flat chain (`1+1+…`, `x.a.a…`, `x|f|f…`) builds a tree as deep as it is long, which the
    /// renderer recursed down until the stack overflowed (signal 11 at 50,000 links): refused past
    /// 1000 links per expression, while a loop body with many short expressions still parses.
    func testLongFlatChainsAreRefusedNotACrash() throws {
        for chain in ["{{ 1" + String(repeating: "+1", count: 50_000) + " }}",
                      "{{ x" + String(repeating: ".a", count: 5_000) + " }}",
                      "{{ 'a'" + String(repeating: "|trim", count: 5_000) + " }}",
                      "{% if " + Array(repeating: "true", count: 5_000).joined(separator: " and ") + " %}y{% endif %}"] {
            XCTAssertThrowsError(try ChatTemplate(source: chain, name: "m/tokenizer_config.json")) { error in
                guard let error = error as? TemplateError else { return XCTFail("\(error)") }
                XCTAssertEqual(error.kind, .limit)
                XCTAssertTrue(error.message.contains("chains more than 1000 operators"), error.message)
            }
        }
        let many = "{% for m in messages %}" + String(repeating: "{{ m.content | trim + '.' ~ m.role }}", count: 600) + "{% endfor %}"
        let rendered = try ChatTemplate(source: many, name: "many").render(messages: [.object(["role": .string("user"), "content": .string(" a ")])])
        XCTAssertEqual(rendered.text, String(repeating: "a.user", count: 600))
    }
}
