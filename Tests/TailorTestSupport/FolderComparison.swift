import Foundation
import XCTest

/// Asserts that two folders hold the same file names with byte-identical contents.
public func assertSameFiles(_ expected: URL, _ actual: URL, _ label: String = "", file: StaticString = #filePath, line: UInt = #line) throws {
    let names = try FileManager.default.contentsOfDirectory(atPath: expected.path).sorted()
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: actual.path).sorted(), names, "\(label): file names",
                   file: file, line: line)
    for name in names {
        let a = try Data(contentsOf: expected.appendingPathComponent(name))
        let b = try? Data(contentsOf: actual.appendingPathComponent(name))
        XCTAssertTrue(a == b, "\(label): \(name) differs (\(a.count) bytes expected, \(b?.count ?? 0) written)", file: file, line: line)
    }
}
