import Foundation
import TailorFormats
@testable import TailorModels
import TailorTensor
import TailorTestSupport
import XCTest

/// GGUF -> model: the tiny reference models of CausalLMReferenceTests written as llama.cpp would write them
/// (llama.cpp tensor names, q/k rows permuted for llama), loaded back, must give PyTorch's logits.
final class GGUFModelTests: XCTestCase {
    /// A GGUF equivalent of fixture family `family` (F32 weights), with a tiny tokenizer.
    static func gguf(_ family: String) throws -> (file: GGUFTestFile, config: ModelConfig) {
        let folder = TestPaths.fixture("models/\(family)")
        let config = try ModelConfig(contentsOf: folder.appendingPathComponent("config.json"))
        let weights = try SafetensorsFile(url: folder.appendingPathComponent("model.safetensors"))
        let arch = config.architecture == .llama ? "llama" : config.architecture == .qwen2 ? "qwen2" : "qwen3"
        var file = GGUFTestFile()
        file.set("general.architecture", .string(arch))
        file.set("\(arch).block_count", .u32(UInt32(config.layerCount)))
        file.set("\(arch).context_length", .u32(UInt32(config.maxPositionEmbeddings)))
        file.set("\(arch).embedding_length", .u32(UInt32(config.hiddenSize)))
        file.set("\(arch).feed_forward_length", .u32(UInt32(config.intermediateSize)))
        file.set("\(arch).attention.head_count", .u32(UInt32(config.headCount)))
        file.set("\(arch).attention.head_count_kv", .u32(UInt32(config.kvHeadCount)))
        file.set("\(arch).attention.key_length", .u32(UInt32(config.headDim)))
        file.set("\(arch).attention.value_length", .u32(UInt32(config.headDim)))
        file.set("\(arch).attention.layer_norm_rms_epsilon", .f32(config.rmsNormEps))
        file.set("\(arch).rope.freq_base", .f32(Float(config.ropeTheta)))
        file.set("tokenizer.ggml.model", .string("gpt2"))
        file.set("tokenizer.ggml.pre", .string("smollm"))
        let tokens = (0..<config.vocabSize).map { $0 < 3 ? ["<|endoftext|>", "<s>", "</s>"][$0] : "t\($0)" }
        file.set("tokenizer.ggml.tokens", .strings(tokens))
        file.set("tokenizer.ggml.token_type", .i32s((0..<config.vocabSize).map { $0 < 3 ? 3 : 1 }))
        file.set("tokenizer.ggml.merges", .strings(["t 1"]))
        file.set("tokenizer.ggml.bos_token_id", .u32(1))
        file.set("tokenizer.ggml.eos_token_id", .u32(2))
        for name in weights.tensorNames.sorted() {
            guard let ggufName = GGUFTensorNames.ggufName(forHF: name) else { continue }
            let shape = weights.info(name)!.shape
            var values = try weights.floats(name)
            if arch == "llama", name.contains("q_proj.") {
                values = llamaCppPermute(values, heads: config.headCount, rows: shape[0])
            } else if arch == "llama", name.contains("k_proj.") {
                values = llamaCppPermute(values, heads: config.kvHeadCount, rows: shape[0])
            }
            file.add(ggufName, shape: shape, values)
        }
        return (file, config)
    }

    func testTinyModelsFromGGUFMatchPyTorch() throws {
        for family in ["llama", "llama-tied", "qwen2", "qwen3"] {
            let (file, expectedConfig) = try Self.gguf(family)
            let url = try file.write()
            let backend = try CPUBackend(kernels: .fast)
            let model = try CausalLM.load(gguf: url, backend: backend)
            var config = model.config
            XCTAssertEqual(config.tieWordEmbeddings, expectedConfig.tieWordEmbeddings, family)
            config.bosTokenId = expectedConfig.bosTokenId
            config.eosTokenIds = expectedConfig.eosTokenIds
            config.slidingWindow = expectedConfig.slidingWindow
            XCTAssertEqual(config, expectedConfig, family)

            let reference = try SafetensorsFile(url: TestPaths.fixture("models/\(family)/reference.safetensors"))
            func ints(_ name: String) throws -> [Int32] { try reference.floats(name).map { Int32($0) } }
            let batch = try TokenBatch(inputIds: ints("input_ids"), labels: ints("labels"),
                                       positions: ints("position_ids"), seqStart: ints("seq_start"))
            let logits = try backend.download(model.logits(batch))
            assertClose(logits, try reference.floats("logits"), rtol: 1e-5, atol: 1e-5, "\(family) logits from GGUF")
        }
    }

    func testBF16LoadRoundsWeights() throws {
        let url = try Self.gguf("llama").file.write()
        let model = try CausalLM.load(gguf: url, backend: try CPUBackend(kernels: .fast), dtype: .bf16)
        XCTAssertEqual(model.embedTokens.dtype, .bf16)
    }

    func testUnpermuteInvertsLlamaCppPermute() {
        let heads = 3, headDim = 8, rowLength = 5
        let values = (0..<(heads * headDim * rowLength)).map(Float.init)
        let permuted = llamaCppPermute(values, heads: heads, rows: heads * headDim)
        XCTAssertNotEqual(permuted, values)
        XCTAssertEqual(GGUFWeights.unpermuteRows(permuted, heads: heads, rowLength: rowLength), values)
    }

    func testTensorNameMapping() {
        XCTAssertEqual(GGUFTensorNames.ggufName(forHF: "model.embed_tokens.weight"), "token_embd.weight")
        XCTAssertEqual(GGUFTensorNames.ggufName(forHF: "model.layers.12.self_attn.o_proj.weight"), "blk.12.attn_output.weight")
        XCTAssertEqual(GGUFTensorNames.ggufName(forHF: "model.layers.0.self_attn.q_proj.bias"), "blk.0.attn_q.bias")
        XCTAssertEqual(GGUFTensorNames.ggufName(forHF: "model.layers.3.self_attn.k_norm.weight"), "blk.3.attn_k_norm.weight")
        XCTAssertEqual(GGUFTensorNames.ggufName(forHF: "model.layers.3.post_attention_layernorm.weight"), "blk.3.ffn_norm.weight")
        XCTAssertEqual(GGUFTensorNames.ggufName(forHF: "model.layers.3.mlp.down_proj.weight"), "blk.3.ffn_down.weight")
        XCTAssertEqual(GGUFTensorNames.ggufName(forHF: "lm_head.weight"), "output.weight")
        XCTAssertNil(GGUFTensorNames.ggufName(forHF: "model.layers.x.mlp.down_proj.weight"))
    }

    func testModelSourcePicksGGUFByExtensionOrMagic() throws {
        let url = try Self.gguf("llama").file.write(name: "no-extension")
        XCTAssertEqual(ModelSource(path: url.path), .gguf(url))
        XCTAssertEqual(ModelSource(path: "/x/model.GGUF"), .gguf(URL(fileURLWithPath: "/x/model.GGUF")))
        let folder = TestPaths.fixture("models/llama")
        XCTAssertEqual(ModelSource(path: folder.path), .folder(folder))
        let model = try ModelSource(path: url.path).loadModel(backend: try CPUBackend(kernels: .fast))
        XCTAssertEqual(model.config.layerCount, 2)
    }

    func testHuggingFaceConfigJSONRoundTrips() throws {
        for family in ["llama", "llama-tied", "llama3-rope", "qwen2", "qwen3", "mistral"] {
            let config = try ModelConfig(contentsOf: TestPaths.fixture("models/\(family)/config.json"))
            let again = try ModelConfig(json: try config.huggingFaceJSON())
            XCTAssertEqual(again, config, family)
        }
    }
}

/// The folder `tailor import gguf` writes (model part): loads back with `CausalLM.load(folder:)` to PyTorch's logits.
final class GGUFImportFolderTests: XCTestCase {
    func testWrittenFolderLoadsWithTheSameLogits() throws {
        for family in ["llama", "qwen3"] {
            let url = try GGUFModelTests.gguf(family).file.write()
            let file = try GGUFFile(url: url)
            let config = try ModelConfig(gguf: file)
            try GGUFWeights(file: file, config: config).writeHuggingFaceModel(to: url.deletingLastPathComponent(), padTokenId: 2)
            let backend = try CPUBackend(kernels: .fast)
            let model = try CausalLM.load(folder: url.deletingLastPathComponent(), backend: backend)
            XCTAssertEqual(model.config, config, family)
            let reference = try SafetensorsFile(url: TestPaths.fixture("models/\(family)/reference.safetensors"))
            func ints(_ name: String) throws -> [Int32] { try reference.floats(name).map { Int32($0) } }
            let batch = try TokenBatch(inputIds: ints("input_ids"), labels: ints("labels"),
                                       positions: ints("position_ids"), seqStart: ints("seq_start"))
            assertClose(try backend.download(model.logits(batch)), try reference.floats("logits"), rtol: 1e-5, atol: 1e-5, family)
        }
    }
}
