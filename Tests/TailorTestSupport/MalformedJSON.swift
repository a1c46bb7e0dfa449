import Foundation
import XCTest

/// A JSON file with one known mistake, for the tests that check that every JSON file Tailor reads
/// names the file, the line and the column of bad input.
public enum MalformedJSON {
    /// An object whose second member is not preceded by a comma: the error is at line 3, column 3.
    public static let text = "{\n  \"model_type\": \"llama\"\n  \"vocab_size\": 96\n}\n"
    /// Where `text` goes wrong, as error messages say it.
    public static let position = "line 3, column 3"
    /// What the reader expected there.
    public static let expected = "expected ',' or '}' after an object member"

    /// Writes `text` as `name` into a new temporary folder and returns the file.
    public static func write(_ name: String) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-malformed-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let url = folder.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url
    }

    /// Asserts that `body` throws an error whose message starts with `prefix` (the file and how the
    /// module introduces the problem) followed by "not valid JSON at line 3, column 3: ... expected ...".
    public static func assertNamesPosition(_ prefix: String, file: StaticString = #filePath, line: UInt = #line,
                                           _ body: () throws -> Void) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            let message = "\(error)"
            XCTAssertTrue(message.hasPrefix(prefix + "not valid JSON at \(position): "), message, file: file, line: line)
            XCTAssertTrue(message.contains(expected), message, file: file, line: line)
        }
    }
}
