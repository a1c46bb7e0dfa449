import Foundation
import TailorTestSupport
import TailorTokenizers
import XCTest
@testable import TailorData

/// Preference pairs tokenized as the pinned TRL's DPOTrainer tokenizes conversational data
/// (Tests/Fixtures/dpo/tokenization.json, scripts/reference/make_dpo_tokenization_fixtures.py):
/// LLaMA-Factory's dpo_en_demo records and hand-made ones (a system turn, a multi-turn prompt, TRL's
/// implicit prompt), under Qwen2.5's template and a template whose generation prompt is not a token
/// prefix of the rendered reply. Then truncation, and what is reported.
final class PreferenceEncodingTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-pairs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func write(_ name: String, _ text: String) throws -> String {
        let url = folder.appendingPathComponent(name)
        try text.write(to: url, atomically: false, encoding: .utf8)
        return url.path
    }

    func testPairsEqualTRLsTokenization() throws {
        let fixture = try JSONSerialization.jsonObject(with: Data(contentsOf: TestPaths.fixture("dpo/tokenization.json"))) as? [String: Any]
        let records = try XCTUnwrap(fixture?["records"] as? [Any])
        let lines = try records.map { String(decoding: try JSONSerialization.data(withJSONObject: $0), as: UTF8.self) }
        let data = try write("pairs.jsonl", lines.joined(separator: "\n") + "\n")
        for case let entry as [String: Any] in try XCTUnwrap(fixture?["cases"] as? [Any]) {
            let tokenizerFolder = try XCTUnwrap(entry["tokenizer"] as? String)
            var options = DatasetOptions()
            if let template = entry["template"] as? String { options.template = try write("template.jinja", template) }
            let loaded = try DatasetEncoder.load(paths: [data], options: options)
            XCTAssertEqual(loaded.conversations.count, records.count)
            let encoder = try DatasetEncoder(options: options, tokenizer: PretrainedTokenizer(folder: TestPaths.fixture(tokenizerFolder)))
            let result = try encoder.encodePairs(loaded, truncation: .right)
            let expected = try XCTUnwrap(entry["expected"] as? [[String: [Int]]])
            XCTAssertEqual(result.pairs.count, expected.count, tokenizerFolder)
            for (index, (pair, want)) in zip(result.pairs, expected).enumerated() {
                let id = "\(tokenizerFolder) record \(index + 1)"
                XCTAssertEqual(pair.prompt.map(Int.init), want["prompt_ids"], "\(id) prompt")
                XCTAssertEqual(pair.chosen.map(Int.init), want["chosen_ids"], "\(id) chosen")
                XCTAssertEqual(pair.rejected.map(Int.init), want["rejected_ids"], "\(id) rejected")
                XCTAssertEqual(pair.chosenSample.labels.filter { $0 != -100 }.count, pair.chosen.count, id)
            }
            XCTAssertFalse(result.issues.contains { $0.kind == .promptNotPrefix }, "\(result.issues)")
        }
    }

    /// A generation prompt the rendered reply does not start with: the replies begin where the ids
    /// differ, as TRL splits them, and the record is reported.
    func testAPromptThatIsNotATokenPrefixIsReported() throws {
        var options = DatasetOptions()
        options.template = try write("t.jinja", "{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}"
                                     + "{% if add_generation_prompt %}assistant: \n{% endif %}")
        let data = try write("p.jsonl", #"{"prompt": "Hi", "chosen": "Hello there", "rejected": "Go away"}"# + "\n")
        let encoder = try DatasetEncoder(options: options, tokenizer: PretrainedTokenizer(folder: TestPaths.fixture("tokenizers/qwen2")))
        let result = try encoder.encodePairs(try DatasetEncoder.load(paths: [data], options: options), truncation: .right)
        let issue = try XCTUnwrap(result.issues.first { $0.kind == .promptNotPrefix })
        XCTAssertEqual(issue.source?.line, 1)
        let pair = try XCTUnwrap(result.pairs.first)
        let tokenizer = try PretrainedTokenizer(folder: TestPaths.fixture("tokenizers/qwen2")).tokenizer
        XCTAssertEqual(tokenizer.decode((pair.prompt + pair.chosen).map(Int.init)), "user: Hi\nassistant: Hello there\n")
        XCTAssertFalse(tokenizer.decode(pair.prompt.map(Int.init)).hasSuffix("\n"), "the prompt stops where the ids differ")
    }

    func pair(_ prompt: Int, _ chosen: Int, _ rejected: Int) -> EncodedPair {
        EncodedPair(prompt: (0..<prompt).map { Int32(100 + $0) }, chosen: (0..<chosen).map { Int32(200 + $0) },
                    rejected: (0..<rejected).map { Int32(300 + $0) }, source: SourceLocation(file: "p.jsonl", line: 3, index: 2))
    }

    func testTruncationModes() throws {
        var issues: [DataIssue] = []
        XCTAssertEqual(pair(3, 2, 2).fitted(maxLength: 5, truncation: .right, issues: &issues), pair(3, 2, 2), "fits: unchanged")
        XCTAssertTrue(issues.isEmpty)
        // keep_start (TRL's default): each sequence's end goes.
        let start = try XCTUnwrap(pair(4, 6, 3).fitted(maxLength: 6, truncation: .right, issues: &issues))
        XCTAssertEqual([start.prompt.count, start.chosen.count, start.rejected.count], [4, 2, 2])
        XCTAssertEqual(start.chosen, [200, 201])
        // A prompt that fills max_length leaves no reply token: dropped, as TRL drops it.
        XCTAssertNil(pair(6, 2, 2).fitted(maxLength: 6, truncation: .right, issues: &issues))
        XCTAssertEqual(issues.last?.kind, .dropped)
        XCTAssertEqual(issues.last?.source?.line, 3)
        // keep_end: the start goes, the prompt's first tokens first.
        let end = try XCTUnwrap(pair(4, 3, 2).fitted(maxLength: 5, truncation: .left, issues: &issues))
        XCTAssertEqual(end.prompt, [102, 103])
        XCTAssertEqual(end.chosen.count, 3)
        // keep_response: the prompt's oldest tokens go so the longer reply fits whole.
        let response = try XCTUnwrap(pair(4, 3, 1).fitted(maxLength: 5, truncation: .keepResponse, issues: &issues))
        XCTAssertEqual(response.prompt, [102, 103])
        XCTAssertEqual(response.chosen, [200, 201, 202])
        XCTAssertNil(pair(4, 3, 1).fitted(maxLength: 5, truncation: .drop, issues: &issues))
    }

    /// Bad input, named by file and line: a record without rejected, an identical pair (warned),
    /// SFT records where pairs are needed.
    func testBadPreferenceRecords() throws {
        let options = DatasetOptions()
        let encoder = try DatasetEncoder(options: options, tokenizer: PretrainedTokenizer(folder: TestPaths.fixture("tokenizers/qwen2")))
        let missing = try write("missing.jsonl", #"{"prompt": "q", "chosen": "a"}"# + "\n")
        XCTAssertThrowsError(try DatasetEncoder.load(paths: [missing], options: options)) { error in
            XCTAssertTrue("\(error)".contains("missing.jsonl:1") && "\(error)".contains("'rejected' is missing"), "\(error)")
        }
        let same = try write("same.jsonl", #"{"prompt": "q", "chosen": "a", "rejected": "a"}"# + "\n")
        let result = try encoder.encodePairs(try DatasetEncoder.load(paths: [same], options: options), truncation: .right)
        XCTAssertEqual(result.pairs.count, 1)
        XCTAssertEqual(result.issues.map(\.kind), [.identicalReplies])
        XCTAssertEqual(result.issues.first?.source?.line, 1)
        let sft = try write("sft.jsonl", #"{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}"# + "\n")
        XCTAssertThrowsError(try encoder.encodePairs(try DatasetEncoder.load(paths: [sft], options: options), truncation: .right)) { error in
            XCTAssertTrue("\(error)".contains("sft.jsonl:1: a conversation without a rejected reply. Preference training (stage dpo) needs pairs"),
                          "\(error)")
        }
        let tokenized = try write("tok.jsonl", #"{"prompt_ids": [1, 2], "chosen_ids": [], "rejected_ids": [4]}"# + "\n")
        XCTAssertThrowsError(try DatasetEncoder.load(paths: [tokenized], options: options)) { error in
            XCTAssertTrue("\(error)".contains("tok.jsonl:1") && "\(error)".contains("chosen_ids"), "\(error)")
        }
    }
}
