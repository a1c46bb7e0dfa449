import Foundation
import TailorFormats
import TailorTestSupport
import XCTest

/// Seeded fuzzing of the safetensors and GGUF headers (see `Fuzz`): a mutated file reads or
/// throws `FormatError`, within the time bound.
final class HeaderFuzzTests: XCTestCase {
    func testSafetensorsHeaders() throws {
        let fixtures = try FileManager.default.contentsOfDirectory(at: TestPaths.fixture("generation/adapters"), includingPropertiesForKeys: nil)
            .map { $0.appendingPathComponent("adapter_model.safetensors") }
        Fuzz.run("safetensors", seed: 0x5AFE, cases: 300, corpus: Fuzz.files(fixtures), text: false,
                 expected: { $0 is FormatError }) { bytes in
            let url = try Fuzz.write(bytes, name: "model.safetensors")
            defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
            let file = try SafetensorsFile(url: url)
            for info in file.tensorInfos where info.byteCount < 1 << 22 {
                do { _ = try file.floats(info.name) } catch FormatError.unsupportedConversion {}
            }
        }
    }

    func testGGUFHeadersAndMetadata() throws {
        var urls: [URL?] = [TestPaths.fixture("formats/gguf/small.gguf"), TestPaths.fixture("formats/gguf/aligned.gguf")]
        urls += ["ggml-vocab-llama-spm.gguf", "ggml-vocab-deepseek-coder.gguf"].map { TestPaths.sharedFile("tokenizers/gguf-vocab/" + $0) }
        Fuzz.run("gguf", seed: 0x6609F, cases: 200, corpus: Fuzz.files(urls), text: false, expected: { $0 is FormatError }) { bytes in
            let url = try Fuzz.write(bytes, name: "model.gguf")
            defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
            let file = try GGUFFile(url: url)
            for key in file.metadataKeys { _ = file.metadata[key].map { "\($0)" } }
        }
    }
}
