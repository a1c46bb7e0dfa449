import Foundation
import TailorAdapters
import TailorFormats
import TailorModels
import TailorTensor
import TailorTestSupport
import XCTest

/// Tailor's adapter folder in peft's layout. Set TAILOR_KEEP_OUTPUT=DIR to keep the folder and
/// Tailor's logits for scripts/peers/check_peft_adapter.py (peft loads it; logits compared).
final class PeftAdapterWriterTests: XCTestCase {
    func testAdapterFolderHasPeftKeysAndConfig() throws {
        let backend = try CPUBackend()
        let base = TestPaths.fixture("models/qwen2")
        let model = try CausalLM.load(folder: base, backend: backend)
        var rng = SeededRandom(seed: 11)
        // Non-zero B so the adapter changes the logits.
        let adapters = try LoRAAdapters.attach(to: model, config: LoRAConfig(r: 4, loraAlpha: 16, targetModules: .names(["q_proj", "v_proj", "down_proj"]))) { _, shape in
            rng.floats(shape.reduce(1, *), scale: 0.3)
        }
        let keep = ProcessInfo.processInfo.environment["TAILOR_KEEP_OUTPUT"].map { URL(fileURLWithPath: $0) }
        let folder = keep ?? FileManager.default.temporaryDirectory.appendingPathComponent("tailor-adapter-\(UUID().uuidString)")
        defer { if keep == nil { try? FileManager.default.removeItem(at: folder) } }
        try PeftAdapterWriter.write(adapters, backend: backend, to: folder, baseModel: base.path)

        let file = try SafetensorsFile(url: folder.appendingPathComponent("adapter_model.safetensors"))
        XCTAssertEqual(file.tensorNames.count, 2 * 3 * 2)
        XCTAssertEqual(file.info("base_model.model.model.layers.1.mlp.down_proj.lora_B.weight")?.shape, [32, 4])
        XCTAssertEqual(try file.floats("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"),
                       try backend.download(adapters.modules[0].lora.a))
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("adapter_config.json"))) as? [String: Any]
        XCTAssertEqual(config?["peft_type"] as? String, "LORA")
        XCTAssertEqual(config?["r"] as? Int, 4)
        XCTAssertEqual(config?["lora_alpha"] as? Double, 16)
        XCTAssertEqual(Set(config?["target_modules"] as? [String] ?? []), ["q_proj", "v_proj", "down_proj"])

        if let keep {
            let batch = try TokenBatch(sequences: [(ids: [5, 17, 33, 2, 60, 41], labels: [Int32](repeating: -100, count: 6))])
            let logits = try backend.download(model.logits(batch))
            try SafetensorsWriter.write([SafetensorsWriter.Tensor(name: "logits", shape: [6, 96], floats: logits),
                                         SafetensorsWriter.Tensor(name: "input_ids", shape: [6], floats: batch.inputIds.map(Float.init))],
                                        to: keep.appendingPathComponent("tailor_logits.safetensors"))
        }
    }

    /// The folder's file names and config keys are the layout's and schema's (TailorFormats).
    func testWrittenFolderFollowsTheLayoutAndSchema() throws {
        let backend = try CPUBackend()
        let model = try CausalLM.load(folder: TestPaths.fixture("models/qwen2"), backend: backend)
        let adapters = try LoRAAdapters.make(for: model, config: LoRAConfig(r: 2, targetModules: .allLinear, bias: .loraOnly,
                                                                            modulesToSave: ["lm_head"]))
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-adapter-layout-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try PeftAdapterWriter.write(adapters, backend: backend, to: folder, baseModel: "qwen2")
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: folder.path)),
                       [PeftAdapterLayout.configFile, PeftAdapterLayout.weightsFile])
        let config = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent(PeftAdapterLayout.configFile))) as? [String: Any])
        let schema = Set(PeftAdapterConfigKey.allCases.map(\.rawValue))
        XCTAssertEqual(Set(config.keys).subtracting(schema), [], "keys written outside the schema")
        let keys = try SafetensorsFile(url: folder.appendingPathComponent(PeftAdapterLayout.weightsFile)).tensorNames
        XCTAssertEqual(Set(keys), Set(adapters.trainableTensors.map { adapters.peftKey($0.name) }))
        XCTAssertTrue(keys.allSatisfy { $0.hasPrefix(PeftAdapterLayout.keyPrefix) }, "\(keys)")
    }
}
