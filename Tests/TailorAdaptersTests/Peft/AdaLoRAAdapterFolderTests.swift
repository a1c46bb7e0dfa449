import Foundation
import TailorAdapters
import TailorFormats
import TailorModels
import TailorTensor
import TailorTestSupport
import XCTest

/// Reading AdaLoRA folders: what peft writes is read (rank_pattern, kept ranks only, modules left
/// with rank 0), what Tailor cannot apply is an error naming the file and field or tensor, and the
/// LoRA-only steps name AdaLoRA.
final class AdaLoRAAdapterFolderTests: XCTestCase {
    let peftFolder = TestPaths.fixture("adalora/adalora-llama/final")

    /// A copy of peft's folder with adapter_config.json changed by `edit`.
    func edited(_ edit: (inout [String: Any]) -> Void) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-adalora-folder-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: peftFolder.appendingPathComponent(PeftAdapterLayout.weightsFile),
                                         to: folder.appendingPathComponent(PeftAdapterLayout.weightsFile))
        let data = try Data(contentsOf: peftFolder.appendingPathComponent(PeftAdapterLayout.configFile))
        var object = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        edit(&object)
        try JSONSerialization.data(withJSONObject: object).write(to: folder.appendingPathComponent(PeftAdapterLayout.configFile))
        return folder
    }

    func testPeftsConfigIsRead() throws {
        let config = try AdaLoRAAdapterFolder.readConfig(folder: peftFolder)
        XCTAssertEqual(config.initR, 6)
        XCTAssertEqual(config.targetR, 2)
        XCTAssertEqual(config.totalStep, 10)
        XCTAssertEqual(config.loraAlpha, 8)
        XCTAssertEqual(config.rankPattern?["model.layers.0.self_attn.q_proj"], [false, true, true, false, false, true])
        XCTAssertEqual(config.rankPattern?["model.layers.1.self_attn.v_proj"], [Bool](repeating: false, count: 6), "a module left with rank 0")
        if case let .names(names)? = config.targetModules { XCTAssertEqual(Set(names), ["q_proj", "v_proj"]) } else { XCTFail("\(config)") }
        XCTAssertTrue(AdaLoRAAdapterFolder.isAdaLoRA(folder: peftFolder))
        XCTAssertFalse(AdaLoRAAdapterFolder.isAdaLoRA(folder: TestPaths.fixture("ia3/ia3-llama/final")))
        // The initial folder has no rank_pattern: every module keeps init_r.
        let model = try CausalLM.load(folder: TestPaths.fixture("models/llama"), backend: try CPUBackend())
        let initial = try AdaLoRAAdapterFolder.load(folder: TestPaths.fixture("adalora/adalora-llama/init"), for: model)
        XCTAssertEqual(initial.modules.map(\.adalora.rank), [6, 6, 6, 6])
        XCTAssertEqual(try AdaLoRAAdapterFolder.load(folder: peftFolder, for: model).modules.map(\.adalora.rank), [3, 4, 1, 0])
    }

    func testWhatTailorCannotApplyIsNamed() throws {
        let model = try CausalLM.load(folder: TestPaths.fixture("models/llama"), backend: try CPUBackend())
        for (field, value, named) in [("layers_to_transform", [0] as Any, "layers_to_transform"), ("exclude_modules", ["q_proj"], "exclude_modules"),
                                      ("bias", "all", "bias"), ("init_r", 3, "rank_pattern"), ("target_r", 9, "target_r"),
                                      ("peft_type", "LORA", "peft_type")] {
            let folder = try edited { $0[field] = value }
            defer { try? FileManager.default.removeItem(at: folder) }
            XCTAssertThrowsError(try AdaLoRAAdapterFolder.load(folder: folder, for: model), field) {
                XCTAssertTrue("\($0)".contains(named) && "\($0)".contains(PeftAdapterLayout.configFile), "\($0)")
            }
        }
        // A rank_pattern that keeps other rows than the file holds does not fit its tensors.
        let more = try edited { config in
            var pattern = config["rank_pattern"] as? [String: Any] ?? [:]
            pattern["model.layers.0.self_attn.q_proj.lora_E"] = [true, true, true, true, false, true]
            config["rank_pattern"] = pattern
        }
        defer { try? FileManager.default.removeItem(at: more) }
        XCTAssertThrowsError(try AdaLoRAAdapterFolder.load(folder: more, for: model)) {
            XCTAssertTrue("\($0)".contains("q_proj.lora_A") && "\($0)".contains("rank 5"), "\($0)")
        }
        // The LoRA reader (GGUF export, LoRA training from a folder) names AdaLoRA and what to do.
        XCTAssertThrowsError(try PeftAdapterFolder.load(folder: peftFolder, for: model)) {
            XCTAssertTrue("\($0)".contains("ADALORA") && "\($0)".contains("tailor merge"), "\($0)")
        }
    }
}
