import Foundation
import TailorModels
import TailorTestSupport
import XCTest

/// config.json is read through TailorJSON: bad JSON names the file, line and column; Tailor's own
/// config.json is written as transformers writes it.
final class ConfigJSONTests: XCTestCase {
    func testMalformedConfigNamesFileLineAndColumn() throws {
        let url = try MalformedJSON.write("config.json")
        MalformedJSON.assertNamesPosition(url.path + ": ") { _ = try ModelConfig(contentsOf: url) }
        MalformedJSON.assertNamesPosition("m/config.json: ") { _ = try ModelConfig(json: Data(MalformedJSON.text.utf8), file: "m/config.json") }
    }

    /// A UTF-8 byte order mark at the start is skipped (TailorJSON's rule, as Python's utf-8-sig reads it;
    /// transformers' json.loads would refuse it); anywhere else it is an error that names it.
    func testByteOrderMarkIsSkippedAtTheStartAndNamedElsewhere() throws {
        let json = #"{"architectures": ["LlamaForCausalLM"], "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 1, "num_attention_heads": 4, "vocab_size": 10}"#
        XCTAssertEqual(try ModelConfig(json: Data([0xEF, 0xBB, 0xBF] + Array(json.utf8)), file: "m/config.json").hiddenSize, 64)
        XCTAssertThrowsError(try ModelConfig(json: Data(Array("\n".utf8) + [0xEF, 0xBB, 0xBF] + Array(json.utf8)), file: "m/config.json")) { error in
            XCTAssertTrue("\(error)".hasPrefix("m/config.json: not valid JSON at line 2, column 1: unexpected byte order mark U+FEFF (allowed only as a file's first bytes); expected a value"), "\(error)")
        }
    }

    func testNumbersKeepTheirKinds() throws {
        // Whole floats are accepted where an integer is meant (as JSONDecoder's Double did), fractions are not.
        let json = #"{"architectures": ["LlamaForCausalLM"], "hidden_size": 64.0, "intermediate_size": 128, "num_hidden_layers": 1, "num_attention_heads": 4, "vocab_size": 10}"#
        XCTAssertEqual(try ModelConfig(json: Data(json.utf8)).hiddenSize, 64)
        XCTAssertThrowsError(try ModelConfig(json: Data(json.replacingOccurrences(of: "64.0", with: "64.5").utf8))) { error in
            XCTAssertEqual("\(error)", "config.json: field 'hidden_size' must be a non-negative integer")
        }
    }

    func testWrittenAsTransformersWritesIt() throws {
        let config = try ModelConfig(contentsOf: TestPaths.fixture("models/llama/config.json"))
        let text = String(decoding: try config.huggingFaceJSON(), as: UTF8.self)
        // json.dumps(config, indent=2, sort_keys=True) + "\n": sorted keys, floats as Python writes them.
        XCTAssertTrue(text.hasPrefix("{\n  \"architectures\": [\n    \"LlamaForCausalLM\"\n  ],\n  \"attention_bias\": false,\n"), text)
        XCTAssertTrue(text.contains("\n  \"rope_parameters\": {\n    \"rope_theta\": 10000.0,\n    \"rope_type\": \"default\"\n  },\n"), text)
        XCTAssertTrue(text.contains("\n  \"attention_dropout\": 0.0,\n"), text)
        XCTAssertTrue(text.hasSuffix("\n}\n"), text)
        let keys = text.split(separator: "\n").filter { $0.hasPrefix("  \"") }.map { $0.split(separator: "\"")[1] }
        XCTAssertEqual(keys, keys.sorted())
    }
}
