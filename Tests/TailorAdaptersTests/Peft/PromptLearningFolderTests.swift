import Foundation
import TailorAdapters
import TailorFormats
import TailorModels
import TailorTensor
import TailorTestSupport
import XCTest

/// Reading prompt- and prefix-tuning folders: a field that does not fit the model is an error
/// naming the file and field, a mis-shaped table names the tensor, and each reader names the
/// types it takes.
final class PromptLearningFolderTests: XCTestCase {
    /// A copy of fixture folder `fixture` with adapter_config.json changed by `edit`.
    func edited(_ fixture: String, _ edit: (inout [String: Any]) -> Void) throws -> URL {
        let source = TestPaths.fixture("prompt-learning/\(fixture)/final")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-prompt-folder-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.copyItem(at: source.appendingPathComponent(PeftAdapterLayout.weightsFile),
                                         to: folder.appendingPathComponent(PeftAdapterLayout.weightsFile))
        let data = try Data(contentsOf: source.appendingPathComponent(PeftAdapterLayout.configFile))
        var object = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        edit(&object)
        try JSONSerialization.data(withJSONObject: object).write(to: folder.appendingPathComponent(PeftAdapterLayout.configFile))
        return folder
    }

    func testFieldsThatDoNotFitAreNamed() throws {
        let llama = try CausalLM.load(folder: TestPaths.fixture("models/llama"), backend: try CPUBackend())
        for (fixture, edit, expected) in [
            ("prompt-llama", { (o: inout [String: Any]) in o["token_dim"] = 48 }, "field 'token_dim' is 48, but this model's hidden_size is 32"),
            ("prompt-llama", { (o: inout [String: Any]) in o["num_virtual_tokens"] = nil }, "field 'num_virtual_tokens' is missing"),
            ("prompt-llama", { (o: inout [String: Any]) in o["num_virtual_tokens"] = 5 }, "'prompt_embeddings' has shape [4, 32] but num_virtual_tokens 5"),
            ("prompt-llama", { (o: inout [String: Any]) in o["num_virtual_tokens"] = 500 }, "max_position_embeddings) is 128"),
            ("prompt-llama", { (o: inout [String: Any]) in o["num_transformer_submodules"] = 2 }, "a causal LM has 1"),
            ("prefix-llama", { (o: inout [String: Any]) in o["token_dim"] = 32 }, "peft's token_dim for prefix tuning"),
            ("prefix-llama", { (o: inout [String: Any]) in o["num_layers"] = 3 }, "field 'num_layers' is 3, but this model has 2 layers"),
            ("prefix-llama", { (o: inout [String: Any]) in o["num_virtual_tokens"] = "four" }, "it must be a whole number"),
        ] as [(String, (inout [String: Any]) -> Void, String)] {
            let folder = try edited(fixture, edit)
            XCTAssertThrowsError(fixture.hasPrefix("prefix") ? try PrefixTuningFolder.load(folder: folder, for: llama)
                                                              : try PromptTuningFolder.load(folder: folder, for: llama) as Any) { error in
                XCTAssertTrue("\(error)".contains(expected) && "\(error)".contains(folder.path), "\(fixture): \(error)")
            }
        }
        XCTAssertThrowsError(try PrefixTuningFolder.load(folder: TestPaths.fixture("prompt-learning/prompt-llama/final"), for: llama)) {
            XCTAssertTrue("\($0)".contains("this reader takes \"PREFIX_TUNING\""), "\($0)")
        }
    }
}
