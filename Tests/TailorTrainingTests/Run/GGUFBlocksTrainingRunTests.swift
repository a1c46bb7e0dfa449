import Foundation
import TailorModels
import TailorTensor
import TailorTestSupport
@testable import TailorTraining
import XCTest

/// LoRA on a quantized GGUF's blocks as they are (`TrainingRun(ggufBlocks:)`): the real SmolLM2-135M-Instruct
/// Q4_1 file trains the quick start's data as its f32 import does, loss for loss (fp32 products in both: the
/// decoding is bit-exact, so only the order of some sums differs), with no f32 copy of the base.
final class GGUFBlocksTrainingRunTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-gguf-blocks-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func recipe(model: String, output: String, _ pairs: [(String, RecipeValue)] = []) throws -> TrainRecipe {
        let persona = TestPaths.fixtures.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("examples/persona/persona.jsonl")
        var recipe = TrainRecipe()
        _ = try RecipeKeys.apply([
            ("model_name_or_path", .string(model)), ("dataset", .string(persona.path)),
            ("output_dir", .string(folder.appendingPathComponent(output).path)), ("max_steps", .number(4)),
            ("per_device_train_batch_size", .number(8)), ("learning_rate", .number(1e-3)), ("save_strategy", .string("no")),
            ("logging_steps", .number(1)), ("r", .number(16)), ("lora_alpha", .number(32)), ("target_modules", .string("all-linear")),
            ("max_seq_length", .number(256)), ("seed", .number(42)), ("bf16", .bool(false)),
        ] + pairs, to: &recipe)
        return recipe
    }

    final class Losses: TrainingSink {
        var values: [Double] = []
        func handle(_ event: TrainingEvent) throws { if case let .step(record) = event { values.append(record.loss) } }
    }

    func testLoRAOnTheQ4_1BlocksTrainsAsTheF32Import() throws {
        let gguf = try SmolLM2File.locate()
        let compute = TrainingBackend(backend: try CPUBackend(kernels: .fast), isAccelerator: false)
        let lora = try recipe(model: gguf.path, output: "blocks")
        let plan = try TrainingRun.ggufBlocksPlan(lora, compute: compute, gguf: gguf)
        XCTAssertTrue(plan.trainsOnBlocks, plan.why)

        let files = folder.appendingPathComponent("files"), imported = folder.appendingPathComponent("f32")
        XCTAssertNil(try GGUFImport.run(file: gguf, output: files, dtype: nil).dtype)
        XCTAssertFalse(FileManager.default.fileExists(atPath: files.appendingPathComponent("model.safetensors").path), "no weights written")
        _ = try GGUFImport.run(file: gguf, output: imported)

        let blocks = try TrainingRun(recipe: lora, modelFolder: files, compute: compute, ggufBlocks: gguf)
        XCTAssertEqual(blocks.ggufBlockTensors.map(\.type), ["q4_1", "q8_0"])
        XCTAssertEqual(blocks.ggufBlockTensors.map(\.count), [210, 1])
        let onBlocks = Losses()
        _ = try blocks.train(extraSinks: [onBlocks])

        let f32 = try TrainingRun(recipe: try recipe(model: imported.path, output: "f32"), modelFolder: imported, compute: compute)
        XCTAssertTrue(f32.model.namedParameters.allSatisfy { $0.tensor.dtype == .f32 })
        let onF32 = Losses()
        _ = try f32.train(extraSinks: [onF32])

        XCTAssertEqual(onBlocks.values.count, 4)
        XCTAssertEqual(onF32.values.count, 4)
        for (step, (a, b)) in zip(onBlocks.values, onF32.values).enumerated() {
            XCTAssertLessThanOrEqual(abs(a - b) / b, 1e-4, "step \(step + 1): \(a) on the blocks, \(b) on the f32 import")
        }
    }

    /// What cannot train on the blocks says why, and a run handed the file anyway refuses clearly.
    func testRunsThatNeedF32WeightsSayWhy() throws {
        let gguf = try SmolLM2File.locate()
        let compute = TrainingBackend(backend: try CPUBackend(kernels: .fast), isAccelerator: false)
        for (pairs, why) in [([("finetuning_type", RecipeValue.string("full"))], "full fine-tuning"),
                             ([("use_dora", .bool(true))], "DoRA"),
                             ([("init_lora_weights", .string("pissa"))], "rewrites the base"),
                             ([("load_in_4bit", .bool(true))], "load_in_4bit")] {
            let recipe = try recipe(model: gguf.path, output: "x", pairs)
            let plan = try TrainingRun.ggufBlocksPlan(recipe, compute: compute, gguf: gguf)
            XCTAssertFalse(plan.trainsOnBlocks, "\(pairs)")
            XCTAssertTrue(plan.why.contains(why), plan.why)
        }
        let cuda = TrainingBackend(backend: try CPUBackend(kernels: .fast), isAccelerator: true)
        XCTAssertTrue(try TrainingRun.ggufBlocksPlan(try recipe(model: gguf.path, output: "x"), compute: cuda, gguf: gguf).why.contains("CUDA"))
        let full = try recipe(model: gguf.path, output: "x", [("finetuning_type", .string("full"))])
        XCTAssertThrowsError(try TrainingRun(recipe: full, modelFolder: folder, compute: compute, lockOutput: false, ggufBlocks: gguf)) { error in
            XCTAssertTrue("\(error)".contains("import it first"), "\(error)")
        }
    }
}
