import Foundation
import TailorAdapters
import TailorFormats
import TailorInference
import TailorModels
import TailorTensor
import TailorTestSupport
import XCTest

/// A peft IA³ folder in generation (scripts/reference/make_ia3_fixtures.py): AdapterLibrary
/// attaches it, the KV-cache decode one token at a time gives peft's logits, greedy generation
/// gives transformers + peft's tokens, and switching back gives the base model.
final class IA3GenerationTests: XCTestCase {
    func testIA3AdapterDecodesAndGeneratesAsPeft() throws {
        for (name, family) in [("ia3-llama", "llama"), ("ia3-qwen2", "qwen2"), ("ia3-llama-save", "llama")] {
            let folder = TestPaths.fixture("ia3/\(name)")
            let backend = try CPUBackend()
            let model = try CausalLM.load(folder: TestPaths.fixture("models/\(family)"), backend: backend)
            let library = AdapterLibrary(model: model)
            try library.load(name: "ia3", folder: folder.appendingPathComponent("final"))
            XCTAssertEqual(library.names, ["ia3"])
            XCTAssertNotNil(library.ia3Adapters(named: "ia3"))
            try library.activate("ia3")
            XCTAssertEqual(library.active, "ia3")
            let ids = try assertDecodesAndGeneratesAsPeft(model, library: library, adapter: "ia3", fixture: folder, label: name)
            // The base again: switching away takes the vectors (and lm_head's copy) off.
            try library.activate(nil)
            let base = try CausalLM.load(folder: TestPaths.fixture("models/\(family)"), backend: backend)
            let prompt = try TokenBatch(sequences: [(ids, [Int32](repeating: -100, count: ids.count))])
            XCTAssertEqual(try backend.download(model.logits(prompt)), try backend.download(base.logits(prompt)), "\(name): deactivated = base")
        }
    }

    /// Serving batches rows of different adapters: an IA³ folder is refused there with what to do instead.
    func testServingRefusesIA3() {
        XCTAssertTrue(AdapterLibrary.isIA3(folder: TestPaths.fixture("ia3/ia3-llama/final")))
        XCTAssertFalse(AdapterLibrary.isIA3(folder: TestPaths.fixture("lora-variants/dora-llama/final")))
    }
}

extension IA3GenerationTests {
    /// One library holding a LoRA (DoRA) adapter and an IA³ adapter: each, when active, gives
    /// peft's logits, and the base comes back between them.
    func testLoRAAndIA3InOneLibrary() throws {
        let backend = try CPUBackend()
        let model = try CausalLM.load(folder: TestPaths.fixture("models/llama"), backend: backend)
        let library = AdapterLibrary(model: model)
        try library.load(name: "ia3", folder: TestPaths.fixture("ia3/ia3-llama/final"))
        try library.load(name: "dora", folder: TestPaths.fixture("lora-variants/dora-llama/final"))
        XCTAssertEqual(Set(library.names), ["ia3", "dora"])
        func check(_ fixture: String) throws {
            let folder = TestPaths.fixture(fixture)
            let data = try SafetensorsFile(url: folder.appendingPathComponent("data.safetensors"))
            let ids = try data.floats("input_ids").prefix(Int(try data.floats("lengths")[0])).map { Int32($0) }
            let expected = try SafetensorsFile(url: folder.appendingPathComponent("reference.safetensors")).floats("logits")
            let batch = try TokenBatch(sequences: [(ids, [Int32](repeating: -100, count: ids.count))])
            assertClose(try backend.download(model.logits(batch)), expected, rtol: 1e-4, atol: 1e-5, fixture)
        }
        for _ in 0..<2 {
            try library.activate("ia3")
            try check("ia3/ia3-llama")
            try library.activate("dora")
            try check("lora-variants/dora-llama")
        }
        try library.activate("ia3")
        // Loading another LoRA adapter while IA³ is active keeps IA³ active.
        try library.load(name: "dora2", folder: TestPaths.fixture("lora-variants/dora-llama/final"))
        try check("ia3/ia3-llama")
        try library.activate(nil)
        let base = try CausalLM.load(folder: TestPaths.fixture("models/llama"), backend: backend)
        let ids: [Int32] = [5, 9, 13, 40]
        let batch = try TokenBatch(sequences: [(ids, [Int32](repeating: -100, count: ids.count))])
        XCTAssertEqual(try backend.download(model.logits(batch)), try backend.download(base.logits(batch)), "none active: the base")
    }
}
