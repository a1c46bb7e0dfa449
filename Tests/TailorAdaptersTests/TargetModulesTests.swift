import Foundation
@testable import TailorAdapters
import TailorFormats
import TailorModels
import TailorTensor
import TailorTestSupport
import XCTest

/// target_modules is never silently ignored: a listed name that matches no Linear, a regular
/// expression that matches nothing or does not compile, and layers_to_transform that leave nothing
/// are errors that name the value and list the model's modules (peft: "Target modules ... not found
/// in the base model"). Settings read from adapter_config.json are named as its fields.
final class TargetModulesTests: XCTestCase {
    func model() throws -> CausalLM {
        try CausalLM.load(folder: TestPaths.fixture("models/llama"), backend: try CPUBackend())
    }

    func picked(_ targets: TargetModules, layers: [Int]? = nil) throws -> [String] {
        try LoRAAdapters.targetedModules(of: try model(), config: LoRAConfig(r: 2, targetModules: targets, layersToTransform: layers))
    }

    func testAListedNameThatMatchesNothingIsAnError() throws {
        for targets in [["q_proj", "q_porj"], ["q_porj"]] {
            XCTAssertThrowsError(try picked(.names(targets))) { error in
                guard case AdapterError.targetModuleNotFound("q_porj", .names(targets), let available) = error else { return XCTFail("\(error)") }
                XCTAssertTrue(available.contains("model.layers.0.self_attn.q_proj"), "\(available)")
                XCTAssertTrue("\(error)".hasPrefix("target_modules [\(targets.joined(separator: ", "))] names 'q_porj', which matches no Linear module"), "\(error)")
                XCTAssertTrue("\(error)".contains("self_attn.q_proj, self_attn.v_proj"), "\(error)")
            }
        }
        XCTAssertEqual(try picked(.names(["self_attn.q_proj", "v_proj"])).count, 2 * (try model().layers.count))
    }

    func testARegexThatMatchesNothingIsAnErrorAsInPeft() throws {
        // A string target_modules must match the whole name: 'q_proj|v_proj' matches no module.
        XCTAssertThrowsError(try picked(.regex("q_proj|v_proj"))) { error in
            guard case AdapterError.noTargetModules(.regex("q_proj|v_proj"), _) = error else { return XCTFail("\(error)") }
            let message = "\(error)"
            XCTAssertTrue(message.hasPrefix("target modules 'q_proj|v_proj' not found in the base model"), message)
            XCTAssertTrue(message.contains("whole name") && message.contains("model.layers.0.self_attn.q_proj"), message)
            XCTAssertTrue(message.contains("Check target_modules (and layers_to_transform) and try again"), message)
        }
        XCTAssertEqual(try picked(.regex(#".*\.(q_proj|v_proj)"#)).count, 2 * (try model().layers.count))
    }

    func testAnInvalidRegexNamesThePattern() throws {
        XCTAssertThrowsError(try picked(.regex("[q_proj"))) { error in
            guard case AdapterError.badOption("target_modules", let problem) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(problem.hasPrefix("'[q_proj' is not a valid regular expression"), problem)
            XCTAssertTrue(problem.contains("whole name"), problem)
        }
    }

    func testLayersToTransformThatLeaveNothingIsAnError() throws {
        XCTAssertThrowsError(try picked(.names(["q_proj"]), layers: [99])) { error in
            guard case AdapterError.noTargetModules = error else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains("layers_to_transform"), "\(error)")
        }
        XCTAssertEqual(try picked(.names(["q_proj"]), layers: [0]), ["model.layers.0.self_attn.q_proj"])
    }

    /// A modules_to_save entry that fits no module, read from adapter_config.json, names the file and field.
    func testAdapterConfigSettingsAreNamedAsItsFields() throws {
        let backend = try CPUBackend()
        let model = try CausalLM.load(folder: TestPaths.fixture("models/qwen2"), backend: backend)
        let adapters = try LoRAAdapters.make(for: model, config: LoRAConfig(r: 2, targetModules: .names(["q_proj"])))
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-targets-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try PeftAdapterWriter.write(adapters, backend: backend, to: folder, baseModel: "qwen2")
        let configURL = folder.appendingPathComponent(PeftAdapterLayout.configFile)
        var config = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as? [String: Any])
        config["modules_to_save"] = ["embed_tokenz"]
        try JSONSerialization.data(withJSONObject: config).write(to: configURL)
        XCTAssertThrowsError(try PeftAdapterFolder.load(folder: folder, for: model)) { error in
            guard case AdapterError.adapterConfig(configURL.path, "modules_to_save", _) = error else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".hasPrefix("\(configURL.path): field 'modules_to_save' names 'embed_tokenz'"), "\(error)")
            XCTAssertFalse("\(error)".contains("option"), "\(error)")
        }
    }
}
