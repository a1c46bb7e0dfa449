import Foundation
import TailorTestSupport
import XCTest

@testable import TailorTokenizers

/// Renders every template in Tests/Fixtures/templates (written by
/// scripts/reference/make_template_fixtures.py with transformers' own renderer) and checks the
/// text is byte-identical, the {% generation %} ranges equal transformers' indices, and cases
/// where transformers raises also throw here.
final class ChatTemplateFixtureTests: XCTestCase {
    struct Outcome {
        var passed = 0
        var failed: [String] = []
    }

    /// 2024-07-26 12:00:00 local time, the moment the fixture script pins `strftime_now` to.
    static let pinnedNow: Date = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .current
        return calendar.date(from: DateComponents(year: 2024, month: 7, day: 26, hour: 12)) ?? Date()
    }()

    func loadJSON(_ url: URL) throws -> ChatValue {
        try ChatValue(json: String(decoding: try Data(contentsOf: url), as: UTF8.self))
    }

    func testAllTemplatesMatchTransformers() throws {
        let index = try loadJSON(TestPaths.fixture("templates/index.json"))
        let shared = try loadJSON(TestPaths.fixture("templates/conversations.json"))
        guard case .array(let names)? = index["templates"], let conversations = shared["conversations"],
            case .array(let tools)? = shared["tools"]
        else { return XCTFail("index.json or conversations.json is malformed") }

        var report: [(String, Outcome)] = []
        var skipped: [String] = []
        for case .string(let name) in names {
            let doc = try loadJSON(TestPaths.fixture("templates/\(name).json"))
            let source: String
            if let file = doc["file"]?.stringValue {
                guard let url = TestPaths.sharedFile("templates/\(file)") else {
                    skipped.append(name)
                    continue
                }
                source = try String(contentsOf: url, encoding: .utf8)
            } else if let inline = doc["source"]?.stringValue {
                source = inline
            } else {
                XCTFail("\(name): fixture has neither file nor source")
                continue
            }
            report.append((name, check(name: name, source: source, doc: doc, conversations: conversations, tools: tools)))
        }

        var lines = ["template".padding(toLength: 48, withPad: " ", startingAt: 0) + " passed/total"]
        var totalPassed = 0
        var total = 0
        for (name, outcome) in report {
            let count = outcome.passed + outcome.failed.count
            totalPassed += outcome.passed
            total += count
            lines.append(name.padding(toLength: 48, withPad: " ", startingAt: 0) + " \(outcome.passed)/\(count)")
            for failure in outcome.failed { XCTFail("\(name): \(failure)") }
        }
        lines.append("TOTAL \(totalPassed)/\(total) cases in \(report.count) templates")
        print(lines.joined(separator: "\n"))
        if !skipped.isEmpty {
            print("skipped (../shared/templates absent): \(skipped.joined(separator: ", "))")
        }
        if report.isEmpty { throw XCTSkip("../shared/templates is absent; no template fixtures could be checked") }
    }

    func check(name: String, source: String, doc: ChatValue, conversations: ChatValue, tools: [ChatValue]) -> Outcome {
        var outcome = Outcome()
        let template: ChatTemplate
        let parseError: TemplateError?
        do {
            template = try ChatTemplate(source: source, name: name)
            parseError = nil
        } catch let error as TemplateError {
            template = (try? ChatTemplate(source: "")) ?? (try! ChatTemplate(source: ""))
            parseError = error
        } catch {
            outcome.failed.append("parse threw a non-TemplateError \(error)")
            return outcome
        }
        guard case .array(let cases)? = doc["cases"] else { return outcome }
        for (i, testCase) in cases.enumerated() {
            let label = "case \(i) (\(testCase["conversation"]?.stringValue ?? "?"), agp=\(testCase["add_generation_prompt"] == .bool(true)))"
            guard case .array(let messages)? = conversations[testCase["conversation"]?.stringValue ?? ""],
                case .object(let kwargs)? = testCase["kwargs"]
            else {
                outcome.failed.append("\(label): malformed case")
                continue
            }
            var extra: [String: ChatValue] = [:]
            for (key, value) in kwargs { extra[key] = value }
            let result: Result<RenderedChat, Error>
            if let parseError {
                result = .failure(parseError)
            } else {
                result = Result {
                    try template.render(
                        messages: messages, addGenerationPrompt: testCase["add_generation_prompt"] == .bool(true),
                        tools: testCase["tools"] == .bool(true) ? tools : nil, extra: extra, now: Self.pinnedNow)
                }
            }
            switch (result, testCase["expected"]?.stringValue, testCase["error"]) {
            case (.success(let rendered), let expected?, _):
                if rendered.text != expected {
                    outcome.failed.append("\(label): text differs \(firstDifference(rendered.text, expected))")
                    continue
                }
                if case .array(let ranges)? = testCase["generation_ranges"] {
                    let expectedRanges = ranges.compactMap { r -> Range<Int>? in
                        guard case .array(let pair) = r, pair.count == 2, case .int(let a) = pair[0], case .int(let b) = pair[1]
                        else { return nil }
                        return a..<b
                    }
                    if rendered.generationRanges != expectedRanges {
                        outcome.failed.append("\(label): generation ranges \(rendered.generationRanges) != \(expectedRanges)")
                        continue
                    }
                }
                outcome.passed += 1
            case (.failure(let error), _?, _):
                outcome.failed.append("\(label): threw \(error), transformers renders it")
            case (.success, nil, let expectedError?):
                outcome.failed.append("\(label): rendered, but transformers raises \(expectedError.jsonString)")
            case (.failure(let error), nil, let expectedError?):
                guard let error = error as? TemplateError else {
                    outcome.failed.append("\(label): threw a non-TemplateError \(error)")
                    continue
                }
                // raise_exception's message must arrive unchanged.
                if expectedError["type"]?.stringValue == "TemplateError",
                    error.kind != .raised || error.message != expectedError["message"]?.stringValue
                {
                    outcome.failed.append("\(label): expected raise_exception \(expectedError.jsonString), got \(error)")
                    continue
                }
                outcome.passed += 1
            default:
                outcome.failed.append("\(label): fixture has neither expected text nor error")
            }
        }
        return outcome
    }

    func firstDifference(_ a: String, _ b: String) -> String {
        let x = Array(a.unicodeScalars)
        let y = Array(b.unicodeScalars)
        var i = 0
        while i < min(x.count, y.count) && x[i] == y[i] { i += 1 }
        func around(_ s: [Unicode.Scalar]) -> String {
            pythonStringRepr(PyString.string(s[max(0, i - 40)..<min(s.count, i + 40)]))
        }
        return "at scalar \(i) (lengths \(x.count) vs \(y.count)):\n  tailor:       \(around(x))\n  transformers: \(around(y))"
    }
}
