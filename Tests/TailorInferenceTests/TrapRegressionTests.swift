import Foundation
import TailorInference
import TailorModels
import TailorTensor
import TailorTestSupport
import XCTest

/// Issue 27's traps in the inference layer: values from generation_config.json, config.json and
/// `/params` that once crashed on an unchecked conversion or overflow now give a clear error.
final class TrapRegressionTests: XCTestCase {
    func generationConfig(_ json: String) throws -> URL {
        let url = try MalformedJSON.write("generation_config.json")
        try Data(json.utf8).write(to: url)
        return url
    }

    /// `"max_new_tokens": 1e20` (once `Int(d)`): named, with what to give instead.
    func testHugeMaxNewTokensInGenerationConfigIsAClearError() throws {
        let url = try generationConfig(#"{"max_new_tokens": 1e20}"#)
        XCTAssertThrowsError(try GenerationParameters(generationConfig: url)) { error in
            XCTAssertEqual("\(error)", url.path + ": field 'max_new_tokens' is 1e+20, beyond the largest count Tailor accepts "
                + "(9223372036854775807); generation stops at the model's context (max_position_embeddings) anyway, so give a value up to that")
        }
    }

    /// `"eos_token_id": 4294967296` (once `Int32($0)`), alone and in a list.
    func testEosTokenIdBeyondInt32InGenerationConfigIsAClearError() throws {
        for json in [#"{"eos_token_id": 4294967296}"#, #"{"eos_token_id": [2, 4294967296]}"#] {
            let url = try generationConfig(json)
            XCTAssertThrowsError(try GenerationParameters(generationConfig: url), json) { error in
                XCTAssertEqual("\(error)", url.path + ": field 'eos_token_id' must be an integer or a list of integers", json)
            }
        }
    }

    /// config.json `"eos_token_id": 99999999999` (once `map(Int32.init)` in InferenceModel): refused on reading.
    func testEosTokenIdBeyondInt32InConfigJSONIsAClearError() throws {
        let json = #"{"architectures": ["LlamaForCausalLM"], "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 1, "num_attention_heads": 4, "vocab_size": 10, "eos_token_id": 99999999999}"#
        XCTAssertThrowsError(try ModelConfig(json: Data(json.utf8), file: "m/config.json")) { error in
            XCTAssertEqual("\(error)", "m/config.json: field 'eos_token_id' is 99999999999; a token id must be an integer from 0 to 2147483647")
        }
        let list = json.replacingOccurrences(of: "99999999999", with: "[1, -3]")
        XCTAssertThrowsError(try ModelConfig(json: Data(list.utf8), file: "m/config.json")) { error in
            XCTAssertTrue("\(error)".contains("field 'eos_token_id' is -3"), "\(error)")
        }
    }

    /// `--max-new-tokens 9223372036854775807` (once an overflow in `prompt.count + maxNewTokens`):
    /// the prompt does not fit with that many new tokens, and the error says to lower it.
    func testMaxNewTokensIntMaxIsPromptTooLongNotAnOverflow() throws {
        let generator = Generator(model: try GenerationFixtures.model("llama"))
        var p = GenerationFixtures.greedy(8)
        p.maxNewTokens = Int.max
        XCTAssertThrowsError(try generator.generate(prompts: [[1, 2, 3]], parameters: p)) { error in
            XCTAssertTrue("\(error)".contains("with max_new_tokens 9223372036854775807 it exceeds the model's context of 128"), "\(error)")
        }
        p.truncatePrompt = true  // no room left for any prompt token: still the same error, no arithmetic trap
        XCTAssertThrowsError(try generator.generate(prompts: [[1, 2, 3]], parameters: p)) { error in
            XCTAssertTrue("\(error)".contains("lower max_new_tokens"), "\(error)")
        }
    }

    /// `/params seed=-1` (once `UInt64(int)`): an error `tailor chat` prints, the session going on.
    func testNegativeSeedIsABadParameter() throws {
        var p = GenerationParameters()
        for text in ["-1", "18446744073709551616", "1.5"] {
            XCTAssertThrowsError(try p.set("seed", to: text), text) { error in
                XCTAssertEqual("\(error)", "generation parameter 'seed' = \(text) must be an integer from 0 to 18446744073709551615")
            }
        }
        try p.set("seed", to: "18446744073709551615")
        XCTAssertEqual(p.seed, UInt64.max)
    }
}
