import Foundation
@testable import tailor
import TailorAdapters
import TailorTensor
import TailorTestSupport
import TailorTraining
import XCTest

/// `tailor train` end to end on the tiny llama fixture (no tokenizer in its folder): tokenized
/// data, adapter_name_or_path / --adapter-name-or-path, and tailor_config.yaml read back.
final class TrainRunTests: XCTestCase {
    var folder: URL!
    let llama = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/models/llama")

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-train-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let records = (0..<8).map { i in #"{"input_ids": [1, \#(10 + i), \#(20 + i), \#(30 + i), 2], "labels": [-100, -100, \#(20 + i), \#(30 + i), 2]}"# }
        try (records.joined(separator: "\n") + "\n").write(to: data, atomically: true, encoding: .utf8)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    var data: URL { folder.appendingPathComponent("train.jsonl") }

    func recipe(_ flags: [String]) throws -> TrainRecipe {
        let common = ["--model_name_or_path", llama.path, "--dataset", data.path, "--save_strategy", "no",
                      "--per_device_train_batch_size", "4", "--learning_rate", "0.01"]
        var recipe = TrainRecipe()
        for (key, value) in try TrainCommand.parseFlags(common + flags) { _ = try RecipeKeys.apply(key, value, to: &recipe) }
        return recipe
    }

    func adapterConfig(_ name: String) throws -> [String: Any] {
        let url = folder.appendingPathComponent(name).appendingPathComponent("adapter_config.json")
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    }

    func testTrainFromTokenizedDataThenContinueFromTheAdapter() throws {
        let first = folder.appendingPathComponent("first").path
        try TrainRun(recipe: try recipe(["--output_dir", first, "--max_steps", "2", "--lora_rank", "4", "--lora_alpha", "8",
                                         "--target_modules", "q_proj", "v_proj"]), dryRun: false).run()
        XCTAssertEqual(try adapterConfig("first")["r"] as? Int, 4)

        let second = folder.appendingPathComponent("second").path
        let continuing = try recipe(["--output_dir", second, "--max_steps", "1", "--adapter-name-or-path", first,
                                     "--lora_dropout", "0.05"])
        XCTAssertEqual(continuing.adapterNameOrPath, first)
        try TrainRun(recipe: continuing, dryRun: false).run()
        let config = try adapterConfig("second")
        XCTAssertEqual(config["r"] as? Int, 4, "the adapter's r, not the default 8")
        XCTAssertEqual(config["lora_alpha"] as? Double, 8)
        XCTAssertEqual(config["lora_dropout"] as? Double, 0.05, "dropout is the run's")
        XCTAssertEqual(Set(config["target_modules"] as? [String] ?? []), ["q_proj", "v_proj"])

        // tailor_config.yaml holds the resolved recipe and reads back to the same run settings.
        let yaml = folder.appendingPathComponent("second/tailor_config.yaml").path
        let text = try String(contentsOfFile: yaml, encoding: .utf8)
        XCTAssertTrue(text.contains("adapter_name_or_path: \"\(first)\"\n") && text.contains("\nr: 4\n"), text)
        var again = TrainRecipe()
        for (key, value) in try TrainCommand.readYAML(yaml) { _ = try RecipeKeys.apply(key, value, to: &again) }
        XCTAssertEqual(again.adapterNameOrPath, first)
        XCTAssertEqual(again.lora, TrainRecipe.loraResolved(continuing.lora, r: 4, alpha: 8, targets: ["q_proj", "v_proj"]))
        again.training.outputDir = folder.appendingPathComponent("third").path
        XCTAssertNoThrow(try TrainRun(recipe: again, dryRun: true).run(), "the saved recipe agrees with its adapter")
    }

    func testConflictingKeysAndFullFineTuningAreRefused() throws {
        let first = folder.appendingPathComponent("first").path
        try TrainRun(recipe: try recipe(["--output_dir", first, "--max_steps", "1", "--r", "4", "--target_modules", "q_proj"]),
                     dryRun: false).run()
        let out = folder.appendingPathComponent("out").path
        XCTAssertThrowsError(try TrainRun(recipe: try recipe(["--output_dir", out, "--adapter_name_or_path", first, "--lora_rank", "16"]),
                                          dryRun: true).run()) { error in
            XCTAssertTrue("\(error)".contains("'r' is 16 here but 4 in \(first)/adapter_config.json"), "\(error)")
        }
        XCTAssertThrowsError(try TrainRun(recipe: try recipe(["--output_dir", out, "--adapter_name_or_path", first, "--lora_target", "all"]),
                                          dryRun: true).run()) { error in
            XCTAssertTrue("\(error)".contains("'target_modules' picks 14 modules") && "\(error)".contains("adapts 2"), "\(error)")
        }
        XCTAssertThrowsError(try TrainRun(recipe: try recipe(["--output_dir", out, "--adapter_name_or_path", first, "--finetuning_type", "full"]),
                                          dryRun: true).run()) { error in
            XCTAssertTrue("\(error)".contains("adapter_name_or_path") && "\(error)".contains("finetuning_type lora"), "\(error)")
        }
    }
}

extension TrainRecipe {
    /// `lora` with the shape an adapter folder gave it.
    static func loraResolved(_ lora: LoRAConfig, r: Int, alpha: Double, targets: [String]) -> LoRAConfig {
        var resolved = lora
        resolved.r = r
        resolved.loraAlpha = alpha
        resolved.targetModules = .names(targets)
        return resolved
    }
}

/// `tailor train`'s header names the CPU path and how products run, and says when an explicit
/// bf16: true computes in fp32.
final class TrainHeaderTests: XCTestCase {
    func testDryRunHeaderNamesTheCPUPathAndWarnsForAnExplicitBF16() throws {
        guard let binary = TestPaths.tailorBinary else { throw XCTSkip("the tailor executable is not built beside the tests") }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-train-header-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = folder.appendingPathComponent("train.jsonl")
        try #"{"input_ids": [1, 10, 20, 2]}"#.appending("\n").write(to: data, atomically: true, encoding: .utf8)
        let llama = TestPaths.fixture("models/llama").path
        let common = ["train", "--dry-run", "--model_name_or_path", llama, "--dataset", data.path, "--output_dir", folder.appendingPathComponent("out").path]
        let quiet = try TestPaths.run(binary, common)
        XCTAssertEqual(quiet.status, 0, quiet.output)
        XCTAssertTrue(quiet.output.contains("cpu: \(CPUFeatures.current.summary)"), quiet.output)
        XCTAssertTrue(quiet.output.contains("cpu path: GEMM \(try CPUBackend.blas.get().summary)"), quiet.output)
        XCTAssertFalse(quiet.output.contains("warning: bf16"), quiet.output)
        let explicit = try TestPaths.run(binary, common + ["--bf16", "true"])
        XCTAssertEqual(explicit.status, 0, explicit.output)
        switch BF16ProductInfo.load() {
        case .success:
            XCTAssertTrue(explicit.output.contains("products: bf16 (bf16: true;"), explicit.output)
            XCTAssertFalse(explicit.output.contains("warning: bf16"), explicit.output)
        case let .failure(why):
            XCTAssertTrue(explicit.output.contains("warning: bf16: true computes in fp32 on this CPU (\(why.reason))"), explicit.output)
        }
        // Without oneDNN an explicit bf16: true warns on every CPU.
        let missing = try TestPaths.run(binary, common + ["--bf16", "true"], environment: ["TAILOR_DNNL_LIBRARY": "/nonexistent/libdnnl.so.2"])
        XCTAssertEqual(missing.status, 0, missing.output)
        XCTAssertTrue(missing.output.contains("warning: bf16: true computes in fp32 on this CPU ("), missing.output)
        XCTAssertTrue(missing.output.contains("products: fp32 (bf16 products unavailable: "), missing.output)
    }
}
