import Foundation
import TailorFormats
import TailorModels
import TailorTensor
import TailorTestSupport
import XCTest

/// `CausalLM.load(…, rounding:)`: the frozen f32 product weights become bf16 at load, holding
/// exactly the values torch.autocast multiplies (nearest-even bf16 of each f32 weight), and
/// nothing else changes.
final class ProductWeightRoundingTests: XCTestCase {
    private func temporaryFolder() throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-rounding-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: root) }
        return root
    }

    private static func bf16(_ values: [Float]) -> [Float] {
        values.map { HalfPrecision.bf16ToFloat(HalfPrecision.floatToBF16($0)) }
    }

    func testRoundedLinearsAndHeadComputeWhatTheirBF16ValuesStoredAsF32Compute() throws {
        let source = TestPaths.fixture("models/llama")  // untied lm_head
        let file = try SafetensorsFile(url: source.appendingPathComponent("model.safetensors"))
        // The same checkpoint with the product weights rounded to bf16 by hand, still stored as f32.
        let handRounded = try temporaryFolder()
        try FileManager.default.copyItem(at: source.appendingPathComponent("config.json"), to: handRounded.appendingPathComponent("config.json"))
        let products = { (name: String) in (name.hasPrefix("model.layers.") && name.hasSuffix("_proj.weight")) || name == CausalLM.lmHeadName }
        try SafetensorsWriter.write(try file.tensorNames.map { name in
            let values = try file.floats(name)
            return SafetensorsWriter.Tensor(name: name, shape: try XCTUnwrap(file.info(name)).shape, floats: products(name) ? Self.bf16(values) : values)
        }, to: handRounded.appendingPathComponent("model.safetensors"))

        let backend = try CPUBackend(kernels: .reference)
        let model = try CausalLM.load(folder: source, backend: backend, rounding: ProductWeightRounding())
        XCTAssertEqual(model.roundedProductWeights, 7 * model.layers.count + 1)
        for linear in model.layers.flatMap(\.linears) {
            XCTAssertEqual(linear.weight.dtype, .bf16, linear.name)
            XCTAssertEqual(try backend.download(linear.weight), Self.bf16(try file.floats(linear.name)), linear.name)
        }
        XCTAssertEqual(model.lmHead.weight.dtype, .bf16)
        XCTAssertEqual(model.embedTokens.dtype, .f32, "the embedding lookup reads the f32 table, as under autocast")
        XCTAssertEqual(try backend.download(model.embedTokens), try file.floats(CausalLM.embedName))
        XCTAssertEqual(model.layers[0].inputNorm.dtype, .f32)

        let reference = try CausalLM.load(folder: handRounded, backend: backend)
        let batch = try TokenBatch(sequences: [(ids: [3, 17, 42, 8, 90, 11], labels: [Int32](repeating: -100, count: 6))])
        assertClose(try backend.download(model.logits(batch)), try backend.download(reference.logits(batch)), rtol: 1e-6, atol: 1e-6)
        let unrounded = try CausalLM.load(folder: source, backend: backend)
        let moved = zip(try backend.download(model.logits(batch)), try backend.download(unrounded.logits(batch))).map { abs($0 - $1) }.max() ?? 0
        XCTAssertGreaterThan(moved, 1e-5, "rounding the weights to bf16 changes the logits (the test would pass without rounding otherwise)")
    }

    func testTiedHeadGetsARoundedCopyAndKeptModulesStayAsStored() throws {
        let source = TestPaths.fixture("models/llama-tied")
        let file = try SafetensorsFile(url: source.appendingPathComponent("model.safetensors"))
        let backend = try CPUBackend(kernels: .reference)
        let table = try file.floats(CausalLM.embedName)

        let tied = try CausalLM.load(folder: source, backend: backend, rounding: ProductWeightRounding())
        XCTAssertEqual(tied.lmHead.name, CausalLM.embedName, "the output layer keeps the embeddings' name")
        XCTAssertEqual(tied.lmHead.weight.dtype, .bf16)
        XCTAssertEqual(try backend.download(tied.lmHead.weight), Self.bf16(table))
        XCTAssertEqual(tied.embedTokens.dtype, .f32)
        XCTAssertEqual(try backend.download(tied.embedTokens), table, "the table the lookup reads is the file's")
        XCTAssertEqual(tied.roundedProductWeights, 7 * tied.layers.count + 1)

        // modules_to_save names, matched as peft matches them (a module or its last parts).
        let kept = try CausalLM.load(folder: source, backend: backend, rounding: ProductWeightRounding(keep: ["embed_tokens", "mlp.down_proj"]))
        XCTAssertEqual(kept.lmHead.weight.dtype, .f32, "keeping embed_tokens keeps the tied output layer")
        XCTAssertTrue(kept.layers.allSatisfy { $0.downProj.weight.dtype == .f32 && $0.upProj.weight.dtype == .bf16 })
        XCTAssertEqual(kept.roundedProductWeights, 6 * kept.layers.count)
    }

    func testABF16FolderLoadsAsStored() throws {
        let source = TestPaths.fixture("models/qwen2")
        let file = try SafetensorsFile(url: source.appendingPathComponent("model.safetensors"))
        let half = try temporaryFolder()
        try FileManager.default.copyItem(at: source.appendingPathComponent("config.json"), to: half.appendingPathComponent("config.json"))
        try SafetensorsWriter.write(try file.tensorNames.map { name in
            SafetensorsWriter.Tensor(name: name, shape: try XCTUnwrap(file.info(name)).shape, floats: try file.floats(name), dtype: .bf16)
        }, to: half.appendingPathComponent("model.safetensors"))
        let model = try CausalLM.load(folder: half, backend: try CPUBackend(), rounding: ProductWeightRounding())
        XCTAssertEqual(model.roundedProductWeights, 0)
        XCTAssertTrue(model.namedParameters.allSatisfy { $0.tensor.dtype == .bf16 })
    }
}
