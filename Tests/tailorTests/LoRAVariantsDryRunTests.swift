import Foundation
import TailorTestSupport
import XCTest

/// `tailor train --dry-run` with the LoRA variants' keys prints the trainable parameters peft's
/// print_trainable_parameters prints for the same settings (Tests/Fixtures/lora-variants, whose
/// tiny llama has the shapes of generation/chat-llama), and refuses them with full fine-tuning.
final class LoRAVariantsDryRunTests: XCTestCase {
    func dryRun(_ keys: String) throws -> (Int32, String) {
        guard let binary = TestPaths.tailorBinary else { throw XCTSkip("the tailor executable is not built beside the tests") }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-variants-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        return try TestPaths.run(binary, ["train", try Self.writeRecipe(in: folder, keys: keys).path, "--dry-run"])
    }

    /// A recipe in `folder` (with two records of data beside it) training the tiny chat llama into
    /// `folder`/out, with LoRA r 4, alpha 8 on every Linear unless `lora` is false (another method's
    /// keys come in `keys`), plus `keys`.
    static func writeRecipe(in folder: URL, keys: String, lora: Bool = true) throws -> URL {
        let data = folder.appendingPathComponent("data.json")
        try #"[{"instruction": "Say hi", "output": "hi"}, {"instruction": "Say bye", "output": "bye"}]"#
            .write(to: data, atomically: true, encoding: .utf8)
        let recipe = """
        model_name_or_path: \(TestPaths.fixture("generation/chat-llama").path)
        dataset: \(data.path)
        output_dir: \(folder.appendingPathComponent("out").path)
        \(lora ? "lora_rank: 4\nlora_alpha: 8\nlora_target: all\n" : "")bf16: false

        """ + keys
        let file = folder.appendingPathComponent("recipe.yaml")
        try recipe.write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    func testTrainableParametersArePefts() throws {
        for (name, keys, trainable) in [
            ("dora-llama", "use_dora: true\n", 4608),
            ("patterns-llama", #"""
                rank_pattern:
                  'layers\.1\.mlp\.down_proj': 2
                  model.layers.0.mlp.up_proj: 6
                  q_proj: 8
                alpha_pattern: {'.*\.1\.self_attn\.o_proj': 2, v_proj: 32}

                """#, 4608),
            ("loraplus-llama", "loraplus_lr_ratio: 16\n", 4096),
        ] {
            let (status, output) = try dryRun(keys)
            XCTAssertEqual(status, 0, "\(name): \(output)")
            XCTAssertTrue(output.contains("trainable params: \(trainable) ||"), "\(name): peft prints trainable params: \(trainable)\n\(output)")
        }
    }

    func testVariantKeysWithFullFineTuningAreRefused() throws {
        let (status, output) = try dryRun("finetuning_type: full\nuse_dora: true\n")
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("use_dora") && output.contains("finetuning_type"), output)
    }
}
