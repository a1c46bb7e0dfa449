import Foundation
import TailorTestSupport
import XCTest

/// `tailor train --dry-run` with peft_type ADALORA prints the trainable parameters peft's
/// print_trainable_parameters prints for the same settings (Tests/Fixtures/adalora, whose tiny
/// llama has the shapes of generation/chat-llama), and refuses keys of another method and
/// schedules peft refuses.
final class AdaLoRADryRunTests: XCTestCase {
    func dryRun(_ keys: String) throws -> (Int32, String) {
        guard let binary = TestPaths.tailorBinary else { throw XCTSkip("the tailor executable is not built beside the tests") }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-adalora-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = try LoRAVariantsDryRunTests.writeRecipe(in: folder, keys: keys, lora: false)
        return try TestPaths.run(binary, ["train", file.path, "--dry-run"])
    }

    func testTrainableParametersArePefts() throws {
        let (status, output) = try dryRun("peft_type: ADALORA\ninit_r: 6\ntarget_r: 2\ntinit: 2\ntfinal: 3\ntotal_step: 10\n")
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(output.contains("trainable params: 1368 ||"), "peft prints trainable params: 1368\n\(output)")
        XCTAssertTrue(output.contains("peft_type: ADALORA"), output)
        XCTAssertTrue(output.contains("target_modules: [q_proj, v_proj]"), output)
        XCTAssertTrue(output.contains("init_r: 6"), output)
        XCTAssertFalse(output.contains("\nr: ") || output.contains("lora_r:"), output)
    }

    func testBadInputIsRefused() throws {
        for (keys, named) in [("peft_type: ADALORA\nlora_rank: 8\n", "r"), ("peft_type: ADALORA\nfinetuning_type: lora\n", "finetuning_type"),
                              ("init_r: 8\n", "init_r"), ("peft_type: IA3\ntarget_r: 2\n", "target_r"),
                              ("peft_type: ADALORA\ninit_r: 2\ntarget_r: 4\n", "target_r"),
                              ("peft_type: ADALORA\ntinit: 5\ntfinal: 5\ntotal_step: 10\n", "tinit")] {
            let (status, output) = try dryRun(keys)
            XCTAssertNotEqual(status, 0, keys)
            XCTAssertTrue(output.contains(named), "\(keys): \(output)")
        }
    }
}
