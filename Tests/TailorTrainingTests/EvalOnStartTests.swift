import Foundation
import TailorTestSupport
import TailorTraining
import XCTest

/// eval_on_start (TrainingArguments): one evaluation before the first step, of the untrained model.
final class EvalOnStartTests: XCTestCase {
    final class Recorder: TrainingSink {
        var events: [String] = []
        var startLoss: Double?
        func handle(_ event: TrainingEvent) throws {
            switch event {
            case let .step(record): events.append("step \(record.step)")
            case let .evaluation(record):
                events.append("eval \(record.step)")
                if record.step == 0 { startLoss = record.loss }
            default: break
            }
        }
    }

    func testEvaluatesTheUntrainedModelBeforeTheFirstStep() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-eval-on-start-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = folder.appendingPathComponent("train.jsonl")
        let records = (0..<8).map { i in #"{"input_ids": [1, \#(10 + i), \#(20 + i), 2]}"# }
        try (records.joined(separator: "\n") + "\n").write(to: data, atomically: true, encoding: .utf8)
        let model = TestPaths.fixture("models/llama")
        var recipe = TrainRecipe()
        _ = try RecipeKeys.apply([
            ("model_name_or_path", .string(model.path)), ("dataset", .string(data.path)), ("validation_split", .number(0.25)),
            ("output_dir", .string(folder.appendingPathComponent("out").path)), ("max_steps", .number(2)),
            ("per_device_train_batch_size", .number(2)), ("save_strategy", .string("no")), ("eval_on_start", .bool(true)),
            ("r", .number(2)), ("target_modules", .string("q_proj")), ("learning_rate", .number(0.05)),
        ], to: &recipe)
        XCTAssertTrue(recipe.training.evalOnStart)
        XCTAssertTrue(RecipeYAML.render(recipe).contains("\neval_on_start: true\n"))

        let run = try TrainingRun(recipe: recipe, modelFolder: model, compute: try TrainingBackend.choose(.cpu, accelerator: nil))
        let untrained = try Trainer(model: run.model, trainable: run.trainable, rows: run.data.train, eval: run.data.eval,
                                    args: run.recipe.training).evaluate().loss
        let recorder = Recorder()
        try run.train(extraSinks: [recorder])
        XCTAssertEqual(recorder.events, ["eval 0", "step 1", "step 2"], "eval_strategy no: only the evaluation on start")
        XCTAssertEqual(recorder.startLoss, untrained)

        recipe.validationSplit = 0
        let noEval = try TrainingRun(recipe: recipe, modelFolder: model, compute: try TrainingBackend.choose(.cpu, accelerator: nil))
        XCTAssertThrowsError(try noEval.train()) { error in
            XCTAssertEqual("\(error)", "option 'eval_on_start' needs evaluation data: set validation_file or validation_split")
        }
    }
}
