import Foundation
import TailorAdapters
import TailorFormats
import TailorInference
import TailorModels
import TailorTensor
import TailorTestSupport
import XCTest

/// A peft DoRA folder in generation: AdapterLibrary (DoRA's weight computed once), the KV-cache
/// decode one token at a time, and a batch whose rows use different adapters, against the
/// logits peft computed (scripts/reference/make_lora_variants_fixtures.py).
final class DoRAGenerationTests: XCTestCase {
    func testDoRAAdapterDecodesPeftsLogits() throws {
        for (name, family) in [("dora-llama", "llama"), ("dora-qwen2", "qwen2")] {
            let folder = TestPaths.fixture("lora-variants/\(name)")
            let backend = try CPUBackend()
            let model = try CausalLM.load(folder: TestPaths.fixture("models/\(family)"), backend: backend)
            let library = AdapterLibrary(model: model)
            try library.load(name: "dora", folder: folder.appendingPathComponent("final"))
            try library.activate("dora")
            let data = try SafetensorsFile(url: folder.appendingPathComponent("data.safetensors"))
            let ids = try data.floats("input_ids").prefix(Int(try data.floats("lengths")[0])).map { Int32($0) }
            let expected = try SafetensorsFile(url: folder.appendingPathComponent("reference.safetensors")).floats("logits")
            let vocab = model.config.vocabSize
            let cache = try KVCache(config: model.config, slots: 1, capacity: ids.count, backend: backend)
            for (position, id) in ids.enumerated() {
                let logits = try backend.download(model.decode(ids: [id], slots: [0], logitRows: [0], cache: cache))
                assertClose(logits, Array(expected[(position * vocab)..<((position + 1) * vocab)]), rtol: 1e-4, atol: 1e-5,
                            "\(name): decoded logits at position \(position)")
            }
            // Rows of one batch with the DoRA adapter and with none: each row gets its own.
            let base = try CausalLM.load(folder: TestPaths.fixture("models/\(family)"), backend: backend)
            let baseCache = try KVCache(config: base.config, slots: 1, capacity: 1, backend: backend)
            let baseLogits = try backend.download(base.decode(ids: [ids[0]], slots: [0], logitRows: [0], cache: baseCache))
            let mixed = try KVCache(config: model.config, slots: 2, capacity: 1, backend: backend)
            let both = try library.adapterSet.withRowAdapters([AdapterRowRun(adapter: "dora", count: 1), AdapterRowRun(adapter: nil, count: 1)]) {
                try backend.download(model.decode(ids: [ids[0], ids[0]], slots: [0, 1], logitRows: [0, 1], cache: mixed))
            }
            assertClose(Array(both[0..<vocab]), Array(expected[0..<vocab]), rtol: 1e-4, atol: 1e-5, "\(name): the DoRA row")
            assertClose(Array(both[vocab...]), baseLogits, rtol: 1e-5, atol: 1e-6, "\(name): the base row")
        }
    }
}
