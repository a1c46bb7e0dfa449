import Foundation
import TailorFormats
import TailorTestSupport
import TailorTokenizers
import XCTest

/// llama.cpp's own tokenizer test files (../shared/tokenizers/gguf-vocab/ggml-vocab-NAME.gguf with .inp texts and
/// .out ids, as llama.cpp's test-tokenizer-0 reads them): the tokenizer Tailor builds from each GGUF's metadata
/// must give llama.cpp's ids (no special tokens added). Skips when ../shared is absent.
final class LlamaCppVocabTests: XCTestCase {
    func cases(_ name: String) throws -> (vocabulary: GGUFVocabulary, cases: [(String, [Int])]) {
        guard let gguf = TestPaths.sharedFile("tokenizers/gguf-vocab/ggml-vocab-\(name).gguf") else {
            throw XCTSkip("../shared/tokenizers/gguf-vocab is absent")
        }
        let inputs = try String(contentsOf: URL(fileURLWithPath: gguf.path + ".inp"), encoding: .utf8)
        let outputs = try String(contentsOf: URL(fileURLWithPath: gguf.path + ".out"), encoding: .utf8)
        var texts = inputs.components(separatedBy: "\n__ggml_vocab_test__\n")
        if texts.last == "" { texts.removeLast() }
        let ids = outputs.split(separator: "\n", omittingEmptySubsequences: false).prefix(texts.count)
            .map { $0.split(separator: " ").compactMap { Int($0) } }
        XCTAssertEqual(texts.count, ids.count, name)
        let vocabulary = try GGUFVocabulary(metadata: try GGUFFile(url: gguf), file: gguf.path)
        return (vocabulary, Array(zip(texts, ids)))
    }

    func check(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let (vocabulary, cases) = try cases(name)
        let tokenizer = try vocabulary.makeTokenizer(file: name)
        var failures = 0
        for (text, expected) in cases {
            let ids = tokenizer.encode(text, addSpecialTokens: false)
            if ids != expected {
                failures += 1
                XCTFail("\(name): ids of \(text.debugDescription)\n got  \(ids)\n want \(expected)", file: file, line: line)
            }
        }
        XCTAssertEqual(failures, 0, "\(name): \(failures) of \(cases.count) texts differ", file: file, line: line)
    }

    func testGPT2() throws { try check("gpt-2") }
    func testLlamaBPE() throws { try check("llama-bpe") }
    func testQwen2() throws { try check("qwen2") }
    func testLlamaSPM() throws { try check("llama-spm") }
    func testPhi3() throws { try check("phi-3") }
}
