import Foundation
import XCTest
import TailorTestSupport
import TailorTokenizers
@testable import TailorData

final class LoaderTests: XCTestCase {
    func testDemoDatasetsDetectedAndConverted() throws {
        let expected: [(String, DatasetFormat, Int)] = [
            ("alpaca_en_demo.json", .alpaca, 999), ("identity.json", .alpaca, 91),
            ("glaive_toolcall_en_demo.json", .sharegpt, 300), ("dpo_en_demo.json", .preference, 300),
            ("kto_en_demo.json", .messages, 300), ("c4_demo.jsonl", .text, 300), ("v1_sft_demo.jsonl", .messages, 500),
        ]
        for (name, format, count) in expected {
            guard let url = TestPaths.sharedFile("datasets/\(name)") else { throw XCTSkip("../shared/datasets absent") }
            let data = try DatasetLoader().load(paths: [url.path])
            XCTAssertEqual(data.formats.first?.format, format, name)
            if name != "identity.json" { XCTAssertEqual(data.conversations.count, count, name) }
            XCTAssertTrue(data.skipped.isEmpty, name)
        }
        let glaive = try DatasetLoader().load(paths: [TestPaths.sharedFile("datasets/glaive_toolcall_en_demo.json")!.path])
        let first = glaive.conversations[0]
        XCTAssertNotNil(first.tools)
        XCTAssertEqual(first.source.line, 2)
        XCTAssertEqual(glaive.conversations[1].source.index, 1)
        XCTAssertTrue(first.messages.contains { $0.toolCalls != nil })
        XCTAssertTrue(first.messages.contains { $0.role == .tool })
        let dpo = try DatasetLoader().load(paths: [TestPaths.sharedFile("datasets/dpo_en_demo.json")!.path])
        XCTAssertEqual(dpo.conversations[0].rejected?.count, 1)
        XCTAssertEqual(dpo.conversations[0].messages.last?.role, .assistant)
    }

    func testJSONArrayLinesAndCSV() throws {
        let json = try DataTestSupport.tempFile("a.json", """
        [
          {"instruction": "Say hi", "input": "", "output": "hi"},

          {"instruction": "Add", "input": "1+1", "output": "2", "history": [["q", "a"]]}
        ]
        """)
        let data = try DatasetLoader().load(paths: [json])
        XCTAssertEqual(data.conversations.map(\.source.line), [2, 4])
        XCTAssertEqual(data.conversations[1].messages.map(\.content), ["q", "a", "Add\n1+1", "2"])

        let csv = try DataTestSupport.tempFile("q.csv", "Question,Complex_CoT,Response\n\"头痛, 发热\",\"多行\n分析\",答案\nq2,c2,r2\n")
        let t = ColumnTemplate(prompt: "问题:{Question}\n分析:{Complex_CoT}\n", response: "{Response}")
        let rows = try DatasetLoader(options: .init(columnTemplate: t)).load(paths: [csv])
        XCTAssertEqual(rows.conversations.count, 2)
        XCTAssertEqual(rows.conversations[0].messages[0].content, "问题:头痛, 发热\n分析:多行\n分析\n")
        XCTAssertEqual(rows.conversations[1].source.line, 4)
        XCTAssertTrue(rows.conversations[0].raw)

        let tsv = try DataTestSupport.tempFile("t.tsv", "text\nfirst line\nsecond line\n")
        XCTAssertEqual(try DatasetLoader().load(paths: [tsv]).conversations.map(\.text), ["first line", "second line"])
    }

    func testFolderAndGlob() throws {
        let a = try DataTestSupport.tempFile("x.jsonl", #"{"text": "a"}"# + "\n")
        let dir = (a as NSString).deletingLastPathComponent
        try #"{"text": "b"}"#.write(toFile: dir + "/y.jsonl", atomically: true, encoding: .utf8)
        XCTAssertEqual(try DatasetLoader().load(paths: [dir]).conversations.map(\.text), ["a", "b"])
        XCTAssertEqual(try DatasetLoader().load(paths: [dir + "/*.jsonl"]).conversations.count, 2)
        XCTAssertThrowsError(try DatasetLoader().load(paths: [dir + "/*.csv"])) { e in
            guard case DataError.noFiles = e else { return XCTFail("\(e)") }
        }
    }

    func testStreamingJSONLVisitsEveryLine() throws {
        var lines = ""
        for i in 0..<5000 { lines += "{\"text\": \"sample \(i) " + String(repeating: "x", count: 300) + "\"}\n" }
        let path = try DataTestSupport.tempFile("big.jsonl", lines)
        var count = 0, lastLine = 0
        try RecordReader.forEach(file: path) { r in count += 1; lastLine = r.source.line }
        XCTAssertEqual(count, 5000)
        XCTAssertEqual(lastLine, 5000)
    }

    // MARK: Bad input: each error names file, line and field.

    func testBadJSONLineNamesFileAndLine() throws {
        let path = try DataTestSupport.tempFile("bad.jsonl", """
        {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}
        {"messages": [{"role": "user", "content": "hi"
        {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "ok"}]}
        """)
        XCTAssertThrowsError(try DatasetLoader().load(paths: [path])) { e in
            guard case DataError.invalidRecord(let at, _) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(at.line, 2)
            XCTAssertTrue("\(e)".contains("bad.jsonl:2"), "\(e)")
            XCTAssertTrue("\(e)".contains("--skip-invalid"))
        }
        let loaded = try DatasetLoader(options: .init(skipInvalid: true)).load(paths: [path])
        XCTAssertEqual(loaded.conversations.count, 2)
        XCTAssertEqual(loaded.skipped.count, 1)
        XCTAssertEqual(loaded.skipped.first?.source?.line, 2)
    }

    func testBadJSONNamesLineAndColumnInJSONLinesAndArrays() throws {
        let lines = try DataTestSupport.tempFile("bad.jsonl", "{\"text\": \"a\"}\n{\"text\": \"a\" \"b\": 1}\n")
        XCTAssertThrowsError(try DatasetLoader().load(paths: [lines])) { e in
            XCTAssertEqual(e as? DataError, .invalidRecord(SourceLocation(file: lines, line: 2, index: 1),
                                                           reason: "not valid JSON at column 14: unexpected character '\"'; expected ',' or '}' after an object member"))
            XCTAssertTrue("\(e)".hasPrefix(lines + ":2: not a valid record: not valid JSON at column 14: "), "\(e)")
        }
        // In a JSON array the line and column are the file's, not the element's.
        let array = try DataTestSupport.tempFile("bad.json", "[\n  {\"text\": \"a\"},\n  {\"text\": \"b\",\n   \"x\": 1 2}\n]\n")
        XCTAssertThrowsError(try DatasetLoader().load(paths: [array])) { e in
            XCTAssertEqual(e as? DataError, .invalidRecord(SourceLocation(file: array, line: 4, index: 1),
                                                           reason: "not valid JSON at column 11: unexpected character '2'; expected ',' or '}' after an object member"))
        }
        // A JSON Lines file that starts with a byte order mark reads.
        let bom = try DataTestSupport.tempFile("bom.jsonl", "\u{FEFF}{\"text\": \"a\"}\n")
        XCTAssertEqual(try RecordReader.read(file: bom).first?.value, ["text": "a"])
    }

    func testMissingFieldWrongTypeUnknownRole() throws {
        let missing = try DataTestSupport.tempFile("m.json", #"[{"instruction": "a", "output": "b"}, {"instruction": "c"}]"#)
        XCTAssertThrowsError(try DatasetLoader(options: .init(format: .alpaca)).load(paths: [missing])) { e in
            XCTAssertEqual(e as? DataError, .missingField(SourceLocation(file: missing, line: 1, index: 1), field: "output"))
        }
        let wrong = try DataTestSupport.tempFile("w.jsonl", #"{"instruction": "a", "input": "", "output": 3.5}"# + "\n" + #"{"instruction": ["x", {"a": 1}], "output": "b"}"#)
        XCTAssertThrowsError(try DatasetLoader().load(paths: [wrong])) { e in
            guard case DataError.wrongType(let at, let field, _, _) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(at.line, 2)
            XCTAssertEqual(field, "instruction[1]")
        }
        let role = try DataTestSupport.tempFile("r.jsonl", #"{"conversations": [{"from": "human", "value": "a"}, {"from": "robot", "value": "b"}]}"#)
        XCTAssertThrowsError(try DatasetLoader().load(paths: [role])) { e in
            XCTAssertEqual(e as? DataError, .unknownRole(SourceLocation(file: role, line: 1, index: 0), field: "conversations[1].from", role: "robot"))
        }
        let skipped = try DatasetLoader(options: .init(skipInvalid: true)).load(paths: [role])
        XCTAssertEqual(skipped.conversations.count, 0)
        XCTAssertEqual(skipped.skipped.count, 1)
    }

    func testEmptyFileAndUnknownFormat() throws {
        for contents in ["", "   \n", "[]"] {
            let path = try DataTestSupport.tempFile("e.json", contents)
            XCTAssertThrowsError(try DatasetLoader().load(paths: [path])) { e in
                XCTAssertEqual(e as? DataError, .emptyFile(path: path), contents)
            }
        }
        let path = try DataTestSupport.tempFile("u.jsonl", #"{"foo": 1}"#)
        XCTAssertThrowsError(try DatasetLoader().load(paths: [path])) { e in
            guard case DataError.unknownFormat = e else { return XCTFail("\(e)") }
        }
        XCTAssertThrowsError(try DatasetLoader().load(paths: ["/nonexistent/x.json"])) { e in
            guard case DataError.fileNotReadable = e else { return XCTFail("\(e)") }
        }
    }

    func testUnclosedArrayAndCSVFieldCount() throws {
        let path = try DataTestSupport.tempFile("c.json", "[\n{\"text\": \"a\"},\n{\"text\": \"b\"")
        XCTAssertThrowsError(try DatasetLoader().load(paths: [path])) { e in
            guard case DataError.invalidRecord(let at, _) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(at.line, 3)
        }
        let csv = try DataTestSupport.tempFile("c.csv", "text,other\na,b\nc\n")
        XCTAssertThrowsError(try DatasetLoader().load(paths: [csv])) { e in
            guard case DataError.invalidRecord(let at, _) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(at.line, 3)
        }
    }
}
