import Foundation
import TailorData
@testable import TailorInference
import TailorModels
import TailorTensor
import TailorTestSupport
import XCTest

/// `tailor eval`'s perplexity on the real SmolLM2-135M-Instruct against transformers loading the same GGUF
/// (Tests/Fixtures/eval/ppl_smollm2.json from scripts/reference/make_eval_ppl_fixtures.py): eight persona
/// records, English and Chinese, with the same ids and labels, the same masked loss. Skips, saying why,
/// when the model cannot be fetched.
final class SmolLM2PerplexityTests: XCTestCase {
    struct Reference: Decodable {
        struct Message: Decodable { var role: String; var content: String }
        struct Encoded: Decodable { var ids: [Int32]; var labels: [Int32] }
        struct Model: Decodable { var labeled: [Int]; var ppl: Double; var eval_ppl_trainer: Double }
        var records: [[Message]]
        var encoded: [Encoded]
        var models: [String: Model]
    }

    /// The quick start's imported folder when it is there, else a fresh import into a temporary folder.
    func modelFolder() throws -> URL {
        let gguf = try SmolLM2File.locate()
        let cached = GGUFImport.defaultCache.appendingPathComponent("smollm2/hf")
        if FileManager.default.fileExists(atPath: cached.appendingPathComponent("config.json").path) { return cached }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-smollm2-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        _ = try GGUFImport.run(file: gguf, output: folder)
        return folder
    }

    func testPerplexityIsTransformers() throws {
        let folder = try modelFolder()
        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: TestPaths.fixture("eval/ppl_smollm2.json")))
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-persona-\(UUID().uuidString).jsonl")
        addTeardownBlock { try? FileManager.default.removeItem(at: data) }
        let lines = try reference.records.map { messages -> String in
            let record = ["messages": messages.map { ["role": $0.role, "content": $0.content] }]
            return String(decoding: try JSONSerialization.data(withJSONObject: record), as: UTF8.self)
        }
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: data)
        let model = try InferenceModel(folder: folder, backend: try CPUBackend())
        let samples = try EvalSample.load(paths: [data.path], options: DatasetOptions(), tokenizer: model.tokenizer)
        XCTAssertEqual(samples.count, 8)
        for (sample, expected) in zip(samples, reference.encoded) {
            XCTAssertEqual(sample.encoded?.inputIds, expected.ids, "\(sample.source)")
            XCTAssertEqual(sample.encoded?.labels, expected.labels, "\(sample.source)")
        }
        let expected = try XCTUnwrap(reference.models["base"])
        let ppl = try Evaluator(model: model).perplexity(samples, batchSize: 2)
        XCTAssertEqual(ppl.labeledTokens, expected.labeled.reduce(0, +))
        XCTAssertEqual(ppl.ppl, expected.ppl, accuracy: expected.ppl * 1e-4)
        XCTAssertEqual(ppl.trainerPpl, expected.eval_ppl_trainer, accuracy: expected.eval_ppl_trainer * 1e-4)
    }
}
