import Foundation
import XCTest
import TailorAdapters
import TailorExport
import TailorFormats
import TailorModels
import TailorTensor
import TailorTestSupport

/// `GGUFExport.runAdapter` (`tailor export gguf --lora-only`) on peft adapters of the tiny fixtures, read back with
/// Tailor's GGUF reader: every layer's product as llama.cpp computes it, (alpha / r) · lora_b · lora_a with lora_b's
/// rows back in transformers' order, equals peft's scale · B · A.
final class GGUFAdapterExportTests: XCTestCase {
    func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-export-lora-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    /// transformers' row order of a llama q/k lora_b written in llama.cpp's (the inverse of the export's permutation).
    func unpermuted(_ values: [Float], heads: Int, rowLength: Int) -> [Float] {
        let rows = values.count / rowLength, half = rows / heads / 2
        var out = [Float](repeating: 0, count: values.count)
        for h in 0..<heads {
            for i in 0..<half {
                for (pair, source) in [(0, 2 * i), (1, 2 * i + 1)] {
                    let to = h * 2 * half + pair * half + i, from = h * 2 * half + source
                    for c in 0..<rowLength { out[to * rowLength + c] = values[from * rowLength + c] }
                }
            }
        }
        return out
    }

    func testEveryLayersScaledProductEqualsPeftsWithPatternsAndRsLoRA() throws {
        for family in ["llama", "qwen2"] {
            let model = TestPaths.fixture("models/\(family)"), adapter = TestPaths.fixture("lora-variants/patterns-\(family)/final")
            let output = try temporaryFolder().appendingPathComponent("lora.gguf")
            var events = 0
            let summary = try GGUFExport.runAdapter(model: model, adapter: adapter, output: output, outType: .f32) { _ in events += 1 }
            let gguf = try GGUFFile(url: output)
            XCTAssertEqual(try gguf.string("general.type"), "adapter", family)
            XCTAssertEqual(try gguf.string("adapter.type"), "lora", family)
            XCTAssertEqual(try gguf.string("general.architecture"), family, family)
            guard case let .float32(alpha)? = gguf.metadata["adapter.lora.alpha"] else { return XCTFail("\(family): no float32 adapter.lora.alpha") }
            XCTAssertEqual(Double(alpha), summary.alpha)

            let config = try ModelConfig(contentsOf: model.appendingPathComponent("config.json"))
            let loaded = try PeftAdapterFolder.load(folder: adapter, for: try CausalLM.load(folder: model, backend: try CPUBackend()))
            XCTAssertEqual(gguf.tensors.count, 2 * loaded.modules.count, family)
            XCTAssertEqual(events, gguf.tensors.count + 1)
            XCTAssertGreaterThan(summary.rescaled, 0, "\(family): rank_pattern / alpha_pattern give layers their own scale")
            if family == "qwen2" { XCTAssertTrue(loaded.config.useRslora, "the qwen2 fixture is rsLoRA") }
            let backend = try CPUBackend()
            for module in loaded.modules {
                let base = try XCTUnwrap(GGUFTensorNames.ggufName(forHF: module.name + ".weight"))
                let a = try gguf.floats(base + ".lora_a"), b = try gguf.floats(base + ".lora_b")
                let r = module.lora.rank
                XCTAssertEqual(gguf.tensor(base + ".lora_a")?.shape, module.lora.a.shape, module.name)
                XCTAssertEqual(gguf.tensor(base + ".lora_b")?.shape, module.lora.b.shape, module.name)
                XCTAssertEqual(a, try backend.download(module.lora.a), "\(module.name): lora_a is A as it is")
                var written = b
                if family == "llama", module.name.hasSuffix("q_proj") || module.name.hasSuffix("k_proj") {
                    written = unpermuted(b, heads: module.name.hasSuffix("q_proj") ? config.headCount : config.kvHeadCount, rowLength: r)
                }
                // llama.cpp: Float(alpha) / r · lora_b; peft: scaling · B.
                let peft = try backend.download(module.lora.b).map { Double($0) * Double(module.lora.scaling) }
                let llamaCpp = written.map { Double($0) * Double(alpha) / Double(r) }
                for (x, y) in zip(llamaCpp, peft) { XCTAssertEqual(x, y, accuracy: 1e-6 * max(1, abs(y)), module.name) }
            }
        }
    }

    func testF16AndQ8AndWhatLlamaCppCannotApply() throws {
        let model = TestPaths.fixture("models/llama"), adapter = TestPaths.fixture("lora-variants/patterns-llama/final")
        let folder = try temporaryFolder()
        let f16 = try GGUFExport.runAdapter(model: model, adapter: adapter, output: folder.appendingPathComponent("f16.gguf"), outType: .f16)
        XCTAssertEqual(Set(f16.typeCounts.keys), [.f16])
        // q8_0 blocks need rows of 32: lora_a rows (the input width) are, lora_b rows (r) are not, and fall back to F16.
        let q8 = try GGUFExport.runAdapter(model: model, adapter: adapter, output: folder.appendingPathComponent("q8.gguf"), outType: .q8_0)
        let gguf = try GGUFFile(url: folder.appendingPathComponent("q8.gguf"))
        XCTAssertEqual(gguf.tensor("blk.0.attn_q.weight.lora_a")?.type, .q8_0)
        XCTAssertEqual(gguf.tensor("blk.0.attn_q.weight.lora_b")?.type, .f16)
        XCTAssertEqual(q8.typeCounts[.q8_0], q8.modules)
        XCTAssertThrowsError(try GGUFExport.runAdapter(model: model, adapter: adapter, output: folder.appendingPathComponent("q4.gguf"), outType: .q4_0)) { error in
            XCTAssertTrue("\(error)".contains("q4_0 with --lora-only is not built yet; Tailor writes f32, f16, bf16, q8_0"), "\(error)")
        }
        let refused: [(model: String, adapter: String, says: String)] = [
            ("models/llama", "lora-variants/dora-llama/final", "is DoRA (use_dora"),
            ("models/llama", "lora-variants/pissa-llama/final", "is a PiSSA/OLoRA adapter (init_lora_weights pissa)"),
            ("models/qwen2", "lora-extras/qwen2-bias-all/final", "which llama.cpp's LoRA format cannot carry"),
            ("models/qwen2", "lora-extras/qwen2-embed-head/final", "which llama.cpp's LoRA format cannot carry"),
            ("models/llama-tied", "lora-extras/llama-tied-head/final", "which llama.cpp's LoRA format cannot carry"),
        ]
        for case_ in refused {
            let output = folder.appendingPathComponent("refused.gguf")
            XCTAssertThrowsError(try GGUFExport.runAdapter(model: TestPaths.fixture(case_.model), adapter: TestPaths.fixture(case_.adapter),
                                                           output: output, outType: .f16)) { error in
                XCTAssertTrue("\(error)".contains(case_.says), "\(case_.adapter): \(error)")
                XCTAssertTrue("\(error)".contains("export the merged model instead: tailor export gguf --model M --adapter"), "\(error)")
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: output.path), case_.adapter)
        }
    }
}
