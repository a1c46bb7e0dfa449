import Foundation
import TailorModels
import TailorTensor
import TailorTestSupport
@testable import TailorTraining
import XCTest

/// A recipe runs end to end from the library, without the CLI: backend choice, model, data,
/// adapter, tailor_config.yaml, the file sinks.
final class TrainingRunTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-training-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let records = (0..<8).map { i in #"{"input_ids": [1, \#(10 + i), \#(20 + i), 2], "labels": [-100, \#(10 + i), \#(20 + i), 2]}"# }
        try (records.joined(separator: "\n") + "\n").write(to: folder.appendingPathComponent("train.jsonl"), atomically: true, encoding: .utf8)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func recipe(_ pairs: [(String, RecipeValue)]) throws -> TrainRecipe {
        var recipe = TrainRecipe()
        _ = try RecipeKeys.apply([
            ("model_name_or_path", .string(TestPaths.fixture("models/llama").path)),
            ("dataset", .string(folder.appendingPathComponent("train.jsonl").path)),
            ("output_dir", .string(folder.appendingPathComponent("out").path)), ("max_steps", .number(2)),
            ("per_device_train_batch_size", .number(4)), ("save_strategy", .string("no")), ("logging_steps", .number(1)),
            ("r", .number(2)), ("target_modules", .list(["q_proj"])),
        ] + pairs, to: &recipe)
        return recipe
    }

    func testARecipeTrainsWithoutTheCLI() throws {
        let recipe = try recipe([])
        let run = try TrainingRun(recipe: recipe, modelFolder: TestPaths.fixture("models/llama"),
                                  compute: try TrainingBackend.choose(recipe.device, accelerator: nil))
        XCTAssertEqual(run.model.savedActivationDType, .f32)
        XCTAssertEqual(run.data.train.count, 8)
        XCTAssertEqual(run.tokensPerMicroBatch, 4 * 4)
        final class Steps: TrainingSink {
            var steps: [Int] = []
            func handle(_ event: TrainingEvent) throws { if case let .step(record) = event { steps.append(record.step) } }
        }
        let steps = Steps()
        let summary = try run.train(extraSinks: [steps])
        XCTAssertEqual(summary.steps, 2)
        XCTAssertEqual(steps.steps, [1, 2])
        let out = folder.appendingPathComponent("out")
        for file in ["tailor_config.yaml", "metrics.jsonl", "loss.png", "loss.svg", "trainer_state.json", "adapter_config.json", "runs"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(file).path), file)
        }
        let yaml = try String(contentsOf: out.appendingPathComponent("tailor_config.yaml"), encoding: .utf8)
        XCTAssertEqual(yaml, RecipeYAML.render(run.recipe))
    }

    /// bf16: true on a CPU with bf16 products rounds an f32 folder's frozen linears and output
    /// layer to bf16 at load (autocast's values); what trains, or what PiSSA decomposes, stays f32.
    func testBF16RunsRoundFrozenProductWeightsOnlyWhereTheyStayFrozen() throws {
        let half = TrainingBackend(backend: try CPUBackend(kernels: .reference, matmul: .halfInputs), isAccelerator: false)
        let exact = TrainingBackend(backend: try CPUBackend(kernels: .reference), isAccelerator: false)
        let lora = try recipe([])
        XCTAssertEqual(TrainingRun.productRounding(lora, compute: half), ProductWeightRounding(dtype: .bf16, keep: []))
        XCTAssertNil(TrainingRun.productRounding(lora, compute: exact), "fp32 products: nothing to round for")
        XCTAssertNil(TrainingRun.productRounding(try recipe([("bf16", .bool(false))]), compute: half))
        XCTAssertNil(TrainingRun.productRounding(try recipe([("finetuning_type", .string("full"))]), compute: half))
        XCTAssertNil(TrainingRun.productRounding(try recipe([("init_lora_weights", .string("pissa"))]), compute: half))
        XCTAssertEqual(TrainingRun.productRounding(try recipe([("modules_to_save", .list(["lm_head"]))]), compute: half)?.keep, ["lm_head"])

        let run = try TrainingRun(recipe: lora, modelFolder: TestPaths.fixture("models/llama"), compute: half, lockOutput: false)
        XCTAssertEqual(run.model.roundedProductWeights, 7 * run.model.layers.count + 1)
        XCTAssertEqual(run.model.layers[0].qProj.weight.dtype, .bf16)
        XCTAssertEqual(run.model.embedTokens.dtype, .f32)
        XCTAssertTrue(run.trainable.parameters.allSatisfy { $0.value.dtype == .f32 }, "LoRA factors stay f32")
        let full = try TrainingRun(recipe: try recipe([("finetuning_type", .string("full"))]), modelFolder: TestPaths.fixture("models/llama"),
                                   compute: half, lockOutput: false)
        XCTAssertEqual(full.model.roundedProductWeights, 0)
        XCTAssertTrue(full.model.layers.allSatisfy { $0.linears.allSatisfy { $0.weight.dtype == .f32 } })
    }

    /// A 4-bit model trains with gradient checkpointing unless the recipe says otherwise, as peft's
    /// prepare_model_for_kbit_training turns it on; other runs keep TrainingArguments' default (off).
    func testFourBitModelsCheckpointUnlessTold() throws {
        let compute = try TrainingBackend.choose(.cpu, accelerator: nil)
        let model = TestPaths.fixture("models/llama")
        let qlora = try TrainingRun(recipe: try recipe([("load_in_4bit", .bool(true))]), modelFolder: model, compute: compute, lockOutput: false)
        XCTAssertTrue(qlora.recipe.training.gradientCheckpointing)
        XCTAssertTrue(RecipeYAML.render(qlora.recipe).contains("gradient_checkpointing: true"))
        let told = try TrainingRun(recipe: try recipe([("load_in_4bit", .bool(true)), ("gradient_checkpointing", .bool(false))]),
                                   modelFolder: model, compute: compute, lockOutput: false)
        XCTAssertFalse(told.recipe.training.gradientCheckpointing)
        XCTAssertFalse(try TrainingRun(recipe: try recipe([]), modelFolder: model, compute: compute, lockOutput: false).recipe.training.gradientCheckpointing)
    }

    func testARecipeThatCannotRunFailsBeforeTheModelLoads() throws {
        var recipe = try recipe([("finetuning_type", .string("full")), ("adapter_name_or_path", .string("a"))])
        XCTAssertThrowsError(try TrainingRun(recipe: recipe, modelFolder: folder.appendingPathComponent("no model"),
                                             compute: try TrainingBackend.choose(.cpu, accelerator: nil))) { error in
            guard case .conflictingKeys? = error as? TrainingError else { return XCTFail("\(error)") }
        }
        recipe.datasets = []
        XCTAssertThrowsError(try recipe.validate()) { error in
            guard case .missingKey("dataset", _)? = error as? TrainingError else { return XCTFail("\(error)") }
        }
    }

    func testBackendChoice() throws {
        struct NoGPU: Error, CustomStringConvertible { var description: String { "no driver" } }
        let cpu = try TrainingBackend.choose(.cpu, accelerator: { throw NoGPU() })
        XCTAssertFalse(cpu.isAccelerator)
        XCTAssertNil(cpu.note)
        XCTAssertEqual(cpu.savedActivationDType(bf16: true), .f32)
        let fellBack = try TrainingBackend.choose(.auto, accelerator: { throw NoGPU() })
        XCTAssertFalse(fellBack.isAccelerator)
        XCTAssertEqual(fellBack.note, "--device auto: using the CPU (no driver)")
        XCTAssertNotNil(try TrainingBackend.choose(.auto, accelerator: nil).note)
        XCTAssertThrowsError(try TrainingBackend.choose(.cuda, accelerator: { throw NoGPU() })) { error in
            XCTAssertEqual("\(error)", "no driver")
        }
        XCTAssertThrowsError(try TrainingBackend.choose(.cuda, accelerator: nil)) { error in
            guard case .invalidValue("device", _)? = error as? TrainingError else { return XCTFail("\(error)") }
        }
        let gpu = try TrainingBackend.choose(.cuda, accelerator: { try CPUBackend(kernels: .reference) })
        XCTAssertTrue(gpu.isAccelerator)
        XCTAssertEqual(gpu.savedActivationDType(bf16: true), .bf16)
        XCTAssertEqual(gpu.savedActivationDType(bf16: false), .f32)
    }

    /// A resumed run's trainer_state.json holds the whole run's log_history, as an uninterrupted
    /// run's does (it used to start again at the checkpoint's step).
    func testResumedTrainerStateKeepsTheEarlierHistory() throws {
        func history(_ out: String, _ extra: [(String, RecipeValue)]) throws -> [Int] {
            let recipe = try self.recipe([("output_dir", .string(folder.appendingPathComponent(out).path)), ("max_steps", .number(4)),
                                          ("per_device_train_batch_size", .number(2))] + extra)
            let run = try TrainingRun(recipe: recipe, modelFolder: TestPaths.fixture("models/llama"),
                                      compute: try TrainingBackend.choose(.cpu, accelerator: nil))
            _ = try run.train()
            let data = try Data(contentsOf: folder.appendingPathComponent(out).appendingPathComponent("trainer_state.json"))
            let root = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            let entries = try XCTUnwrap(root["log_history"] as? [[String: Any]])
            return entries.compactMap { $0["step"] as? Int }
        }
        let saving: [(String, RecipeValue)] = [("save_strategy", .string("steps")), ("save_steps", .number(2))]
        let whole = try history("whole", saving)
        XCTAssertEqual(Array(whole.prefix(4)), [1, 2, 3, 4])
        let checkpoint = folder.appendingPathComponent("whole/checkpoint-2").path
        let resumed = try history("resumed", saving + [("resume_from_checkpoint", .string(checkpoint))])
        XCTAssertEqual(resumed, whole, "the resumed run's log_history equals the uninterrupted run's")

        // train_loss is the mean over the whole run, in trainer_state.json and metrics.jsonl; the
        // loss curve and the last checkpoint's trainer_state.json hold the whole run too.
        func trainLoss(_ out: String) throws -> Double? {
            let data = try Data(contentsOf: folder.appendingPathComponent(out).appendingPathComponent("trainer_state.json"))
            let root = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            return (root["log_history"] as? [[String: Any]])?.last?["train_loss"] as? Double
        }
        func finishedLine(_ out: String) throws -> [String: Any] {
            let text = try String(contentsOf: folder.appendingPathComponent(out).appendingPathComponent("metrics.jsonl"), encoding: .utf8)
            let line = try XCTUnwrap(text.split(separator: "\n").last)
            return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
        let wholeLoss = try XCTUnwrap(try trainLoss("whole"))
        XCTAssertEqual(try trainLoss("resumed"), wholeLoss)
        XCTAssertEqual(try finishedLine("resumed")["train_loss"] as? Double, wholeLoss)
        XCTAssertEqual(try finishedLine("whole")["train_loss"] as? Double, wholeLoss)
        for file in ["loss.svg", "checkpoint-4/trainer_state.json"] {
            let a = try String(contentsOf: folder.appendingPathComponent("whole/\(file)"), encoding: .utf8)
            let b = try String(contentsOf: folder.appendingPathComponent("resumed/\(file)"), encoding: .utf8)
            XCTAssertEqual(a, b, "\(file): the resumed run's holds the whole run")
        }
    }

    /// Rows longer than the model's max_position_embeddings (128 in the fixture) are trained with a warning.
    func testRowsPastTheModelsPositionsWarn() throws {
        let long = "[" + (0..<150).map { "\(3 + $0 % 90)" }.joined(separator: ", ") + "]"
        try (#"{"input_ids": \#(long), "labels": \#(long)}"# + "\n").write(to: folder.appendingPathComponent("long.jsonl"), atomically: true, encoding: .utf8)
        let short = try TrainingRun(recipe: try recipe([]), modelFolder: TestPaths.fixture("models/llama"),
                                    compute: try TrainingBackend.choose(.cpu, accelerator: nil), lockOutput: false)
        XCTAssertEqual(short.warnings, [])
        let recipe = try recipe([("dataset", .string(folder.appendingPathComponent("long.jsonl").path)), ("max_seq_length", .number(256))])
        let run = try TrainingRun(recipe: recipe, modelFolder: TestPaths.fixture("models/llama"),
                                  compute: try TrainingBackend.choose(.cpu, accelerator: nil), lockOutput: false)
        XCTAssertEqual(run.warnings.count, 1, "\(run.warnings)")
        XCTAssertTrue(run.warnings.first?.hasPrefix("rows of up to 150 tokens (max_seq_length 256) are longer than the model's max_position_embeddings 128") == true,
                      "\(run.warnings)")
    }

    /// Retraining into a folder with another run's checkpoints is refused before the model loads;
    /// overwrite_output_dir replaces them (and metrics.jsonl starts again); the lock is released after each run.
    func testRetrainingIntoAnotherRunsFolderNeedsOverwrite() throws {
        let saving: [(String, RecipeValue)] = [("save_strategy", .string("steps")), ("save_steps", .number(1)), ("max_steps", .number(2))]
        let compute = try TrainingBackend.choose(.cpu, accelerator: nil)
        _ = try TrainingRun(recipe: try recipe(saving), modelFolder: TestPaths.fixture("models/llama"), compute: compute).train()
        let out = folder.appendingPathComponent("out")
        XCTAssertEqual(Checkpoint.list(in: out).map(\.step), [1, 2])
        XCTAssertThrowsError(try TrainingRun(recipe: try recipe(saving), modelFolder: folder.appendingPathComponent("no model"), compute: compute)) { error in
            guard case .conflictingKeys("output_dir", "overwrite_output_dir", _)? = error as? TrainingError else { return XCTFail("\(error)") }
        }
        let again = try recipe(saving + [("overwrite_output_dir", .bool(true)), ("max_steps", .number(1))])
        _ = try TrainingRun(recipe: again, modelFolder: TestPaths.fixture("models/llama"), compute: compute).train()
        XCTAssertEqual(Checkpoint.list(in: out).map(\.step), [1], "the earlier run's checkpoint-2 is gone")
        let metrics = try String(contentsOf: out.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        XCTAssertEqual(metrics.components(separatedBy: #""event": "started""#).count - 1, 1, metrics)
    }
}
