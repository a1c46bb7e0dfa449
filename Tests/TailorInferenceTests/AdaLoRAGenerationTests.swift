import Foundation
import TailorAdapters
import TailorFormats
import TailorInference
import TailorModels
import TailorTensor
import TailorTestSupport
import XCTest

/// A peft AdaLoRA folder in generation (scripts/reference/make_adalora_fixtures.py): AdapterLibrary
/// loads it as the LoRA it computes, the KV-cache decode one token at a time gives peft's logits,
/// greedy generation gives transformers + peft's tokens, and switching back gives the base model.
final class AdaLoRAGenerationTests: XCTestCase {
    func testAdaLoRAAdapterDecodesAndGeneratesAsPeft() throws {
        for (name, family) in [("adalora-llama", "llama"), ("adalora-qwen2", "qwen2")] {
            let folder = TestPaths.fixture("adalora/\(name)")
            let backend = try CPUBackend()
            let model = try CausalLM.load(folder: TestPaths.fixture("models/\(family)"), backend: backend)
            let library = AdapterLibrary(model: model)
            try library.load(name: "adalora", folder: folder.appendingPathComponent("final"))
            XCTAssertEqual(library.names, ["adalora"])
            XCTAssertNotNil(library.adapters(named: "adalora"), "\(name): loaded as a LoRA adapter")
            XCTAssertTrue(library.adapterSet.canBatchPerRow("adalora"), "\(name): served per row like any LoRA")
            try library.activate("adalora")
            let data = try SafetensorsFile(url: folder.appendingPathComponent("data.safetensors"))
            let ids = try data.floats("input_ids").prefix(Int(try data.floats("lengths")[0])).map { Int32($0) }
            let reference = try SafetensorsFile(url: folder.appendingPathComponent("reference.safetensors"))
            let expected = try reference.floats("logits")
            let vocab = model.config.vocabSize
            let cache = try KVCache(config: model.config, slots: 1, capacity: ids.count, backend: backend)
            for (position, id) in ids.enumerated() {
                let logits = try backend.download(model.decode(ids: [id], slots: [0], logitRows: [0], cache: cache))
                // 1e-5 relative to the largest logit (f32 sums in another order differ by a few ulps of it).
                assertClose(logits, Array(expected[(position * vocab)..<((position + 1) * vocab)]), rtol: 1e-5,
                            atol: 1e-5 * (expected.map(abs).max() ?? 1),
                            "\(name): decoded logits at position \(position)")
            }
            // Greedy generation with the KV cache, as generate() with peft gives it.
            let greedy = try reference.floats("greedy").map { Int32($0) }
            let generator = Generator(model: model, adapters: library)
            var parameters = GenerationParameters()
            parameters.maxNewTokens = greedy.count
            let result = try generator.generate(prompts: [Array(ids.prefix(5))], parameters: parameters, adapter: .named("adalora"))
            XCTAssertEqual(result.first?.tokens, greedy, "\(name): greedy tokens")
            try library.activate(nil)
            let base = try CausalLM.load(folder: TestPaths.fixture("models/\(family)"), backend: backend)
            let prompt = try TokenBatch(sequences: [(ids, [Int32](repeating: -100, count: ids.count))])
            XCTAssertEqual(try backend.download(model.logits(prompt)), try backend.download(base.logits(prompt)), "\(name): deactivated = base")
        }
    }
}
