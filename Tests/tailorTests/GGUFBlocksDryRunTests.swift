import Foundation
import TailorTestSupport
import XCTest

/// `tailor train --dry-run` on the real SmolLM2 Q4_1 GGUF: LoRA plans on the file's blocks as they are (the
/// header names them, the estimate counts their bytes, no f32 import is written); full fine-tuning says why it
/// imports the file to f32 first.
final class GGUFBlocksDryRunTests: XCTestCase {
    func testTheDryRunSaysWhatStaysInBlocks() throws {
        let gguf = try SmolLM2File.locate()
        guard let tailor = TestPaths.tailorBinary else { throw XCTSkip("the tailor executable is not built beside the tests") }
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-gguf-dry-run-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: cache) }
        let persona = TestPaths.fixtures.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("examples/persona/persona.jsonl")
        func dryRun(_ extra: [String]) throws -> String {
            let (status, output) = try TestPaths.run(tailor, ["train", "--model_name_or_path", gguf.path, "--dataset", persona.path,
                                                              "--output_dir", cache.appendingPathComponent("out").path, "--dry-run",
                                                              "--target_modules", "all-linear"] + extra,
                                                     environment: ["TAILOR_CACHE": cache.path])
            XCTAssertEqual(status, 0, output)
            return output
        }
        let lora = try dryRun([])
        XCTAssertTrue(lora.contains("frozen weights: SmolLM2-135M-Instruct.Q4_1.gguf's ggml blocks as stored, 210 q4_1 tensors (63.3 MiB), 1 q8_0 tensor (28.7 MiB)"), lora)
        XCTAssertTrue(lora.contains("(weights 0.10 GB,"), "the estimate counts the blocks' bytes: \(lora)")
        let imported = try FileManager.default.contentsOfDirectory(atPath: cache.appendingPathComponent("imported").path)
        XCTAssertEqual(imported.count, 1, "\(imported)")
        XCTAssertTrue(imported[0].hasSuffix("-files"), imported[0])
        let folder = cache.appendingPathComponent("imported").appendingPathComponent(imported[0])
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("model.safetensors").path))

        let full = try dryRun(["--finetuning_type", "full"])
        XCTAssertTrue(full.contains("weights: SmolLM2-135M-Instruct.Q4_1.gguf imported to f32 first: full fine-tuning trains the weights"), full)
        XCTAssertFalse(full.contains("ggml blocks as stored"), full)
    }
}
