import Foundation
import XCTest
import TailorTestSupport
import TailorTokenizers
@testable import TailorData

enum DataTestSupport {
    static func tokenizer(_ name: String) throws -> Tokenizer {
        try Tokenizer(contentsOf: TestPaths.fixture("tokenizers/\(name)/tokenizer.json"))
    }

    /// A temporary file with `contents`; removed by the caller's tearDown or left in /tmp.
    static func tempFile(_ name: String, _ contents: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-data-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let url = dir.appendingPathComponent(name)
        try contents.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    static func sample(_ ids: [Int32], trained: Bool = true, line: Int = 1) -> EncodedSample {
        EncodedSample(inputIds: ids, labels: trained ? ids : ids.map { _ in -100 },
                      source: SourceLocation(file: "t.jsonl", line: line, index: line - 1))
    }
}
