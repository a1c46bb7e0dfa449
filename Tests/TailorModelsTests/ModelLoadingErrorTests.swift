import Foundation
import TailorFormats
import TailorModels
import TailorTensor
import TailorTestSupport
import XCTest

/// Bad model folders give errors that name the problem, never crashes.
final class ModelLoadingErrorTests: XCTestCase {
    var folder: URL!
    let backend: Backend = try! CPUBackend(kernels: .reference)

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-model-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: TestPaths.fixture("models/qwen2"), to: folder)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: folder)
    }

    func editConfig(_ edit: (inout [String: Any]) -> Void) throws {
        let url = folder.appendingPathComponent("config.json")
        var object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        edit(&object)
        try JSONSerialization.data(withJSONObject: object).write(to: url)
    }

    func assertLoadFails(containing fragments: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try CausalLM.load(folder: folder, backend: backend), file: file, line: line) { error in
            let message = "\(error)"
            for fragment in fragments {
                XCTAssertTrue(message.contains(fragment), "'\(message)' should mention '\(fragment)'", file: file, line: line)
            }
        }
    }

    func testUnknownArchitectureListsSupportedOnes() throws {
        try editConfig { $0["architectures"] = ["GPT2LMHeadModel"] }
        assertLoadFails(containing: ["GPT2LMHeadModel", "LlamaForCausalLM", "Qwen3ForCausalLM", "config.json"])
    }

    func testShapeMismatchBetweenConfigAndWeights() throws {
        try editConfig { $0["intermediate_size"] = 48 }
        assertLoadFails(containing: ["model.layers.0.mlp.gate_proj.weight", "[48, 32]", "[64, 32]"])
    }

    func testMissingWeightIsNamed() throws {
        try editConfig { $0["num_hidden_layers"] = 3 }
        assertLoadFails(containing: ["model.layers.2.", "missing"])
    }

    func testBadFieldValues() throws {
        try editConfig { $0["num_key_value_heads"] = 3 }
        assertLoadFails(containing: ["num_key_value_heads", "must divide"])
        try editConfig { $0["num_key_value_heads"] = 2; $0["hidden_act"] = "gelu" }
        assertLoadFails(containing: ["hidden_act", "gelu"])
        try editConfig { $0["hidden_act"] = "silu"; $0["rope_parameters"] = ["rope_type": "yarn", "rope_theta": 10000.0] }
        assertLoadFails(containing: ["rope_type", "yarn"])
        try editConfig { $0.removeValue(forKey: "rope_parameters"); $0["vocab_size"] = "many" }
        assertLoadFails(containing: ["vocab_size", "integer"])
    }

    func testTruncatedWeightsFile() throws {
        let url = folder.appendingPathComponent("model.safetensors")
        let data = try Data(contentsOf: url)
        try data.prefix(data.count - 100).write(to: url)
        assertLoadFails(containing: ["model.safetensors"])
    }

    func testMissingShardOfAnIndex() throws {
        try FileManager.default.removeItem(at: folder.appendingPathComponent("model.safetensors"))
        let index = #"{"metadata": {}, "weight_map": {"model.embed_tokens.weight": "model-00001-of-00002.safetensors"}}"#
        try Data(index.utf8).write(to: folder.appendingPathComponent("model.safetensors.index.json"))
        assertLoadFails(containing: ["model-00001-of-00002.safetensors"])
    }

    func testTransformers4RopeSpellingIsRead() throws {
        let json = #"""
        {"architectures": ["LlamaForCausalLM"], "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 1,
         "num_attention_heads": 4, "num_key_value_heads": 4, "vocab_size": 10, "rope_theta": 500000.0,
         "rope_scaling": {"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                          "original_max_position_embeddings": 8192}, "eos_token_id": [128001, 128009]}
        """#
        let config = try ModelConfig(json: Data(json.utf8))
        XCTAssertEqual(config.ropeTheta, 500000)
        XCTAssertEqual(config.ropeScaling, .llama3(factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192))
        XCTAssertEqual(config.eosTokenIds, [128001, 128009])
        XCTAssertEqual(config.headDim, 16)
    }

    func testBatchWithOutOfVocabularyIdIsAnError() throws {
        let model = try CausalLM.load(folder: folder, backend: backend)
        let batch = try TokenBatch(sequences: [(ids: [1, 2, 500], labels: [1, 2, 3])])
        XCTAssertThrowsError(try model.logits(batch)) { error in
            XCTAssertTrue("\(error)".contains("500"), "\(error)")
        }
    }
}
