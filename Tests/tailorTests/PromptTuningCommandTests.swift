import Foundation
import TailorTestSupport
import XCTest

/// `tailor train` with peft_type PROMPT_TUNING end to end: the dry run prints peft's trainable count
/// (P × hidden_size, as print_trainable_parameters for Tests/Fixtures/prompt-learning/prompt-llama,
/// whose tiny llama has generation/chat-llama's shapes), a real run writes a peft prompt-tuning
/// folder, and `tailor generate --adapter` reads it; a prefix as long as the context is refused.
final class PromptTuningCommandTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-prompt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func binary() throws -> URL {
        guard let binary = TestPaths.tailorBinary else { throw XCTSkip("the tailor executable is not built beside the tests") }
        return binary
    }

    func testDryRunTrainGenerate() throws {
        let tailor = try binary()
        let recipe = try LoRAVariantsDryRunTests.writeRecipe(in: folder, keys: "peft_type: PROMPT_TUNING\nnum_virtual_tokens: 4\nmax_steps: 3\nlearning_rate: 0.01\nlogging_steps: 1\n", lora: false)
        let (dryStatus, dry) = try TestPaths.run(tailor, ["train", recipe.path, "--dry-run"])
        XCTAssertEqual(dryStatus, 0, dry)
        XCTAssertTrue(dry.contains("trainable params: 128 ||"), "peft prints trainable params: 128 for P 4 × C 32\n\(dry)")
        XCTAssertTrue(dry.contains("peft_type: PROMPT_TUNING"), dry)

        let (status, output) = try TestPaths.run(tailor, ["train", recipe.path])
        XCTAssertEqual(status, 0, output)
        let out = folder.appendingPathComponent("out")
        let config = try String(contentsOf: out.appendingPathComponent("adapter_config.json"), encoding: .utf8)
        XCTAssertTrue(config.contains("\"peft_type\": \"PROMPT_TUNING\"") && config.contains("\"num_virtual_tokens\": 4"), config)
        let (genStatus, generated) = try TestPaths.run(tailor, ["generate", "--model", TestPaths.fixture("generation/chat-llama").path,
                                                                "--adapter", out.path, "--prompt", "Say hi", "--greedy",
                                                                "--max-new-tokens", "4"])
        XCTAssertEqual(genStatus, 0, generated)
    }

    /// PREFIX_TUNING: peft's count (P × layers × 2 × Hkv·D = 4 × 2 × 2 × 16), a folder peft's
    /// reader takes, generation from it, and a resume from a mid-run checkpoint that ends where the
    /// whole run ends, byte for byte (peft's one table split into the layers' tensors and back).
    func testPrefixTuningTrainsResumesAndGenerates() throws {
        let tailor = try binary()
        let keys = "peft_type: PREFIX_TUNING\nnum_virtual_tokens: 4\nmax_steps: 4\nlearning_rate: 0.01\nper_device_train_batch_size: 1\n"
            + "save_strategy: steps\nsave_steps: 2\n"
        let recipe = try LoRAVariantsDryRunTests.writeRecipe(in: folder, keys: keys, lora: false)
        let (dryStatus, dry) = try TestPaths.run(tailor, ["train", recipe.path, "--dry-run"])
        XCTAssertEqual(dryStatus, 0, dry)
        XCTAssertTrue(dry.contains("trainable params: 256 ||"), "peft prints trainable params: 256\n\(dry)")
        let (status, output) = try TestPaths.run(tailor, ["train", recipe.path])
        XCTAssertEqual(status, 0, output)
        let out = folder.appendingPathComponent("out")
        let config = try String(contentsOf: out.appendingPathComponent("adapter_config.json"), encoding: .utf8)
        XCTAssertTrue(config.contains("\"peft_type\": \"PREFIX_TUNING\"") && config.contains("\"token_dim\": 16"), config)
        let resumed = folder.appendingPathComponent("resumed")
        let (resumeStatus, resumeOutput) = try TestPaths.run(tailor, ["train", recipe.path, "--output_dir", resumed.path,
                                                                      "--resume_from_checkpoint", out.appendingPathComponent("checkpoint-2").path])
        XCTAssertEqual(resumeStatus, 0, resumeOutput)
        XCTAssertEqual(try Data(contentsOf: resumed.appendingPathComponent("adapter_model.safetensors")),
                       try Data(contentsOf: out.appendingPathComponent("adapter_model.safetensors")), "resumed = whole run")
        let (genStatus, generated) = try TestPaths.run(tailor, ["generate", "--model", TestPaths.fixture("generation/chat-llama").path,
                                                                "--adapter", out.path, "--prompt", "Say hi", "--greedy",
                                                                "--max-new-tokens", "4"])
        XCTAssertEqual(genStatus, 0, generated)

        // prefix_projection: peft's count (4·16 + 16·16 + 16 + 64·16 + 64), a folder saying so, no going on from it.
        let projected = folder.appendingPathComponent("projected")
        let projectedKeys = ["--prefix_projection", "true", "--encoder_hidden_size", "16", "--output_dir", projected.path]
        let (projectedDryStatus, projectedDry) = try TestPaths.run(tailor, ["train", recipe.path, "--dry-run"] + projectedKeys)
        XCTAssertEqual(projectedDryStatus, 0, projectedDry)
        XCTAssertTrue(projectedDry.contains("trainable params: 1424 ||"), "peft prints trainable params: 1424\n\(projectedDry)")
        let (projectedStatus, projectedOutput) = try TestPaths.run(tailor, ["train", recipe.path] + projectedKeys)
        XCTAssertEqual(projectedStatus, 0, projectedOutput)
        let projectedConfig = try String(contentsOf: projected.appendingPathComponent("adapter_config.json"), encoding: .utf8)
        XCTAssertTrue(projectedConfig.contains("\"prefix_projection\": true") && projectedConfig.contains("\"encoder_hidden_size\": 16"), projectedConfig)
        let (refusedStatus, refused) = try TestPaths.run(tailor, ["train", recipe.path, "--dry-run", "--resume_from_checkpoint",
                                                                  projected.appendingPathComponent("checkpoint-2").path] + projectedKeys)
        XCTAssertNotEqual(refusedStatus, 0, refused)
        XCTAssertTrue(refused.contains("prefix_projection") && refused.contains("its folders hold the encoder's output"), refused)
    }

    /// P_TUNING: peft's count (the encoder: 4·32 + 16·32 + 16 + 16·16 + 16 + 32·16 + 32), a run writes
    /// peft's folder (the encoder's output) that generation reads; going on from it is refused.
    func testPTuningTrainsAndGenerates() throws {
        let tailor = try binary()
        let recipe = try LoRAVariantsDryRunTests.writeRecipe(in: folder, keys: "peft_type: P_TUNING\nnum_virtual_tokens: 4\nencoder_hidden_size: 16\nmax_steps: 3\nlearning_rate: 0.01\n", lora: false)
        let (dryStatus, dry) = try TestPaths.run(tailor, ["train", recipe.path, "--dry-run"])
        XCTAssertEqual(dryStatus, 0, dry)
        XCTAssertTrue(dry.contains("trainable params: 1472 ||"), "peft prints trainable params: 1472\n\(dry)")
        let (status, output) = try TestPaths.run(tailor, ["train", recipe.path])
        XCTAssertEqual(status, 0, output)
        let out = folder.appendingPathComponent("out")
        let config = try String(contentsOf: out.appendingPathComponent("adapter_config.json"), encoding: .utf8)
        XCTAssertTrue(config.contains("\"peft_type\": \"P_TUNING\"") && config.contains("\"encoder_reparameterization_type\": \"MLP\""), config)
        let (genStatus, generated) = try TestPaths.run(tailor, ["generate", "--model", TestPaths.fixture("generation/chat-llama").path,
                                                                "--adapter", out.path, "--prompt", "Say hi", "--greedy", "--max-new-tokens", "4"])
        XCTAssertEqual(genStatus, 0, generated)
        let (refusedStatus, refused) = try TestPaths.run(tailor, ["train", recipe.path, "--dry-run", "--adapter_name_or_path", out.path])
        XCTAssertNotEqual(refusedStatus, 0, refused)
        XCTAssertTrue(refused.contains("its folders hold the encoder's output"), refused)

        // The LSTM encoder: peft's count (4·32 + 2 layers × 2 directions × (64·in + 64·16 + 2·64) + 32·32 + 32 + 32·32 + 32).
        let (lstmDryStatus, lstmDry) = try TestPaths.run(tailor, ["train", recipe.path, "--dry-run", "--encoder_reparameterization_type", "LSTM"])
        XCTAssertEqual(lstmDryStatus, 0, lstmDry)
        XCTAssertTrue(lstmDry.contains("trainable params: 15040 ||"), "peft prints trainable params: 15040\n\(lstmDry)")
        let lstm = folder.appendingPathComponent("lstm")
        let (lstmStatus, lstmOutput) = try TestPaths.run(tailor, ["train", recipe.path, "--output_dir", lstm.path,
                                                                  "--encoder_reparameterization_type", "lstm", "--encoder_num_layers", "1"])
        XCTAssertEqual(lstmStatus, 0, lstmOutput)
        let lstmConfig = try String(contentsOf: lstm.appendingPathComponent("adapter_config.json"), encoding: .utf8)
        XCTAssertTrue(lstmConfig.contains("\"encoder_reparameterization_type\": \"LSTM\"") && lstmConfig.contains("\"encoder_num_layers\": 1"), lstmConfig)
        let (dropoutStatus, dropout) = try TestPaths.run(tailor, ["train", recipe.path, "--dry-run", "--encoder_reparameterization_type", "LSTM",
                                                                  "--encoder_dropout", "0.1"])
        XCTAssertNotEqual(dropoutStatus, 0, dropout)
        XCTAssertTrue(dropout.contains("encoder_dropout") && dropout.contains("not built"), dropout)
        let (mlpStatus, mlp) = try TestPaths.run(tailor, ["train", recipe.path, "--dry-run", "--encoder_num_layers", "3"])
        XCTAssertEqual(mlpStatus, 0, mlp)
        XCTAssertTrue(mlp.contains("encoder_num_layers is read only by the LSTM prompt encoder"), mlp)
    }

    func testAPrefixAsLongAsTheContextIsRefused() throws {
        let tailor = try binary()
        let recipe = try LoRAVariantsDryRunTests.writeRecipe(in: folder, keys: "peft_type: PROMPT_TUNING\nnum_virtual_tokens: 4096\n", lora: false)
        let (status, output) = try TestPaths.run(tailor, ["train", recipe.path, "--dry-run"])
        XCTAssertNotEqual(status, 0, output)
        XCTAssertTrue(output.contains("num_virtual_tokens") && output.contains("max_position_embeddings"), output)
    }
}
