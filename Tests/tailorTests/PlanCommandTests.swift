import Foundation
import TailorHubTestSupport
import TailorTestSupport
import XCTest

/// `tailor plan` through the real binary: its recipe loads in `tailor train --dry-run` with the same
/// estimate, a model given by config.json alone or a hub id (config.json fetched alone), and bad input.
final class PlanCommandTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-plan-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func binary() throws -> URL {
        guard let binary = TestPaths.tailorBinary else { throw XCTSkip("the tailor executable is not built beside the tests") }
        return binary
    }

    /// The line both commands print for the recommended run.
    func estimateLine(_ output: String) -> String? {
        output.split(separator: "\n").first { $0.hasPrefix("estimated peak memory: ") }.map(String.init)
    }

    func testThePlansRecipeTrainsInADryRunWithTheSameEstimate() throws {
        let binary = try binary()
        // Samples of 199 tokens, cut to --seq 64 (the chat template's prompt takes 21 of them), so the dry run's
        // micro-batch holds as many tokens as the plan's.
        let long = String(repeating: "the quick brown fox jumps over the lazy dog ", count: 4)
        let data = folder.appendingPathComponent("data.json")
        try #"[{"instruction": "hi", "output": "\#(long)"}, {"instruction": "hello", "output": "\#(long)"}]"#
            .write(to: data, atomically: true, encoding: .utf8)
        let yaml = folder.appendingPathComponent("plan.yaml")
        let plan = try TestPaths.run(binary, ["plan", "--model", TestPaths.fixture("generation/chat-llama").path, "--seq", "64", "--global-batch", "4",
                                              "--memory", "8", "--dataset", data.path, "--output", yaml.path])
        XCTAssertEqual(plan.status, 0, plan.output)
        XCTAssertTrue(plan.output.contains("recommended: lora, per_device_train_batch_size 4, gradient_accumulation_steps 1"), plan.output)
        XCTAssertTrue(plan.output.contains("wrote \(yaml.path): tailor train \(yaml.path)"), plan.output)
        let recipe = try String(contentsOf: yaml, encoding: .utf8)
        for line in ["finetuning_type: lora", "per_device_train_batch_size: 4", "gradient_accumulation_steps: 1", "gradient_checkpointing: false",
                     "max_seq_length: 64", "bf16: false", "device: cpu"] {
            XCTAssertTrue(recipe.contains(line + "\n"), "\(line)\n\(recipe)")
        }
        let dry = try TestPaths.run(binary, ["train", yaml.path, "--output_dir", folder.appendingPathComponent("out").path, "--dry-run"])
        XCTAssertEqual(dry.status, 0, dry.output)
        let planned = try XCTUnwrap(estimateLine(plan.output), plan.output)
        XCTAssertEqual(estimateLine(dry.output), planned, "one estimator: \(dry.output)")
    }

    func testAModelByConfigJSONOnly() throws {
        let binary = try binary()
        let config = folder.appendingPathComponent("config.json")
        try FileManager.default.copyItem(at: TestPaths.fixture("generation/chat-llama/config.json"), to: config)
        let plan = try TestPaths.run(binary, ["plan", "--model", config.path, "--method", "full", "--memory", "8"])
        XCTAssertEqual(plan.status, 0, plan.output)
        XCTAssertTrue(plan.output.contains("recommended: full,"), plan.output)
        XCTAssertTrue(plan.output.contains("weights stored f32"), plan.output)
    }

    func testAHubIdFetchesOnlyConfigJSON() async throws {
        let binary = try binary()
        let hub = MockHub(repos: [try MockHub.Repo(id: "tiny-org/chat-llama", folder: TestPaths.fixture("generation/chat-llama"))])
        try await hub.start()
        defer { Task { await hub.stop() } }
        let cache = folder.appendingPathComponent("hub")
        let environment = ["HF_ENDPOINT": hub.endpoint, "HF_HOME": folder.path, "HF_HUB_CACHE": cache.path, "HF_HUB_OFFLINE": "0", "HF_TOKEN": ""]
        let plan = try TestPaths.run(binary, ["plan", "--model", "tiny-org/chat-llama", "--memory", "8", "--output", folder.appendingPathComponent("p.yaml").path],
                                     environment: environment)
        XCTAssertEqual(plan.status, 0, plan.output)
        XCTAssertTrue(plan.output.contains("config.json only"), plan.output)
        let snapshots = cache.appendingPathComponent("models--tiny-org--chat-llama/snapshots")
        let commit = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: snapshots.path).first)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: snapshots.appendingPathComponent(commit).path), ["config.json"],
                       "no weight was downloaded")
        let recipe = try String(contentsOf: folder.appendingPathComponent("p.yaml"), encoding: .utf8)
        XCTAssertTrue(recipe.contains("model_name_or_path: \"tiny-org/chat-llama\"\n") || recipe.contains("model_name_or_path: tiny-org/chat-llama\n"), recipe)
    }

    func testBadInputIsAClearError() throws {
        let binary = try binary()
        let empty = folder.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        for (arguments, expected) in [
            (["plan", "--model", empty.path], "\(empty.path) is a folder without config.json"),
            (["plan", "--preset", "smollm2-135m", "--method", "prefix"], "'prefix'"),
            (["plan", "--preset", "smollm2-135m", "--seq", "0"], "--seq must be a positive number of tokens (got 0)"),
            (["plan", "--preset", "smollm2-135m", "--seq", "-5"], "--seq must be a positive number of tokens (got -5)"),
            (["plan", "--preset", "gpt-9"], "smollm2-135m"),
            (["plan"], "give --model"),
        ] {
            let run = try TestPaths.run(binary, arguments)
            XCTAssertNotEqual(run.status, 0, "\(arguments): \(run.output)")
            XCTAssertTrue(run.output.contains(expected), "\(arguments): expected '\(expected)' in\n\(run.output)")
        }
        let method = try TestPaths.run(binary, ["plan", "--preset", "smollm2-135m", "--method", "prefix"])
        XCTAssertTrue(method.output.contains("lora") && method.output.contains("qlora") && method.output.contains("full"), method.output)
    }

    /// Without a GPU, --device cuda says so plainly; --gpu-memory plans for one.
    func testCUDAWithoutAGPU() throws {
        let binary = try binary()
        let cuda = try TestPaths.run(binary, ["plan", "--preset", "qwen2.5-1.5b", "--device", "cuda"])
        if cuda.status != 0 {
            XCTAssertTrue(cuda.output.contains("--device cuda: no CUDA device is present") && cuda.output.contains("--gpu-memory"), cuda.output)
        }
        let sized = try TestPaths.run(binary, ["plan", "--preset", "qwen2.5-1.5b", "--device", "cuda", "--gpu-memory", "80", "--method", "full"])
        XCTAssertEqual(sized.status, 0, sized.output)
        XCTAssertTrue(sized.output.contains("80.00 GB GPU memory available of 80.00 GB (--gpu-memory)"), sized.output)
        XCTAssertTrue(sized.output.contains("recommended: full,") && sized.output.contains("bf16 true"), sized.output)
    }

    /// 1.5B full fine-tuning in f32 (~25 GB) does not fit in 23 GB: the plan says so and recommends LoRA.
    func testOnePointFiveBFullDoesNotFitIn23GB() throws {
        let run = try TestPaths.run(try binary(), ["plan", "--preset", "qwen2.5-1.5b", "--method", "full", "--memory", "23"])
        XCTAssertEqual(run.status, 0, run.output)
        XCTAssertTrue(run.output.contains("note: full fine-tuning does not fit"), run.output)
        XCTAssertTrue(run.output.contains("note: recommending LoRA instead of full fine-tuning"), run.output)
        XCTAssertTrue(run.output.contains("recommended: lora,"), run.output)
    }
}
