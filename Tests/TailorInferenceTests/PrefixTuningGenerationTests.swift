import Foundation
import TailorAdapters
import TailorInference
import TailorModels
import TailorTensor
import TailorTestSupport
import XCTest

/// peft prefix-tuning folders in generation (scripts/reference/make_prompt_learning_fixtures.py):
/// AdapterLibrary loads them, the KV-cache decode one token at a time (the prefix in each slot's
/// first positions) gives peft's logits, greedy generation gives transformers + peft's tokens, and
/// switching back gives the base model. prefix-qwen2 and prefix-llama-projected were trained with prefix_projection.
final class PrefixTuningGenerationTests: XCTestCase {
    func testPrefixTuningDecodesAndGeneratesAsPeft() throws {
        for (name, family) in [("prefix-llama", "llama"), ("prefix-qwen2-plain", "qwen2"), ("prefix-qwen2", "qwen2"),
                               ("prefix-llama-projected", "llama")] {
            let folder = TestPaths.fixture("prompt-learning/\(name)")
            let backend = try CPUBackend()
            let model = try CausalLM.load(folder: TestPaths.fixture("models/\(family)"), backend: backend)
            let library = AdapterLibrary(model: model)
            try library.load(name: "prefix", folder: folder.appendingPathComponent("final"))
            try library.activate("prefix")
            XCTAssertNotNil(model.virtualTokens?.prefix, name)
            let ids = try assertDecodesAndGeneratesAsPeft(model, library: library, adapter: "prefix", fixture: folder, label: name)
            try library.activate(nil)
            XCTAssertNil(model.virtualTokens, "\(name): deactivated, no prefix")
            let base = try CausalLM.load(folder: TestPaths.fixture("models/\(family)"), backend: backend)
            let prompt = try TokenBatch(sequences: [(ids, [Int32](repeating: -100, count: ids.count))])
            XCTAssertEqual(try backend.download(model.logits(prompt)), try backend.download(base.logits(prompt)), "\(name): deactivated = base")
        }
        XCTAssertTrue(AdapterLibrary.isPromptTuning(folder: TestPaths.fixture("prompt-learning/prefix-llama/final")),
                      "serving refuses prefix tuning as it refuses prompt tuning")
    }
}
