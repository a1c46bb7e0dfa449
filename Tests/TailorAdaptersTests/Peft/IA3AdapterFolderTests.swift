import Foundation
import TailorAdapters
import TailorFormats
import TailorModels
import TailorTensor
import TailorTestSupport
import XCTest

/// Reading IA³ folders: what peft writes is read, what Tailor cannot apply is an error naming the
/// file and field or tensor, and the LoRA-only steps (GGUF export, serving) refuse an IA³ folder.
final class IA3AdapterFolderTests: XCTestCase {
    let peftFolder = TestPaths.fixture("ia3/ia3-llama/final")

    /// A copy of peft's folder with adapter_config.json changed by `edit`.
    func edited(_ edit: (inout [String: Any]) -> Void) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-ia3-folder-\(UUID().uuidString)")
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
        let config = try IA3AdapterFolder.readConfig(folder: peftFolder)
        XCTAssertEqual(config.feedforwardModules, .names(["down_proj"]))
        XCTAssertEqual(config.initIA3Weights, true)
        XCTAssertEqual(config.modulesToSave, [])
        if case let .names(names)? = config.targetModules { XCTAssertEqual(Set(names), ["k_proj", "v_proj", "down_proj"]) } else { XCTFail("\(config)") }
        let save = try IA3AdapterFolder.readConfig(folder: TestPaths.fixture("ia3/ia3-llama-save/final"))
        XCTAssertEqual(save.feedforwardModules, .regex(#".*mlp\.(gate_proj|down_proj)"#))
        XCTAssertEqual(save.modulesToSave, ["lm_head"])
    }

    func testWhatTailorCannotApplyIsNamed() throws {
        let model = try CausalLM.load(folder: TestPaths.fixture("models/llama"), backend: try CPUBackend())
        let excluded = try edited { $0["exclude_modules"] = ["k_proj"] }
        defer { try? FileManager.default.removeItem(at: excluded) }
        XCTAssertThrowsError(try IA3AdapterFolder.load(folder: excluded, for: model)) {
            XCTAssertTrue("\($0)".contains("exclude_modules") && "\($0)".contains(PeftAdapterLayout.configFile), "\($0)")
        }
        // The vectors say down_proj scales its input; a config that says otherwise does not fit them.
        let swapped = try edited { $0["feedforward_modules"] = ["k_proj"]; $0["target_modules"] = ["k_proj", "v_proj", "down_proj"] }
        defer { try? FileManager.default.removeItem(at: swapped) }
        XCTAssertThrowsError(try IA3AdapterFolder.load(folder: swapped, for: model)) {
            XCTAssertTrue("\($0)".contains("ia3_l") && "\($0)".contains("feedforward_modules"), "\($0)")
        }
        let notSubset = try edited { $0["feedforward_modules"] = ["up_proj"] }
        defer { try? FileManager.default.removeItem(at: notSubset) }
        XCTAssertThrowsError(try IA3AdapterFolder.readConfig(folder: notSubset)) { XCTAssertTrue("\($0)".contains("subset"), "\($0)") }
        let badType = try edited { $0["feedforward_modules"] = 3 }
        defer { try? FileManager.default.removeItem(at: badType) }
        XCTAssertThrowsError(try IA3AdapterFolder.readConfig(folder: badType)) { XCTAssertTrue("\($0)".contains("feedforward_modules"), "\($0)") }
        // fan_in_fan_out is for Conv1D; peft turns it off for nn.Linear, so it loads the same.
        let fanIn = try edited { $0["fan_in_fan_out"] = true }
        defer { try? FileManager.default.removeItem(at: fanIn) }
        XCTAssertEqual(try IA3AdapterFolder.load(folder: fanIn, for: model).modules.count, 6)
    }

    /// GGUF export and serving read adapters as LoRA: an IA³ folder is refused saying what to do.
    func testLoRAStepsRefuseIA3() throws {
        XCTAssertThrowsError(try PeftAdapterFolder.readConfig(folder: peftFolder)) {
            XCTAssertTrue("\($0)".contains("IA3") && "\($0)".contains("tailor merge"), "\($0)")
        }
        XCTAssertEqual(try IA3AdapterFolder.peftType(folder: peftFolder), "IA3")
        XCTAssertFalse(IA3AdapterFolder.isIA3(folder: TestPaths.fixture("lora-variants/dora-llama/final")))
    }
}
