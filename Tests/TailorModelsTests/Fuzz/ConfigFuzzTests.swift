import Foundation
import TailorFormats
import TailorModels
import TailorTestSupport
import XCTest

/// Seeded fuzzing of config.json and of a GGUF file's model metadata (see `Fuzz`): a mutated file
/// reads or throws `ModelError` (`FormatError` from the GGUF container), within the time bound.
final class ConfigFuzzTests: XCTestCase {
    func testConfigJSON() throws {
        let folders = try FileManager.default.contentsOfDirectory(at: TestPaths.fixture("models"), includingPropertiesForKeys: nil)
        let corpus = Fuzz.files(folders.map { $0.appendingPathComponent("config.json") } + [TestPaths.fixture("generation/chat-llama/config.json")])
        Fuzz.run("config.json", seed: 0xC0F16, cases: 1000, corpus: corpus, text: true, expected: { $0 is ModelError }) { bytes in
            let config = try ModelConfig(json: Data(bytes), file: "m/config.json")
            _ = try config.huggingFaceJSON()
        }
    }

    func testGGUFModelMetadata() throws {
        let corpus = Fuzz.files([TestPaths.fixture("formats/gguf/small.gguf"), TestPaths.fixture("formats/gguf/aligned.gguf"),
                                 TestPaths.sharedFile("tokenizers/gguf-vocab/ggml-vocab-llama-spm.gguf")])
        Fuzz.run("gguf-model", seed: 0x66F0, cases: 150, corpus: corpus, text: false,
                 expected: { $0 is ModelError || $0 is FormatError }) { bytes in
            let url = try Fuzz.write(bytes, name: "model.gguf")
            defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
            _ = try ModelConfig(gguf: try GGUFFile(url: url))
        }
    }
}
