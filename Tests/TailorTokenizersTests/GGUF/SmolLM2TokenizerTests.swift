import Foundation
import TailorFormats
import TailorTestSupport
import TailorTokenizers
import XCTest

extension GGUFFile: GGUFMetadataSource {}

/// The tokenizer of the real SmolLM2-135M-Instruct GGUF (byte-level BPE, llama.cpp pre-tokenizer `smollm`) against
/// llama.cpp's own tokenizer (Tests/Fixtures/smollm2/token_ids.json from scripts/reference/make_smollm2_fixtures.py)
/// on a multilingual corpus with whitespace and digit runs: identical ids. Skips, saying why, without the model.
final class SmolLM2TokenizerTests: XCTestCase {
    struct Fixture: Decodable {
        struct Case: Decodable { let text: String; let ids: [Int] }
        let cases: [Case]
    }

    func testIdsMatchLlamaCpp() throws {
        let url = try SmolLM2File.locate()
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: TestPaths.fixture("smollm2/token_ids.json")))
        let file = try GGUFFile(url: url)
        let vocabulary = try GGUFVocabulary(metadata: file, file: url.path)
        XCTAssertEqual(vocabulary.pre, "smollm")
        let tokenizer = try vocabulary.makeTokenizer(file: url.path)
        for c in fixture.cases {
            XCTAssertEqual(tokenizer.encode(c.text, addSpecialTokens: false), c.ids, "ids of \(c.text.debugDescription)")
            // llama.cpp adds no BOS for this model (tokenizer.ggml.add_bos_token = false).
            XCTAssertEqual(tokenizer.encode(c.text, addSpecialTokens: true), c.ids, "ids with special tokens of \(c.text.debugDescription)")
        }
    }

    func testConfigFilesFromTheGGUF() throws {
        let url = try SmolLM2File.locate()
        let file = try GGUFFile(url: url)
        let pretrained = try PretrainedTokenizer(gguf: try GGUFVocabulary(metadata: file, file: url.path))
        XCTAssertEqual(pretrained.chatTemplate, try file.string("tokenizer.chat_template"))
        XCTAssertEqual(pretrained.bosTokenId, 1)
        XCTAssertEqual(pretrained.eosTokenIds, [2])
        XCTAssertEqual(pretrained.padTokenId, 2)
        XCTAssertEqual(pretrained.tokenizer.vocabularySize, 49152)
        XCTAssertEqual(pretrained.encode("<|im_start|>user\nHi<|im_end|>\n").first, 1)
    }
}
