import Foundation
import TailorFormats
@testable import TailorModels
import TailorTensor
import TailorTestSupport
import XCTest

/// A quantized GGUF loaded with its ggml blocks kept (`CausalLM.load(gguf:backend:blocks:)`) computes what the
/// same file decoded to f32 computes: the tiny reference models with every matrix whose rows are whole blocks
/// stored as Q8_0 / Q4_0 / Q4_1 / Q5_0 / Q5_1 (q/k rows permuted as llama.cpp stores them), the rest F32.
final class GGUFBlockWeightsTests: XCTestCase {
    static let types: [GGMLType] = [.q8_0, .q4_0, .q4_1, .q5_0, .q5_1]

    /// The family's GGUF with its matrices quantized; returns the file and how many tensors it quantized.
    static func quantizedGGUF(_ family: String) throws -> (url: URL, quantized: Int) {
        var (file, _) = try GGUFModelTests.gguf(family)
        var quantized = 0
        for tensor in file.tensors where tensor.shape.count == 2 && tensor.shape[1] % 32 == 0 {
            let type = types[quantized % types.count]
            file.store(tensor.name, bytes: try GGMLQuantizer.quantize(tensor.values, type: type), rawType: type.rawValue)
            quantized += 1
        }
        return (try file.write(), quantized)
    }

    static func referenceBatch(_ family: String) throws -> TokenBatch {
        let reference = try SafetensorsFile(url: TestPaths.fixture("models/\(family)/reference.safetensors"))
        func ints(_ name: String) throws -> [Int32] { try reference.floats(name).map { Int32($0) } }
        return try TokenBatch(inputIds: ints("input_ids"), labels: ints("labels"), positions: ints("position_ids"), seqStart: ints("seq_start"))
    }

    func testBlocksGiveTheLogitsOfTheDecodedWeights() throws {
        for family in ["llama", "llama-tied", "qwen2", "qwen3"] {
            let (url, quantized) = try Self.quantizedGGUF(family)
            XCTAssertTrue(CausalLM.storesBlocks(gguf: try GGUFFile(url: url)), family)
            for kernels in [CPUBackend.Kernels.fast, .reference] {
                let backend = try CPUBackend(kernels: kernels)
                let blocks = try CausalLM.load(gguf: url, backend: backend, blocks: GGUFBlockWeights())
                let decoded = try CausalLM.load(gguf: url, backend: backend)
                let kept = blocks.namedParameters.filter { $0.tensor.dtype.ggmlBlockType != nil }
                XCTAssertEqual(kept.count, quantized, "\(family): every quantized tensor stays in blocks")
                XCTAssertTrue(decoded.namedParameters.allSatisfy { $0.tensor.dtype == .f32 }, family)
                for (name, tensor) in kept {
                    let same = try XCTUnwrap(decoded.namedParameters.first { $0.name == name }?.tensor)
                    XCTAssertEqual(try backend.download(tensor), try backend.download(same), "\(family) \(name): q/k rows in Hugging Face order")
                }
                let batch = try Self.referenceBatch(family)
                assertClose(try backend.download(blocks.logits(batch)), try backend.download(decoded.logits(batch)), rtol: 1e-6, atol: 1e-6,
                            "\(family) \(kernels)")
            }
        }
        XCTAssertFalse(CausalLM.storesBlocks(gguf: try GGUFFile(url: try GGUFModelTests.gguf("llama").file.write())), "an F32 file stores no blocks")
    }

    /// modules_to_save decodes what it names: the embedding (and with it a tied output layer), or a linear.
    func testModulesThatTrainAreDecoded() throws {
        let (url, _) = try Self.quantizedGGUF("llama-tied")
        let backend = try CPUBackend(kernels: .fast)
        let kept = try CausalLM.load(gguf: url, backend: backend, blocks: GGUFBlockWeights())
        XCTAssertNotNil(kept.embedTokens.dtype.ggmlBlockType)
        for names in [["embed_tokens"], ["lm_head"]] {
            let model = try CausalLM.load(gguf: url, backend: backend, blocks: GGUFBlockWeights(decoding: names))
            XCTAssertEqual(model.embedTokens.dtype, .f32, "\(names)")
            XCTAssertEqual(model.lmHead.weight.dtype, .f32, "\(names): the tied output layer is the embedding")
            XCTAssertNotNil(model.layers[0].qProj.weight.dtype.ggmlBlockType)
        }
        let downs = try CausalLM.load(gguf: url, backend: backend, blocks: GGUFBlockWeights(decoding: ["mlp.down_proj"]))
        XCTAssertTrue(downs.layers.allSatisfy { $0.downProj.weight.dtype == .f32 })
        XCTAssertNotNil(downs.layers[0].upProj.weight.dtype.ggmlBlockType)
    }
}
