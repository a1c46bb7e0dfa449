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
            let ids = try assertDecodesAndGeneratesAsPeft(model, library: library, adapter: "adalora", fixture: folder, label: name)
            try library.activate(nil)
            let base = try CausalLM.load(folder: TestPaths.fixture("models/\(family)"), backend: backend)
            let prompt = try TokenBatch(sequences: [(ids, [Int32](repeating: -100, count: ids.count))])
            XCTAssertEqual(try backend.download(model.logits(prompt)), try backend.download(base.logits(prompt)), "\(name): deactivated = base")
        }
    }
}
