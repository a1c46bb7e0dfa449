import Foundation
import XCTest
import TailorTestSupport
import TailorTokenizers
@testable import TailorData

/// Pre-tokenized records (`input_ids`, `labels`, `attention_mask`): read as they are, and every
/// bad record named by file, line and field.
final class TokenizedRecordTests: XCTestCase {
    func load(_ name: String, _ contents: String, options: LoaderOptions = LoaderOptions()) throws -> (LoadedDataset, String) {
        let path = try DataTestSupport.tempFile(name, contents)
        return (try DatasetLoader(options: options).load(paths: [path]), path)
    }

    func testLabelsDefaultToInputIdsAndMinus100IsKept() throws {
        let (data, path) = try load("t.jsonl", """
        {"input_ids": [1, 5, 9, 2]}
        {"input_ids": [1, 7, 3], "labels": [-100, -100, 3]}
        {"input_ids": [4, 4], "labels": null, "text": "kept columns are ignored"}
        """)
        XCTAssertEqual(data.formats.map(\.format), [.tokenized], "detected from input_ids")
        XCTAssertTrue(data.conversations.isEmpty)
        XCTAssertEqual(data.sampleCount, 3)
        XCTAssertEqual(data.tokenized.map(\.inputIds), [[1, 5, 9, 2], [1, 7, 3], [4, 4]])
        XCTAssertEqual(data.tokenized.map(\.labels), [[1, 5, 9, 2], [-100, -100, 3], [4, 4]], "absent labels: every token trained")
        XCTAssertEqual(data.tokenized.map(\.source), (0..<3).map { SourceLocation(file: path, line: $0 + 1, index: $0) })
        XCTAssertEqual(data.tokenized[1].trainedTokenCount, 1)
    }

    /// TRL's completion_mask / assistant_masks: a 0 masks the label, on top of labels or input_ids.
    func testTRLMasksMaskLabels() throws {
        let (data, _) = try load("m.jsonl", """
        {"input_ids": [1, 5, 9, 2], "completion_mask": [0, 0, 1, 1]}
        {"input_ids": [1, 7, 3, 4], "labels": [-100, 7, 3, 4], "assistant_masks": [1, 1, 0, 1]}
        {"input_ids": [6, 8, 0], "completion_mask": [0, 1, 1], "attention_mask": [1, 1, 0]}
        """)
        XCTAssertEqual(data.tokenized.map(\.labels), [[-100, -100, 9, 2], [-100, 7, -100, 4], [-100, 8]])
        let path = try DataTestSupport.tempFile("bad-mask.jsonl", #"{"input_ids": [1, 2], "completion_mask": [1]}"# + "\n")
        XCTAssertThrowsError(try DatasetLoader(options: .init(format: .tokenized)).load(paths: [path])) { error in
            XCTAssertTrue("\(error)".contains("'completion_mask'") && "\(error)".contains("as long as input_ids (2)"), "\(error)")
        }
    }

    func testRightPaddingIsDropped() throws {
        let (data, _) = try load("p.json", """
        [
          {"input_ids": [1, 5, 9, 0, 0], "labels": [1, 5, 9, -100, -100], "attention_mask": [1, 1, 1, 0, 0]},
          {"input_ids": [1, 6], "attention_mask": [1, 1]}
        ]
        """)
        XCTAssertEqual(data.tokenized.map(\.inputIds), [[1, 5, 9], [1, 6]])
        XCTAssertEqual(data.tokenized.map(\.labels), [[1, 5, 9], [1, 6]])
        XCTAssertEqual(data.tokenized.map(\.source.line), [2, 3], "a JSON array's records keep their lines")
    }

    func testDetectionPrefersTokenIdsOverTextColumns() {
        XCTAssertEqual(DatasetFormat.detect(.object(["text": "a", "input_ids": .array([.int(1)])])), .tokenized)
        XCTAssertEqual(DatasetFormat.detect(.object(["messages": .array([]), "input_ids": .array([.int(1)])])), .tokenized)
        XCTAssertEqual(DatasetFormat(rawValue: "tokenized"), .tokenized)
    }

    static let missingInputIds = #"{"ids": [1, 2]}"#

    /// (record, field at fault, words the message must hold)
    static let badRecords: [(String, String, [String])] = [
        (#"{"input_ids": [1, "7", 3]}"#, "input_ids[1]", ["token id", "the string \"7\""]),
        (#"{"input_ids": [1, 2.5]}"#, "input_ids[1]", ["the number 2.5"]),
        (#"{"input_ids": [1, -4]}"#, "input_ids[1]", ["≥ 0", "-4"]),
        (#"{"input_ids": [1, 9999999999]}"#, "input_ids[1]", ["9999999999"]),
        (#"{"input_ids": []}"#, "input_ids", ["non-empty", "an empty list"]),
        (#"{"input_ids": "1 2 3"}"#, "input_ids", ["a list of integers", "a string"]),
        (#"{"input_ids": [1, 2, 3], "labels": [1, 2]}"#, "labels", ["as long as input_ids (3)", "a list of 2"]),
        (#"{"input_ids": [1, 2], "labels": [1, -5]}"#, "labels[1]", ["-100", "-5"]),
        (#"{"input_ids": [1, 2], "attention_mask": [1, 2]}"#, "attention_mask[1]", ["0 or 1", "2"]),
        (#"{"input_ids": [0, 1, 2], "attention_mask": [0, 1, 1]}"#, "attention_mask", ["right padding", "position 0", "left padding"]),
        (#"{"input_ids": [1, 0, 2], "attention_mask": [1, 0, 1]}"#, "attention_mask", ["a hole"]),
        (#"{"input_ids": [1, 2], "attention_mask": [0, 0]}"#, "attention_mask", ["no token"]),
        (#"{"input_ids": [1, 2], "attention_mask": [1, 1, 1]}"#, "attention_mask", ["as long as input_ids (2)"]),
        (missingInputIds, "input_ids", ["missing"]),
        (#"[1, 2]"#, "(record)", ["a JSON object"]),
    ]

    func testEachBadRecordNamesFileLineAndField() throws {
        for (record, field, words) in Self.badRecords {
            // A good record first, so the bad one is on line 2; the format named, so no detection is needed.
            let path = try DataTestSupport.tempFile("bad.jsonl", #"{"input_ids": [1, 2]}"# + "\n" + record + "\n")
            XCTAssertThrowsError(try DatasetLoader(options: .init(format: .tokenized)).load(paths: [path]), record) { error in
                let message = "\(error)"
                XCTAssertTrue(message.hasPrefix("\(path):2: "), message)
                XCTAssertTrue(message.contains("'\(field)'"), "\(record): \(message)")
                for word in words { XCTAssertTrue(message.contains(word), "\(record): '\(word)' missing from: \(message)") }
                // The one record without input_ids is missingField; every other is wrongType.
                switch (error as? DataError, record == Self.missingInputIds) {
                case let (.wrongType(at, f, _, _)?, false), let (.missingField(at, f)?, true):
                    XCTAssertEqual(at.line, 2)
                    XCTAssertEqual(f, field)
                default: XCTFail("\(record): \(error)")
                }
            }
        }
    }

    func testSkipInvalidLeavesBadRecordsOutWithTheirLines() throws {
        let (data, _) = try load("s.jsonl", """
        {"input_ids": [1, 2]}
        {"input_ids": [1, "x"]}
        {"input_ids": [3, 4], "labels": [3]}
        {"input_ids": [5]}
        """, options: .init(skipInvalid: true))
        XCTAssertEqual(data.tokenized.map(\.inputIds), [[1, 2], [5]])
        XCTAssertEqual(data.skipped.compactMap(\.source?.line), [2, 3])
        XCTAssertTrue(data.skipped[0].message.contains("input_ids[1]"), data.skipped[0].message)
    }

    func testMaxSamplesCountsTokenizedRecords() throws {
        let (data, _) = try load("m.jsonl", (1...5).map { #"{"input_ids": [\#($0)]}"# }.joined(separator: "\n"),
                                 options: .init(maxSamples: 3))
        XCTAssertEqual(data.tokenized.map(\.inputIds), [[1], [2], [3]])
    }

    func testFitCutsOnTheRightAndReportsIt() {
        var issues: [DataIssue] = []
        let long = EncodedSample(inputIds: [1, 2, 3, 4, 5, 6], labels: [-100, -100, -100, -100, 5, 6],
                                 source: SourceLocation(file: "d.jsonl", line: 7, index: 6))
        let cut = TokenizedRecord.fit(long, maxLength: 4, issues: &issues)
        XCTAssertEqual(cut.inputIds, [1, 2, 3, 4])
        XCTAssertEqual(cut.labels, [-100, -100, -100, -100])
        XCTAssertEqual(cut.truncatedTokens, 2)
        XCTAssertEqual(issues.map(\.kind), [.truncated, .fullyMasked], "cutting the trained end leaves nothing trained")
        XCTAssertEqual(issues[0].description, "d.jsonl:7: truncated: cut 2 tokens from the end (6 > max_length 4)")
        var none: [DataIssue] = []
        XCTAssertEqual(TokenizedRecord.fit(long, maxLength: 6, issues: &none), long)
        XCTAssertTrue(none.isEmpty)
    }

    func testSplitWritesTokenizedRecordsThatReadBack() throws {
        let (data, path) = try load("w.jsonl", #"{"input_ids": [1, 2, 3], "labels": [-100, 2, 3]}"# + "\n" + #"{"input_ids": [4]}"#)
        let out = (path as NSString).deletingLastPathComponent + "/out.jsonl"
        try DatasetWriter.writeJSONL(tokenized: data.tokenized, to: out)
        let again = try DatasetLoader().load(paths: [out])
        XCTAssertEqual(again.tokenized.map(\.inputIds), data.tokenized.map(\.inputIds))
        XCTAssertEqual(again.tokenized.map(\.labels), data.tokenized.map(\.labels))
    }

    func testRecordConverterRefusesTokenizedRecords() {
        let record = Record(value: .object(["input_ids": .array([.int(1)])]), source: SourceLocation(file: "x.jsonl", line: 3, index: 2))
        XCTAssertThrowsError(try RecordConverter(format: .auto).convert(record)) { error in
            XCTAssertTrue("\(error)".contains("x.jsonl:3") && "\(error)".contains("token ids"), "\(error)")
        }
    }
}
