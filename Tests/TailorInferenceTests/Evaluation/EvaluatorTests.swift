import Foundation
import TailorData
@testable import TailorInference
import TailorMetrics
import TailorTensor
import TailorTestSupport
import XCTest

/// `tailor eval`'s perplexity against transformers' (Tests/Fixtures/eval/ppl.json from
/// scripts/reference/make_eval_ppl_fixtures.py): the same ids and labels as transformers' chat template and
/// assistant spans give, and the same masked loss, exponentiated, for the base and with the peft adapter.
final class EvaluatorTests: XCTestCase {
    struct Reference: Decodable {
        struct Record: Decodable { var ids: [Int32]; var labels: [Int32] }
        struct Model: Decodable { var loss_sums: [Double]; var labeled: [Int]; var ppl: Double; var eval_ppl_trainer: Double }
        var records: [Record]
        var models: [String: Model]
    }

    func load() throws -> (InferenceModel, [EvalSample], Reference) {
        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: TestPaths.fixture("eval/ppl.json")))
        let model = try InferenceModel(folder: GenerationFixtures.chatModel, backend: try CPUBackend())
        try model.adapters.load(name: "adapter", folder: GenerationFixtures.adapter("llama"))
        let samples = try EvalSample.load(paths: [TestPaths.fixture("eval/tiny.jsonl").path], options: DatasetOptions(), tokenizer: model.tokenizer)
        return (model, samples, reference)
    }

    func testIdsLabelsAndPerplexityAreTransformers() throws {
        let (model, samples, reference) = try load()
        XCTAssertEqual(samples.count, reference.records.count)
        for (sample, record) in zip(samples, reference.records) {
            XCTAssertEqual(sample.encoded?.inputIds, record.ids, "\(sample.source)")
            XCTAssertEqual(sample.encoded?.labels, record.labels, "\(sample.source)")
        }
        for name in ["base", "adapter"] {
            try model.adapters.activate(name == "base" ? nil : name)
            let expected = try XCTUnwrap(reference.models[name])
            let ppl = try Evaluator(model: model).perplexity(samples, batchSize: 2)
            XCTAssertEqual(ppl.labeledTokens, expected.labeled.reduce(0, +))
            // f32 logits here and in the reference: the loss agrees to ~1e-7 relative.
            XCTAssertEqual(ppl.ppl, expected.ppl, accuracy: expected.ppl * 1e-5, name)
            XCTAssertEqual(ppl.trainerPpl, expected.eval_ppl_trainer, accuracy: expected.eval_ppl_trainer * 1e-5, name)
            XCTAssertNotEqual(ppl.ppl, ppl.trainerPpl, "token-weighted and per-batch means differ on these records")
        }
        XCTAssertNotEqual(reference.models["base"]?.ppl, reference.models["adapter"]?.ppl)
    }

    func testGenerationMetricsNeedReferenceAnswers() throws {
        let (_, samples, _) = try load()
        var unanswered = samples
        unanswered[1].reference = nil
        XCTAssertThrowsError(try Evaluator.checkInputs(unanswered, metrics: [.ppl, .bleu4], expected: [])) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("metric bleu-4 needs a reference answer"), text)
            XCTAssertTrue(text.contains("tiny.jsonl:2"), text)
        }
        // contains with --contains strings needs no reference; perplexity needs labeled tokens.
        XCTAssertNoThrow(try Evaluator.checkInputs(unanswered, metrics: [.contains], expected: ["Lumen"]))
        var unlabeled = samples
        for i in unlabeled.indices { unlabeled[i].encoded = nil }
        XCTAssertThrowsError(try Evaluator.checkInputs(unlabeled, metrics: [.ppl], expected: [])) { error in
            XCTAssertTrue("\(error)".contains("metric ppl needs labeled tokens"), "\(error)")
        }
    }

    func testPredictionsAreBatchedGreedyThroughTheTemplate() throws {
        let (model, samples, _) = try load()
        var parameters = model.defaults
        parameters.doSample = false
        parameters.maxNewTokens = 6
        let batched = try Evaluator(model: model).predictions(samples, parameters: parameters, batchSize: 3)
        let single = try Evaluator(model: model).predictions(samples, parameters: parameters, batchSize: 1)
        XCTAssertEqual(batched.map(\.predict), single.map(\.predict))
        XCTAssertEqual(batched.map(\.label), ["I am Lumen, made by Tailor.", "hi there", "你好!", "four five"])
        XCTAssertEqual(batched[3].question, "More")
        XCTAssertTrue(batched[0].prompt.hasSuffix("<s>assistant:"), batched[0].prompt)
        let lines = EvalReport.predictionLines(batched).split(separator: "\n")
        XCTAssertEqual(lines.count, 4)
        XCTAssertTrue(lines[2].hasPrefix(#"{"prompt": "<s>user: 你好</s><s>assistant:", "predict": "#), String(lines[2]))
    }
}
