import Foundation
import TailorTestSupport
import XCTest

/// `tailor train --dry-run` with peft_type IA3 prints the trainable parameters peft's
/// print_trainable_parameters prints for the same settings (Tests/Fixtures/ia3, whose tiny llama
/// has the shapes of generation/chat-llama), and refuses keys of another method.
final class IA3DryRunTests: XCTestCase {
    func dryRun(_ keys: String) throws -> (Int32, String) {
        guard let binary = TestPaths.tailorBinary else { throw XCTSkip("the tailor executable is not built beside the tests") }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-ia3-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = try LoRAVariantsDryRunTests.writeRecipe(in: folder, keys: keys, lora: false)
        return try TestPaths.run(binary, ["train", file.path, "--dry-run"])
    }

    func testTrainableParametersArePefts() throws {
        for (name, keys, trainable) in [
            ("ia3-llama", "peft_type: IA3\n", 192),
            ("ia3-llama-save", "peft_type: IA3\ntarget_modules: all-linear\nfeedforward_modules: '.*mlp\\.(gate_proj|down_proj)'\nmodules_to_save: [lm_head]\n", 3584),
        ] {
            let (status, output) = try dryRun(keys)
            XCTAssertEqual(status, 0, "\(name): \(output)")
            XCTAssertTrue(output.contains("trainable params: \(trainable) ||"), "\(name): peft prints trainable params: \(trainable)\n\(output)")
            // The resolved recipe names peft_type and the modules peft's defaults pick.
            XCTAssertTrue(output.contains("peft_type: IA3"), output)
            XCTAssertFalse(output.contains("lora_alpha:"), output)
        }
        let (_, output) = try dryRun("peft_type: IA3\n")
        XCTAssertTrue(output.contains("target_modules: [down_proj, k_proj, v_proj]"), output)
        XCTAssertTrue(output.contains("feedforward_modules: [down_proj]"), output)
    }

    func testKeysOfAnotherMethodAreRefused() throws {
        for (keys, named) in [("peft_type: IA3\nlora_rank: 8\n", "r"), ("peft_type: IA3\nfinetuning_type: lora\n", "finetuning_type"),
                              ("feedforward_modules: [down_proj]\n", "feedforward_modules")] {
            let (status, output) = try dryRun(keys)
            XCTAssertNotEqual(status, 0, keys)
            XCTAssertTrue(output.contains("'\(named)'") || output.contains(named), "\(keys): \(output)")
            XCTAssertTrue(output.contains("peft_type"), "\(keys): \(output)")
        }
    }
}
