import Foundation
import TailorTestSupport
@testable import TailorTokenizers
import XCTest

/// Tokenizers trained by scripts/reference/make_tokenizer_fixtures.py in the shapes real models use;
/// every id and every decode must equal what the `tokenizers` library produced.
final class TokenizerFixtureTests: XCTestCase {
    func check(_ name: String) throws {
        let tokenizer = try Tokenizer(contentsOf: TestPaths.fixture("tokenizers/\(name)/tokenizer.json"))
        assertMatchesReference(tokenizer, try loadExpected(name), name: name)
    }

    /// Byte-level BPE, Qwen2 split regex, NFC, <|im_start|>/<|im_end|>/<|endoftext|> + non-special added tokens.
    func testQwen2Style() throws { try check("qwen2") }
    /// Byte-level BPE, Llama 3 regex, ignore_merges, <|begin_of_text|> via TemplateProcessing.
    func testLlama3Style() throws { try check("llama3") }
    /// Prepend+Replace normalizer, byte_fallback, fuse_unk, BOS template, Replace/ByteFallback/Fuse/Strip decoder.
    func testLlama2Style() throws { try check("llama2") }
    /// NFC + Metaspace(prepend first), byte_fallback, BOS+EOS template, Metaspace decoder.
    func testMistralStyle() throws { try check("mistral") }
    /// ByteLevel pre-tokenizer with its own regex; merges written as "a b" strings.
    func testGPT2Style() throws { try check("gpt2") }
    /// ByteLevel(add_prefix_space), RobertaProcessing, an lstrip special token.
    func testGPT2PrefixSpace() throws { try check("gpt2-prefix") }
    /// NFKC+Lowercase+Strip, WhitespaceSplit+Punctuation+Digits, ## prefix and </w> suffix, unk,
    /// single_word/normalized/lstrip/rstrip added tokens, BertProcessing, BPEDecoder.
    func testMiscStages() throws { try check("misc") }
    /// NFD + regex Replace, Whitespace + Metaspace(always, split), Metaspace decoder.
    func testMetaspaceSplit() throws { try check("metaspace-split") }
    /// NFKD+StripAccents+Lowercase, Split behaviours (MergedWithNext/Previous, Removed, Contiguous+invert), Digits.
    func testSplitBehaviours() throws { try check("digits") }
}

/// The real tokenizer files in ../shared/tokenizers (never copied into the repository).
final class RealTokenizerTests: XCTestCase {
    func loadShared(_ name: String) throws -> Tokenizer {
        guard let url = TestPaths.sharedFile("tokenizers/\(name)/tokenizer.json") else {
            throw XCTSkip("shared/tokenizers/\(name)/tokenizer.json is absent; skipping the real \(name) tokenizer check")
        }
        return try Tokenizer(contentsOf: url)
    }

    func testLlama3() throws {
        assertMatchesReference(try loadShared("llama3"), try loadExpected("real-llama3"), name: "real llama3")
    }

    func testLlama2() throws {
        assertMatchesReference(try loadShared("llama2"), try loadExpected("real-llama2"), name: "real llama2")
    }

    func testDeepSeekV4() throws {
        assertMatchesReference(try loadShared("deepseek-v4"), try loadExpected("real-deepseek-v4"), name: "real deepseek-v4")
    }

    /// llama.cpp's test strings for its llama-bpe vocabulary: the script checked that their ids equal
    /// what shared/tokenizers/llama3/tokenizer.json gives.
    func testLlama3AgainstLlamaCppVocabTests() throws {
        let tokenizer = try loadShared("llama3")
        guard let inp = TestPaths.sharedFile("tokenizers/gguf-vocab/ggml-vocab-llama-bpe.gguf.inp"),
              let out = TestPaths.sharedFile("tokenizers/gguf-vocab/ggml-vocab-llama-bpe.gguf.out") else {
            throw XCTSkip("shared/tokenizers/gguf-vocab/ggml-vocab-llama-bpe.gguf.inp/.out are absent")
        }
        let texts = try String(contentsOf: inp, encoding: .utf8).components(separatedBy: "\n__ggml_vocab_test__\n")
        let lines = try String(contentsOf: out, encoding: .utf8).components(separatedBy: "\n")
        XCTAssertGreaterThan(texts.count, 20)
        for (k, text) in texts.enumerated() {
            let want = lines[k].split(separator: " ").compactMap { Int($0) }
            XCTAssertEqual(tokenizer.encode(text, addSpecialTokens: false), want, "string \(k): \(text.debugDescription)")
        }
    }
}
