import ArgumentParser
import Foundation
@testable import tailor
import TailorTestSupport
import XCTest

/// `tailor eval` end to end on the tiny chat model, and its refusals of bad input.
final class EvalCommandTests: XCTestCase {
    func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-eval-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    func testUnknownMetricListsTheKnownOnes() {
        XCTAssertThrowsError(try EvalCommand.parse(["--model", "m", "--dataset", "d.jsonl", "--metrics", "ppl,bleu"])) { error in
            let message = EvalCommand.message(for: error)
            XCTAssertTrue(message.contains("unknown metric 'bleu'; known: ppl, eval_ppl_trainer, bleu-4, rouge, sacrebleu, rouge-score, exact, contains"), message)
        }
        XCTAssertThrowsError(try EvalCommand.parse(["--model", "m"])) { error in
            XCTAssertTrue(EvalCommand.message(for: error).contains("give --dataset FILE"), EvalCommand.message(for: error))
        }
        // --data is DESIGN.md's spelling.
        XCTAssertEqual(try EvalCommand.parse(["--model", "m", "--data", "d.jsonl"]).dataset, ["d.jsonl"])
        XCTAssertEqual(try EvalCommand.parse(["--model", "m", "--data", "d.jsonl", "--adapter", "runs/a/", "--adapter", "x=runs/a"]).adapterFolders().map(\.name),
                       ["a", "x"])
    }

    func testBaseAndAdapterInOneRunWriteTableJSONPredictionsAndReport() async throws {
        let out = try temporaryFolder()
        var command = try EvalCommand.parse([
            "--model", TestPaths.fixture("generation/chat-llama").path, "--adapter", TestPaths.fixture("generation/adapters/llama").path,
            "--dataset", TestPaths.fixture("eval/tiny.jsonl").path, "--metrics", "ppl,eval_ppl_trainer,sacrebleu,rouge-score,exact,contains",
            "--max-new-tokens", "6", "--eval-batch-size", "2", "--contains", "Lumen", "--output", out.path,
            "--matmul", "fp32",  // transformers' fp32 numbers: no bf16 products on a CPU that has them
        ])
        try await command.run()
        let results = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("eval_results.json"))) as? [String: Any]
        let metrics = try XCTUnwrap(results?["metrics"] as? [String: [String: Double]])
        XCTAssertEqual(Set(metrics.keys), ["base", "llama"])
        // transformers' numbers (Tests/Fixtures/eval/ppl.json) for the same records.
        XCTAssertEqual(try XCTUnwrap(metrics["base"]?["ppl"]), 223.11104728510236, accuracy: 223 * 1e-5)
        XCTAssertEqual(try XCTUnwrap(metrics["llama"]?["eval_ppl_trainer"]), 160.38908942358398, accuracy: 160 * 1e-5)
        for column in ["sacrebleu-13a", "sacrebleu-zh", "rouge1", "rouge2", "rougeL", "exact", "contains"] {
            XCTAssertNotNil(metrics["llama"]?[column], column)
        }
        for model in ["base", "llama"] {
            let lines = try String(contentsOf: out.appendingPathComponent("\(model)/generated_predictions.jsonl"), encoding: .utf8).split(separator: "\n")
            XCTAssertEqual(lines.count, 4)
            let first = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: String])
            XCTAssertEqual(Set(first.keys), ["prompt", "predict", "label"])
        }
        let report = try String(contentsOf: out.appendingPathComponent("report.md"), encoding: .utf8)
        XCTAssertTrue(report.contains("| model | ppl | eval_ppl_trainer | sacrebleu-13a"), report)
        XCTAssertTrue(report.contains("| Who are you? | I am Lumen, made by Tailor. |"), report)
        let png = try Data(contentsOf: out.appendingPathComponent("report.png"))
        XCTAssertEqual(Array(png.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
    }

    func testMissingJiebaLeavesItsMetricsOutAndTheOthersRun() async throws {
        let out = try temporaryFolder()
        var command = try EvalCommand.parse([
            "--model", TestPaths.fixture("generation/chat-llama").path, "--dataset", TestPaths.fixture("eval/tiny.jsonl").path,
            "--metrics", "bleu-4,rouge,exact", "--max-new-tokens", "4", "--jieba-dir", out.appendingPathComponent("no-jieba").path,
            "--output", out.path,
        ])
        try await command.run()
        let results = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("eval_results.json"))) as? [String: Any])
        let base = try XCTUnwrap((results["metrics"] as? [String: [String: Double]])?["base"])
        XCTAssertEqual(Set(base.keys), ["exact"])
        let notes = try XCTUnwrap(results["notes"] as? [String])
        XCTAssertEqual(notes.count, 1)
        XCTAssertTrue(notes[0].hasPrefix("bleu-4, rouge-1, rouge-2, rouge-l left out: jieba's dict.txt is not in "), notes[0])
    }

    func testAJiebaDictionaryThatCannotBeFetchedIsSaidPlainly() throws {
        let cache = try temporaryFolder()
        let result = JiebaFetch.load(explicit: nil, environment: ["TAILOR_CACHE": cache.path, "TAILOR_PYTHON": "no-such-python-tailor"], log: { _ in })
        guard case let .failure(why) = result else { return XCTFail("fetched without python") }
        XCTAssertTrue(why.reason.hasPrefix("jieba's dictionary could not be fetched: no-such-python-tailor -m pip"), why.reason)
        XCTAssertTrue(why.reason.contains("TAILOR_JIEBA_DIR"), why.reason)
    }

    func testDatasetWithoutAnswersSaysWhichMetricNeedsWhat() async throws {
        let out = try temporaryFolder()
        let data = out.appendingPathComponent("questions.jsonl")
        try Data(#"{"messages": [{"role": "user", "content": "Who are you?"}]}"#.utf8).write(to: data)
        var command = try EvalCommand.parse(["--model", TestPaths.fixture("generation/chat-llama").path, "--dataset", data.path,
                                             "--metrics", "rouge-score", "--output", out.path])
        do {
            try await command.run()
            XCTFail("scored answers without references")
        } catch {
            XCTAssertTrue("\(error)".contains("metric rouge-score needs a reference answer: the record's last assistant reply"), "\(error)")
            XCTAssertTrue("\(error)".contains("questions.jsonl:1 has none"), "\(error)")
        }
        // contains with --contains needs no reference.
        var contains = try EvalCommand.parse(["--model", TestPaths.fixture("generation/chat-llama").path, "--dataset", data.path,
                                              "--metrics", "contains", "--contains", "Lumen", "--max-new-tokens", "3", "--output", out.path])
        try await contains.run()
    }
}
