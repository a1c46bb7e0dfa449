import Foundation
import TailorTestSupport
import TailorTokenizers
import XCTest

/// One string of the reference corpus and what `tokenizers` made of it
/// (written by scripts/reference/make_tokenizer_fixtures.py).
struct ExpectedCase: Decodable {
    let text: String
    let ids: [Int]
    let ids_plain: [Int]
    let decode: String
    let decode_skip: String
}

struct ExpectedFile: Decodable {
    let tokenizers_version: String
    let cases: [ExpectedCase]
}

func loadExpected(_ folder: String) throws -> ExpectedFile {
    let url = TestPaths.fixture("tokenizers/\(folder)/expected.json")
    return try JSONDecoder().decode(ExpectedFile.self, from: Data(contentsOf: url))
}

/// Compares every id and decode of `expected` with `tokenizer`, reporting each mismatch with its text.
func assertMatchesReference(_ tokenizer: Tokenizer, _ expected: ExpectedFile, name: String,
                            checkDecode: Bool = true, file: StaticString = #filePath, line: UInt = #line) {
    var failures = 0
    for c in expected.cases {
        let ids = tokenizer.encode(c.text, addSpecialTokens: true)
        let plain = tokenizer.encode(c.text, addSpecialTokens: false)
        if ids != c.ids {
            failures += 1
            XCTFail("\(name): ids of \(c.text.debugDescription)\n got  \(ids)\n want \(c.ids)", file: file, line: line)
        }
        if plain != c.ids_plain {
            failures += 1
            XCTFail("\(name): ids (no special tokens) of \(c.text.debugDescription)\n got  \(plain)\n want \(c.ids_plain)",
                    file: file, line: line)
        }
        guard checkDecode else { continue }
        let decoded = tokenizer.decode(c.ids, skipSpecialTokens: false)
        if decoded != c.decode || Array(decoded.utf8) != Array(c.decode.utf8) {
            failures += 1
            XCTFail("\(name): decode of \(c.ids)\n got  \(decoded.debugDescription)\n want \(c.decode.debugDescription)",
                    file: file, line: line)
        }
        let skipped = tokenizer.decode(c.ids, skipSpecialTokens: true)
        if Array(skipped.utf8) != Array(c.decode_skip.utf8) {
            failures += 1
            XCTFail("\(name): decode(skip special) of \(c.ids)\n got  \(skipped.debugDescription)\n want \(c.decode_skip.debugDescription)",
                    file: file, line: line)
        }
        if failures > 12 { XCTFail("\(name): stopping after 12 mismatches", file: file, line: line); return }
    }
}
