import Foundation
import TailorAdapters
import TailorFormats
import TailorModels
import TailorTensor
import TailorTestSupport
import TailorTraining
import XCTest

/// An AdaLoRA recipe runs end to end: total_step comes from the run's step count, ranks are pruned
/// to target_r on average, and output_dir holds a peft AdaLoRA folder with its rank_pattern.
final class AdaLoRATrainingRunTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-adalora-run-\(UUID().uuidString)")
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
            ("output_dir", .string(folder.appendingPathComponent("out").path)),
            ("per_device_train_batch_size", .number(2)), ("save_strategy", .string("no")), ("logging_steps", .number(1)),
            ("peft_type", .string("ADALORA")), ("init_r", .number(4)), ("target_r", .number(2)), ("tinit", .number(1)), ("tfinal", .number(1)),
        ] + pairs, to: &recipe)
        return recipe
    }

    func testAnAdaLoRARecipeTrainsAndSavesPeftsFolder() throws {
        let recipe = try recipe([("max_steps", .number(4))])
        let run = try TrainingRun(recipe: recipe, modelFolder: TestPaths.fixture("models/llama"),
                                  compute: try TrainingBackend.choose(recipe.device, accelerator: nil))
        guard case let .adalora(adapters) = run.trainable else { return XCTFail("\(run.trainable)") }
        XCTAssertEqual(adapters.modules.count, 4, "peft's defaults: q_proj and v_proj of 2 layers")
        let summary = try run.train()
        XCTAssertEqual(summary.steps, 4)
        XCTAssertEqual(adapters.config.totalStep, 4, "total_step: the run's step count")
        let out = folder.appendingPathComponent("out")
        XCTAssertTrue(AdaLoRAAdapterFolder.isAdaLoRA(folder: out))
        let config = try AdaLoRAAdapterFolder.readConfig(folder: out)
        XCTAssertEqual(config.totalStep, 4)
        let pattern = try XCTUnwrap(config.rankPattern)
        XCTAssertEqual(pattern.values.reduce(0) { $0 + $1.filter { $0 }.count }, 2 * 4, "the final budget: target_r per module")
        let loaded = try AdaLoRAAdapterFolder.load(folder: out, for: run.model)
        XCTAssertEqual(loaded.modules.map(\.adalora.rank).reduce(0, +), 8, "only the kept ranks are saved")
        let yaml = try String(contentsOf: out.appendingPathComponent("tailor_config.yaml"), encoding: .utf8)
        XCTAssertTrue(yaml.contains("peft_type: ADALORA") && yaml.contains("init_r: 4") && yaml.contains("lora_alpha: 8"), yaml)
    }

    func testARunWithNoStepCountIsAnError() throws {
        let recipe = try recipe([("num_train_epochs", .number(1e300))])
        let run = try TrainingRun(recipe: recipe, modelFolder: TestPaths.fixture("models/llama"),
                                  compute: try TrainingBackend.choose(recipe.device, accelerator: nil))
        XCTAssertThrowsError(try run.train()) { XCTAssertTrue("\($0)".contains("total_step"), "\($0)") }
        let short = try self.recipe([("max_steps", .number(2))])  // tinit 1 + tfinal 1 leaves no budgeting phase in 2 steps
        XCTAssertThrowsError(try TrainingRun(recipe: short, modelFolder: TestPaths.fixture("models/llama"),
                                             compute: try TrainingBackend.choose(short.device, accelerator: nil)).train()) {
            XCTAssertTrue("\($0)".contains("tinit"), "\($0)")
        }
    }

    /// The evaluation loss carries the orthogonal regulariser, as peft's forward adds it to every loss:
    /// it is the cross-entropy of the same model (AdaLoRA as the LoRA it computes) plus R.
    func testTheEvaluationLossCarriesTheRegulariser() throws {
        let recipe = try recipe([("max_steps", .number(4)), ("validation_split", .number(0.25))])
        let run = try TrainingRun(recipe: recipe, modelFolder: TestPaths.fixture("models/llama"),
                                  compute: try TrainingBackend.choose(recipe.device, accelerator: nil))
        guard case let .adalora(adapters) = run.trainable else { return XCTFail("\(run.trainable)") }
        XCTAssertFalse(run.data.eval.isEmpty)
        let withAdaLoRA = try Trainer(model: run.model, trainable: run.trainable, rows: run.data.train, eval: run.data.eval,
                                      args: run.recipe.training).evaluate().loss
        let regulariser = try adapters.addOrthogonalRegularizer(gradients: GradientStore(), backend: run.model.backend)
        XCTAssertGreaterThan(regulariser, 0.1, "0.5 · ‖A·Aᵀ − I‖ is about 0.5 · √init_r at the start")
        try adapters.detach(from: run.model)
        let lora = try adapters.asLoRA(backend: run.model.backend)
        try lora.attach(to: run.model)
        let crossEntropy = try Trainer(model: run.model, trainable: .lora(lora), rows: run.data.train, eval: run.data.eval,
                                       args: run.recipe.training).evaluate().loss
        XCTAssertEqual(withAdaLoRA, crossEntropy + regulariser, accuracy: 1e-5)
    }
}
