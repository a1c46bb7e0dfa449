import TailorJSON
import XCTest

final class JSONReaderTests: XCTestCase {
    func read(_ text: String, options: JSONReadOptions = .standard) throws -> JSONValue {
        try JSONValue(parsing: text, file: "x.json", options: options)
    }

    /// The error reading `text` throws.
    func failure(_ text: String, options: JSONReadOptions = .standard) -> JSONError? {
        do {
            _ = try JSONValue(parsing: Array(text.utf8), file: "x.json", options: options)
            XCTFail("read without an error: \(text)")
            return nil
        } catch {
            return error
        }
    }

    func assertFailure(_ text: String, line: Int, column: Int, _ reason: String, options: JSONReadOptions = .standard,
                       file: StaticString = #filePath, sourceLine: UInt = #line) {
        guard let e = failure(text, options: options) else { return }
        XCTAssertEqual(e.file, "x.json", file: file, line: sourceLine)
        XCTAssertEqual(e.line, line, "\(e)", file: file, line: sourceLine)
        XCTAssertEqual(e.column, column, "\(e)", file: file, line: sourceLine)
        XCTAssertTrue(e.reason.contains(reason), "\(e)", file: file, line: sourceLine)
    }

    func testValuesKeepOrderAndNumberKinds() throws {
        let value = try read(#"{"z": 1, "a": [1.0, 2e3, -3, 0, -0], "big": 18446744073709551616, "min": -9223372036854775808, "s": "\u00e9\ud83d\ude00\/", "n": null, "t": true, "f": false}"#)
        XCTAssertEqual(value.objectValue?.keys, ["z", "a", "big", "min", "s", "n", "t", "f"])
        XCTAssertEqual(value["z"], .int(1))
        XCTAssertEqual(value["a"], [.double(1), .double(2000), .int(-3), .int(0), .int(0)])
        XCTAssertEqual(value["big"], .bigInteger("18446744073709551616"))
        XCTAssertEqual(value["min"], .int(.min))
        XCTAssertEqual(value["s"], "é😀/")
        XCTAssertEqual(value["n"], .null)
        XCTAssertEqual(value["t"]?.boolValue, true)
        XCTAssertEqual(try read("18446744073709551615").integer(as: UInt64.self), .max)
        XCTAssertEqual(try read("4096.0").integralValue, 4096)
        XCTAssertNil(try read("4096.0").intValue)
        XCTAssertNil(try read("4096.5").integralValue)
    }

    func testByteOrderMarkAndWhiteSpace() throws {
        XCTAssertEqual(try JSONValue(parsing: [0xEF, 0xBB, 0xBF] + Array(" \r\n\t[1]\n".utf8)), [1])
        // A BOM takes no column.
        XCTAssertThrowsError(try JSONValue(parsing: [0xEF, 0xBB, 0xBF] + Array("[1,]".utf8))) { error in
            XCTAssertEqual((error as? JSONError)?.column, 4)
        }
    }

    func testErrorsNameLineColumnAndWhatWasExpected() {
        assertFailure("{\n  \"model\": {\n    \"vocab\": oops\n}", line: 3, column: 14, "expected a value")
        assertFailure("{\n  \"a\": tru }", line: 2, column: 8, "expected true")
        assertFailure("{\"a\": 1 \"b\": 2}", line: 1, column: 9, "expected ',' or '}' after an object member")
        assertFailure("[1 2]", line: 1, column: 4, "expected ',' or ']' after an array element")
        assertFailure("{\"a\" 1}", line: 1, column: 6, "expected ':' after the key \"a\"")
        assertFailure("{a: 1}", line: 1, column: 2, "expected a string key in double quotes")
        assertFailure("{\"a\": 1,}", line: 1, column: 9, "no trailing comma")
        assertFailure("[1,\n]", line: 2, column: 1, "no trailing comma")
        assertFailure("[1] x", line: 1, column: 5, "expected the end of the text")
        assertFailure("", line: 1, column: 1, "where a value was expected")
        assertFailure("'a'", line: 1, column: 1, "unexpected character '''")
        assertFailure("// c\n1", line: 1, column: 1, "unexpected character '/'")
    }

    func testUnclosedContainersNameWhereTheyOpened() {
        assertFailure("{\n  \"a\": [1,\n    2", line: 3, column: 6, "the text ends inside the array opened at line 2, column 8; expected ',' or ']'")
        assertFailure("{\"a\": 1", line: 1, column: 8, "inside the object opened at line 1, column 1")
        assertFailure("[\"abc", line: 1, column: 2, "the string is not closed")
    }

    func testStrings() {
        assertFailure("[\"a\nb\"]", line: 1, column: 4, "control character U+000A inside a string")
        assertFailure(#"["\x"]"#, line: 1, column: 3, "invalid escape \\character 'x'")
        assertFailure(#"["\u12G4"]"#, line: 1, column: 7, "expected four hex digits")
        // Columns count characters, not bytes.
        assertFailure("[\"é😀\", x]", line: 1, column: 8, "unexpected character 'x'")
    }

    func testInvalidUTF8IsAnErrorAtTheByte() {
        do {
            _ = try JSONValue(parsing: Array("[\"ab".utf8) + [0xC3, 0x28] + Array("\"]".utf8), file: "x.json")
            XCTFail("read invalid UTF-8")
        } catch {
            XCTAssertEqual(error.column, 5)
            XCTAssertEqual(error.offset, 4)
            XCTAssertTrue(error.reason.contains("byte 0xC3 is not valid UTF-8"), "\(error)")
        }
    }

    func testLoneSurrogates() throws {
        XCTAssertEqual(try read(#""a\ud800b""#), "a\u{FFFD}b")
        XCTAssertEqual(try read(#""\udc00\ud83d\ude00""#), "\u{FFFD}😀")
        XCTAssertEqual(try read(#""\ud800\u0041""#), "\u{FFFD}A")
        assertFailure(#"["\ud800"]"#, line: 1, column: 3, "lone UTF-16 surrogate", options: .strict)
    }

    func testRepeatedKeys() throws {
        // Python: json.loads('{"a": 1, "b": 2, "a": 3}') == {"a": 3, "b": 2}, in that order.
        XCTAssertEqual(try read(#"{"a": 1, "b": 2, "a": 3}"#).objectValue?.members.map(\.key), ["a", "b"])
        XCTAssertEqual(try read(#"{"a": 1, "b": 2, "a": 3}"#)["a"], 3)
        // Canonically equivalent keys are different keys.
        XCTAssertEqual(try read(#"{"\u00e9": 1, "e\u0301": 2}"#).objectValue?.count, 2)
        // The same for large objects (the hashed path).
        let many = (0..<40).map { "\"k\($0 % 30)\": \($0)" }.joined(separator: ", ")
        let object = try XCTUnwrap(try read("{" + many + "}").objectValue)
        XCTAssertEqual(object.count, 30)
        XCTAssertEqual(object["k3"], 33)
        XCTAssertEqual(object.keys.first, "k0")
        assertFailure("{\"a\": 1,\n \"a\": 2}", line: 2, column: 2, "the key \"a\" appears twice", options: .strict)
    }

    func testNonFiniteOnlyWhenAsked() throws {
        XCTAssertEqual(try read("[NaN, Infinity, -Infinity]", options: .python).arrayValue?.map { $0.doubleValue?.isNaN }, [true, false, false])
        XCTAssertEqual(try read("-Infinity", options: .python), .double(-.infinity))
        assertFailure("[NaN]", line: 1, column: 2, "unexpected character 'N'")
        assertFailure("[-Infinity]", line: 1, column: 3, "after '-'; expected a digit")
    }

    func testNumbersFollowTheGrammar() {
        assertFailure("[01]", line: 1, column: 2, "no leading zeros")
        assertFailure("[1.]", line: 1, column: 4, "expected a digit after the decimal point")
        assertFailure("[1e+]", line: 1, column: 5, "expected a digit in the exponent")
        assertFailure("[.5]", line: 1, column: 2, "unexpected character '.'")
        assertFailure("[+1]", line: 1, column: 2, "unexpected character '+'")
    }

    func testDepthLimit() throws {
        let deep = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        XCTAssertNoThrow(try read(deep))
        assertFailure("[" + deep + "]", line: 1, column: 513, "nest deeper than 512 levels")
        assertFailure("[[[]]]", line: 1, column: 3, "nest deeper than 2 levels", options: JSONReadOptions(maxDepth: 2))
    }

    func testASliceIsPlacedOnItsLine() {
        let line = Array(#"{"a": 1 "b": 2}"#.utf8)[...]
        XCTAssertThrowsError(try JSONValue(parsing: line, line: 7, file: "d.jsonl")) { error in
            XCTAssertEqual("\(error)", "d.jsonl:7:9: not valid JSON: unexpected character '\"'; expected ',' or '}' after an object member")
        }
        XCTAssertThrowsError(try JSONValue(parsing: Array("{\"a\": [1,".utf8)[...], line: 4)) { error in
            XCTAssertTrue("\(error)".hasSuffix("the text ends inside the array opened at line 4, column 7; expected a value or ']'"), "\(error)")
        }
    }

    func testRangeCountsPositionsFromTheStartOfTheBuffer() {
        let file = Array("[\n  {\"a\": 1},\n  {\"a\" 2}\n]".utf8)
        let start = file.firstIndex(of: UInt8(ascii: "{"))!
        let second = file.lastIndex(of: UInt8(ascii: "{"))!
        XCTAssertEqual(try JSONValue(parsing: file, range: start..<(start + 8)), ["a": 1])
        XCTAssertThrowsError(try JSONValue(parsing: file, range: second..<(second + 8), file: "d.json")) { error in
            XCTAssertEqual("\(error)", "d.json:3:8: not valid JSON: unexpected character '2'; expected ':' after the key \"a\"")
            XCTAssertEqual((error as? JSONError)?.detail, "not valid JSON at line 3, column 8: unexpected character '2'; expected ':' after the key \"a\"")
        }
    }
}
