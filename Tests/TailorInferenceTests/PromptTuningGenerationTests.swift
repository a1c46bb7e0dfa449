import Foundation
import TailorAdapters
import TailorInference
import TailorModels
import TailorTensor
import TailorTestSupport
import XCTest

/// peft prompt-tuning and P-tuning folders in generation (scripts/reference/make_prompt_learning_fixtures.py):
/// AdapterLibrary loads it, the KV-cache decode one token at a time (the virtual tokens filling the
/// slot's first positions) gives peft's logits, greedy generation gives transformers + peft's
/// tokens, and switching back gives the base model.
final class PromptTuningGenerationTests: XCTestCase {
    func testPromptTuningDecodesAndGeneratesAsPeft() throws {
        // P-tuning's folders (MLP and LSTM encoders) hold the encoder's output, the same table.
        for (name, family) in [("prompt-llama", "llama"), ("prompt-qwen2", "qwen2"), ("ptuning-llama", "llama"), ("ptuning-qwen2", "qwen2"),
                               ("ptuning-lstm-llama", "llama"), ("ptuning-lstm-qwen2", "qwen2")] {
            let folder = TestPaths.fixture("prompt-learning/\(name)")
            let backend = try CPUBackend()
            let model = try CausalLM.load(folder: TestPaths.fixture("models/\(family)"), backend: backend)
            let library = AdapterLibrary(model: model)
            try library.load(name: "prompt", folder: folder.appendingPathComponent("final"))
            XCTAssertNotNil(library.promptTuning(named: "prompt"))
            try library.activate("prompt")
            XCTAssertEqual(model.virtualTokens?.count, family == "llama" ? 4 : 3)
            let ids = try assertDecodesAndGeneratesAsPeft(model, library: library, adapter: "prompt", fixture: folder, label: name)
            try library.activate(nil)
            XCTAssertNil(model.virtualTokens, "\(name): deactivated, no virtual tokens")
            let base = try CausalLM.load(folder: TestPaths.fixture("models/\(family)"), backend: backend)
            let prompt = try TokenBatch(sequences: [(ids, [Int32](repeating: -100, count: ids.count))])
            XCTAssertEqual(try backend.download(model.logits(prompt)), try backend.download(base.logits(prompt)), "\(name): deactivated = base")
        }
    }

    /// Two prompts in one prefill, each in its own slot, both take the virtual tokens: each decodes as alone.
    func testBatchedPromptsEachTakeTheVirtualTokens() throws {
        let folder = TestPaths.fixture("prompt-learning/prompt-llama/final")
        let model = try CausalLM.load(folder: TestPaths.fixture("models/llama"), backend: try CPUBackend())
        let library = AdapterLibrary(model: model)
        try library.load(name: "prompt", folder: folder)
        let generator = Generator(model: model, adapters: library)
        var parameters = GenerationParameters()
        parameters.maxNewTokens = 6
        let prompts: [[Int32]] = [[5, 17, 33], [40, 2, 9, 61, 70]]
        let together = try generator.generate(prompts: prompts, parameters: parameters, adapter: .named("prompt")).map(\.tokens)
        let alone = try prompts.map { try generator.generate(prompts: [$0], parameters: parameters, adapter: .named("prompt"))[0].tokens }
        XCTAssertEqual(together, alone)
        let base = try generator.generate(prompts: prompts, parameters: parameters, adapter: .base).map(\.tokens)
        XCTAssertNotEqual(base, together, "the virtual tokens change what the model says")
    }

    /// Serving batches rows of different adapters: a prompt-tuning folder is refused there, and
    /// merging or exporting it says why.
    func testServingAndLoRAStepsRefusePromptTuning() throws {
        let folder = TestPaths.fixture("prompt-learning/prompt-llama/final")
        XCTAssertTrue(AdapterLibrary.isPromptTuning(folder: folder))
        XCTAssertFalse(AdapterLibrary.isPromptTuning(folder: TestPaths.fixture("ia3/ia3-llama/final")))
        let model = try CausalLM.load(folder: TestPaths.fixture("models/llama"), backend: try CPUBackend())
        XCTAssertThrowsError(try PeftAdapterFolder.load(folder: folder, for: model)) {
            XCTAssertTrue("\($0)".contains("peft has no merge for them"), "\($0)")
        }
    }
}
