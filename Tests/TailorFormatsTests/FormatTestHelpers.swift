import Foundation
import XCTest
@testable import TailorFormats
import TailorTestSupport

/// A fresh temporary folder, removed when the test ends.
func makeTemporaryFolder(_ test: XCTestCase) throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("tailor-formats-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
}

/// Expected values of one fixture tensor, as written by scripts/reference/make_format_fixtures.py.
struct ExpectedTensor: Decodable {
    var dtype: String
    var shape: [Int]
    var values: [Double]
    var floats: [Float] { values.map { Float($0) } }
}

func loadJSON<T: Decodable>(_ type: T.Type, _ relativePath: String) throws -> T {
    try JSONDecoder().decode(T.self, from: Data(contentsOf: TestPaths.fixture(relativePath)))
}

/// Asserts exact (bitwise for non-NaN) equality of two float arrays.
func assertExactlyEqual(_ actual: [Float], _ expected: [Float], _ message: String = "",
                        file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.count, expected.count, "count \(message)", file: file, line: line)
    for (i, (a, e)) in zip(actual, expected).enumerated() where !(a == e || (a.isNaN && e.isNaN)) {
        XCTFail("[\(i)] \(a) != \(e) \(message)", file: file, line: line)
        return
    }
}

/// Runs `body`, which must throw a `FormatError`, and returns it (nil and a failure otherwise).
@discardableResult
func expectFormatError<T>(_ body: () throws -> T, file: StaticString = #filePath, line: UInt = #line) -> FormatError? {
    do {
        _ = try body()
        XCTFail("expected a FormatError, nothing was thrown", file: file, line: line)
    } catch let error as FormatError {
        XCTAssertFalse(error.description.isEmpty, file: file, line: line)
        return error
    } catch {
        XCTFail("expected a FormatError, got \(error)", file: file, line: line)
    }
    return nil
}

/// Runs `body` on fuzzed input: it may succeed, or throw a `FormatError`; any other error fails
/// the test with `context` (the seed and trial that repeat it).
func expectNothingOrFormatError(_ context: @autoclosure () -> String, file: StaticString = #filePath, line: UInt = #line,
                                _ body: () throws -> Void) {
    do { try body() } catch is FormatError {} catch {
        XCTFail("\(context()): not a FormatError: \(error)", file: file, line: line)
    }
}
