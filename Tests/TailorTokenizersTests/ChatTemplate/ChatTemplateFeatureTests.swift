import Foundation
import TailorTestSupport
import XCTest

@testable import TailorTokenizers

/// One Jinja feature per snippet (literals, operators, filters, tests, methods, loops, scoping,
/// macros, whitespace control ...), each rendered by transformers into Tests/Fixtures/templates/features.json.
final class ChatTemplateFeatureTests: XCTestCase {
    /// Python exception type -> the TemplateError kinds that stand for it.
    static let kinds: [String: Set<TemplateError.Kind>] = [
        "TemplateError": [.raised],
        "TemplateAssertionError": [.unknownFilter, .unknownTest],
        "TemplateSyntaxError": [.syntax],
        "SyntaxError": [.syntax],
        "UndefinedError": [.undefined],
        "TypeError": [.type],
        "SecurityError": [.security],
        "ZeroDivisionError": [.runtime],
    ]

    func testFeaturesMatchTransformers() throws {
        let text = String(decoding: try Data(contentsOf: TestPaths.fixture("templates/features.json")), as: UTF8.self)
        guard case .array(let cases)? = try ChatValue(json: text)["cases"] else { return XCTFail("features.json is malformed") }
        var passed = 0
        for testCase in cases {
            guard let name = testCase["name"]?.stringValue, let source = testCase["source"]?.stringValue,
                case .object(let variables)? = testCase["variables"]
            else { return XCTFail("malformed feature case") }
            var values: [String: ChatValue] = ["messages": [], "tools": nil, "documents": nil, "add_generation_prompt": false]
            for (key, value) in variables { values[key] = value }
            let result = Result { try ChatTemplate(source: source, name: name).render(variables: values, now: ChatTemplateFixtureTests.pinnedNow) }
            switch (result, testCase["expected"]?.stringValue) {
            case (.success(let rendered), let expected?):
                if rendered.text == expected {
                    passed += 1
                } else {
                    XCTFail("\(name): got \(pythonStringRepr(rendered.text))\n  transformers: \(pythonStringRepr(expected))")
                }
            case (.failure(let error), _?):
                XCTFail("\(name): threw \(error), transformers renders it")
            case (.success(let rendered), nil):
                XCTFail("\(name): rendered \(pythonStringRepr(rendered.text)), transformers raises \(testCase["error"]?.jsonString ?? "?")")
            case (.failure(let error), nil):
                let type = testCase["error"]?["type"]?.stringValue ?? "?"
                guard let error = error as? TemplateError else {
                    XCTFail("\(name): threw a non-TemplateError \(error)")
                    continue
                }
                guard Self.kinds[type]?.contains(error.kind) == true else {
                    XCTFail("\(name): threw \(error.kind) (\(error)), transformers raises \(type)")
                    continue
                }
                if error.kind == .raised, error.message != testCase["error"]?["message"]?.stringValue {
                    XCTFail("\(name): raise_exception message \(error.message) differs")
                    continue
                }
                passed += 1
            }
        }
        print("features: \(passed)/\(cases.count) match transformers")
    }
}
