import Foundation
import TailorInference
import TailorTestSupport
import XCTest

/// generation_config.json through TailorJSON: bad JSON names the file, line and column; fields keep their types.
final class GenerationParametersTests: XCTestCase {
    func testMalformedConfigNamesFileLineAndColumn() throws {
        let url = try MalformedJSON.write("generation_config.json")
        MalformedJSON.assertNamesPosition(url.path + ": field '(file)' is ") { _ = try GenerationParameters(generationConfig: url) }
    }

    func testFieldsAreTyped() throws {
        let url = try MalformedJSON.write("generation_config.json")
        try Data(#"{"do_sample": true, "temperature": 0.7, "top_k": 20.0, "eos_token_id": [2, 7], "stop_strings": "END", "min_p": null}"#.utf8)
            .write(to: url)
        let p = try GenerationParameters(generationConfig: url)
        XCTAssertEqual(p.doSample, true)
        XCTAssertEqual(p.temperature, 0.7)
        XCTAssertEqual(p.topK, 20)
        XCTAssertEqual(p.eosTokenIds, [2, 7])
        XCTAssertEqual(p.stopStrings, ["END"])
        XCTAssertNil(p.minP)
        for (json, message) in [(#"{"top_k": 2.5}"#, "field 'top_k' must be an integer"),
                                (#"{"temperature": true}"#, "field 'temperature' must be a number"),
                                (#"{"do_sample": 1}"#, "field 'do_sample' must be true or false"),
                                (#"{"eos_token_id": [2, 99999999999]}"#, "field 'eos_token_id' must be an integer or a list of integers")] {
            try Data(json.utf8).write(to: url)
            XCTAssertThrowsError(try GenerationParameters(generationConfig: url)) { error in
                XCTAssertEqual("\(error)", url.path + ": " + message, json)
            }
        }
    }
}
