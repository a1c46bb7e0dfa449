import Foundation
import XCTest
import TailorTestSupport
@testable import TailorData

/// No record is lost or made up silently: a JSON array file is one whole array, bytes are UTF-8,
/// a byte order mark is skipped and named, and message fields that are not text are errors.
final class ReaderIntegrityTests: XCTestCase {
    static func file(_ name: String, _ bytes: [UInt8]) throws -> String {
        let path = try DataTestSupport.tempFile(name, "")
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    static func file(_ name: String, _ text: String) throws -> String { try file(name, Array(text.utf8)) }

    /// Asserts that loading `path` (with and without skip_invalid: the file as a whole is wrong) throws
    /// `.malformedFile` at `line`:`column` whose message contains each of `words`.
    func assertMalformed(_ path: String, line: Int, column: Int, _ words: [String],
                         file: StaticString = #filePath, at: UInt = #line) {
        for skip in [false, true] {
            XCTAssertThrowsError(try DatasetLoader(options: .init(skipInvalid: skip)).load(paths: [path]), file: file, line: at) { e in
                guard case let DataError.malformedFile(p, l, c, _) = e else { return XCTFail("\(e)", file: file, line: at) }
                XCTAssertEqual([p, "\(l)", "\(c)"], [path, "\(line)", "\(column)"], "\(e)", file: file, line: at)
                XCTAssertTrue("\(e)".hasPrefix("\(path):\(line):\(column): "), "\(e)", file: file, line: at)
                for word in words { XCTAssertTrue("\(e)".contains(word), "\(e) lacks \(word)", file: file, line: at) }
            }
        }
    }

    // MARK: JSON arrays

    func testASecondArrayIsAnErrorNotLeftOut() throws {
        let path = try Self.file("two.json", "[{\"text\": \"a\"}, {\"text\": \"b\"}]\n[{\"text\": \"c\"}]\n")
        assertMalformed(path, line: 2, column: 1, ["a second JSON array starts here", "array of 2 records", "JSON Lines"])
    }

    func testTextAfterTheArrayIsAnError() throws {
        let path = try Self.file("after.json", "[{\"text\": \"a\"}]\n  {\"text\": \"b\"}\n")
        assertMalformed(path, line: 2, column: 3, ["text follows the JSON array", "1 record "])
        // White space after the array is fine.
        XCTAssertEqual(try RecordReader.read(file: try Self.file("ok.json", "[{\"text\": \"a\"}]\n\n  \t\n")).count, 1)
    }

    func testABracketThatClosesNothingIsAnError() throws {
        // A stray '}' after the first element used to end the array there: one record of two was read.
        let path = try Self.file("stray.json", "[{\"text\": \"a\"}}, {\"text\": \"b\"}]")
        assertMalformed(path, line: 1, column: 15, ["'}' closes nothing", "after record 1"])
        let later = try Self.file("stray2.json", "[\n  {\"text\": \"a\"},\n  }\n]")
        assertMalformed(later, line: 3, column: 3, ["'}' closes nothing", "after record 1"])
    }

    func testATrailingCommaIsAnErrorAtTheComma() throws {
        let path = try Self.file("comma.json", "[\n  {\"text\": \"a\"},\n  {\"text\": \"b\"},\n]\n")
        assertMalformed(path, line: 3, column: 16, ["trailing comma", "Remove the comma"])
        // Brackets and commas inside strings are text.
        let quoted = try Self.file("quoted.json", #"[{"text": "a}, ] [x"}, {"text": "\"],"}]"#)
        XCTAssertEqual(try RecordReader.read(file: quoted).map(\.value), [["text": "a}, ] [x"], ["text": "\"],"]])
    }

    // MARK: Encoding

    func testInvalidUTF8IsAnErrorInEveryFormat() throws {
        // "café" in Latin-1: 0xE9 where UTF-8 needs two bytes.
        let latin: [UInt8] = [0x63, 0x61, 0x66, 0xE9]
        let cases: [(name: String, before: String, after: String, line: Int, column: Int, offset: Int)] = [
            ("l.jsonl", "{\"text\": \"ok\"}\n{\"text\": \"", "\"}\n", 2, 14, 28),
            ("l.json", "[{\"text\": \"ok\"},\n {\"text\": \"", "\"}]", 2, 15, 31),
            ("l.csv", "text\nok\n", "\n", 3, 4, 11),
            ("l.tsv", "text\tother\nok\tx\n", "\tx\n", 3, 4, 19),
            ("l.txt", "ok\n", "\n", 2, 4, 6),
        ]
        for c in cases {
            let path = try Self.file(c.name, Array(c.before.utf8) + latin + Array(c.after.utf8))
            assertMalformed(path, line: c.line, column: c.column, ["byte 0xE9 at byte offset \(c.offset) is not valid UTF-8", "iconv"])
        }
    }

    func testInvalidUTF8InALaterChunkOfAStreamedFileNamesItsPlace() throws {
        // JSON Lines are read 1 MiB at a time: the offset and line count across chunks.
        let line = "{\"text\": \"" + String(repeating: "x", count: 1000) + "\"}\n"
        let lines = 1500
        let path = try Self.file("big.jsonl", Array(String(repeating: line, count: lines).utf8) + [0x7B, 0xFF, 0x7D, 0x0A])
        assertMalformed(path, line: lines + 1, column: 2, ["byte 0xFF at byte offset \(lines * line.utf8.count + 1) "])
    }

    func testUTF8IsCheckedAcrossTheMiBWindowsOfAWholeFile() throws {
        // "é" straddles the first 1 MiB window's end: valid. A Latin-1 byte after it is found at its offset.
        let head = "[{\"text\": \"" + String(repeating: "x", count: (1 << 20) - 12) + "é" + "\"}, {\"text\": \""
        XCTAssertEqual(Array(head.utf8)[(1 << 20) - 1], 0xC3)
        let valid = try Self.file("straddle.json", Array((head + "ok\"}]").utf8))
        XCTAssertEqual(try RecordReader.read(file: valid).count, 2)
        let bad = try Self.file("straddle-bad.json", Array(head.utf8) + [0xE9] + Array("\"}]".utf8))
        assertMalformed(bad, line: 1, column: head.unicodeScalars.count + 1, ["byte 0xE9 at byte offset \(head.utf8.count) "])
    }

    func testAByteOrderMarkIsSkippedInEveryFormatAndNamed() throws {
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        for (name, text) in [("b.json", "[{\"text\": \"a\"}]"), ("b.jsonl", "{\"text\": \"a\"}\n"), ("b.csv", "text\na\n"),
                             ("b.tsv", "text\na\n"), ("b.txt", "a\n")] {
            let path = try Self.file(name, bom + Array(text.utf8))
            let loaded = try DatasetLoader().load(paths: [path])
            XCTAssertEqual(loaded.conversations.map(\.text), ["a"], name)  // no U+FEFF in the text, no "\u{FEFF}text" column
            XCTAssertEqual(loaded.notes.map(\.kind), [.byteOrderMark], name)
            XCTAssertEqual(loaded.notes.first?.source?.file, path)
            XCTAssertTrue(loaded.notes.first?.description.contains("byte order mark (EF BB BF), which Tailor skips") == true, name)
            if name.hasPrefix("b.json") {
                XCTAssertTrue(loaded.notes.first?.message.contains("json.load") == true, name)
            }
        }
        XCTAssertEqual(try DatasetLoader().load(paths: [try Self.file("n.jsonl", "{\"text\": \"a\"}\n")]).notes, [])
        // Byte offsets count the mark: they are the file's.
        let path = try Self.file("bl.jsonl", bom + Array("{\"text\": \"".utf8) + [0xE9] + Array("\"}\n".utf8))
        assertMalformed(path, line: 1, column: 11, ["byte offset 13 "])
    }

    // MARK: Fields that are not what the format says

    func testMessagesThatAreNotAListNameTheFieldAndType() throws {
        let path = try Self.file("m.jsonl", "{\"messages\": [{\"role\": \"user\", \"content\": \"a\"}]}\n{\"messages\": \"hi\"}\n")
        XCTAssertThrowsError(try DatasetLoader().load(paths: [path])) { e in
            XCTAssertEqual(e as? DataError, .wrongType(SourceLocation(file: path, line: 2, index: 1), field: "messages",
                                                        expected: "a list of {role, content} messages", found: "a string"))
            XCTAssertEqual("\(e)", "\(path):2: field 'messages' of record 2 is a string; expected a list of {role, content} messages.")
        }
        let sharegpt = try Self.file("s.jsonl", "{\"conversations\": 7}\n")
        XCTAssertThrowsError(try DatasetLoader().load(paths: [sharegpt])) { e in
            guard case DataError.wrongType(_, "conversations", _, "a number") = e else { return XCTFail("\(e)") }
        }
        // A record with text beside a null or odd conversation field is still text.
        let text = try Self.file("t.jsonl", "{\"text\": \"a\", \"messages\": null}\n")
        XCTAssertEqual(try DatasetLoader().load(paths: [text]).conversations.map(\.text), ["a"])
    }

    func testMessageContentMustBeTextOrTextParts() throws {
        func load(_ content: String, _ key: String = "content") throws -> String {
            let path = try Self.file("c.jsonl", "{\"messages\": [{\"role\": \"user\", \"\(key)\": \(content)}, {\"role\": \"assistant\", \"content\": \"ok\"}]}\n")
            return try DatasetLoader().load(paths: [path]).conversations[0].messages[0].content
        }
        func assertWrong(_ content: String, field: String, found: String, _ hint: String) {
            XCTAssertThrowsError(try load(content), content) { e in
                guard case let DataError.wrongType(_, f, _, got) = e else { return XCTFail("\(e)") }
                XCTAssertEqual([f, got], [field, found], content)
                XCTAssertTrue("\(e)".contains(hint), "\(e)")
            }
        }
        assertWrong("42", field: "messages[0].content", found: "the number 42", "\"42\"")
        assertWrong("true", field: "messages[0].content", found: "a boolean", "text parts")
        assertWrong("[\"a\", \"b\"]", field: "messages[0].content[0]", found: "a string", "list of bare strings")
        assertWrong("[{\"type\": \"image\", \"url\": \"x.png\"}]", field: "messages[0].content[0].type", found: "\"image\"", "text parts only")
        XCTAssertThrowsError(try load("[{\"type\": \"text\"}]")) { e in
            guard case DataError.missingField(_, "messages[0].content[0].text") = e else { return XCTFail("\(e)") }
        }
        // OpenAI / transformers text parts are content, joined.
        XCTAssertEqual(try load("[{\"type\": \"text\", \"text\": \"a\"}, {\"type\": \"text\", \"text\": \"b\"}]"), "ab")
        XCTAssertEqual(try load("\"plain\""), "plain")
        // sharegpt values too.
        let sharegpt = try Self.file("v.jsonl", "{\"conversations\": [{\"from\": \"human\", \"value\": 3}, {\"from\": \"gpt\", \"value\": \"x\"}]}\n")
        XCTAssertThrowsError(try DatasetLoader().load(paths: [sharegpt])) { e in
            guard case DataError.wrongType(_, "conversations[0].value", _, "the number 3") = e else { return XCTFail("\(e)") }
        }
    }
}
