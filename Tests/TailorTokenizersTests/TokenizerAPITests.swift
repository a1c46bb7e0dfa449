import Foundation
import TailorTestSupport
@testable import TailorTokenizers
import XCTest

final class TokenizerAPITests: XCTestCase {
    func fixtureTokenizer(_ name: String) throws -> Tokenizer {
        try Tokenizer(contentsOf: TestPaths.fixture("tokenizers/\(name)/tokenizer.json"))
    }

    /// Feeding ids one at a time gives the same text as decoding them all, and no chunk ever holds a
    /// broken character.
    func testStreamingDecoderMatchesDecode() throws {
        for name in ["qwen2", "llama3", "llama2", "mistral", "gpt2"] {
            let tok = try fixtureTokenizer(name)
            for c in try loadExpected(name).cases {
                var stream = tok.streamingDecoder()
                var pieces: [String] = []
                for id in c.ids { if let s = stream.next(id) { pieces.append(s) } }
                pieces.append(stream.finish())
                XCTAssertEqual(pieces.joined(), tok.decode(c.ids), "\(name): \(c.text.debugDescription)")
                if !c.text.contains("\u{FFFD}") {
                    for p in pieces { XCTAssertFalse(p.contains("\u{FFFD}"), "\(name): chunk \(p.debugDescription) of \(c.text.debugDescription)") }
                }
            }
        }
    }

    func testStreamingHoldsBackPartialCharacters() throws {
        let tok = try fixtureTokenizer("llama2")
        // 😀 is not in the small vocab: four <0xXX> byte tokens.
        let ids = tok.encode("😀", addSpecialTokens: false)
        XCTAssertEqual(ids.count, 5)  // "▁" + four bytes
        var stream = tok.streamingDecoder()
        let outs = ids.map { stream.next($0) }
        XCTAssertEqual(outs.compactMap { $0 }.joined(), "😀")
        XCTAssertNil(outs[1]); XCTAssertNil(outs[2]); XCTAssertNil(outs[3])
    }

    func testBatchEncodeEqualsSequential() throws {
        let tok = try fixtureTokenizer("qwen2")
        let texts = try loadExpected("qwen2").cases.map(\.text)
        let batch = tok.encodeBatch(texts + texts)
        XCTAssertEqual(batch.count, 2 * texts.count)
        for (k, t) in (texts + texts).enumerated() { XCTAssertEqual(batch[k].map(Int.init), tok.encode(t)) }
    }

    func testLookupsAndSpecialIds() throws {
        let tok = try fixtureTokenizer("qwen2")
        let imStart = try XCTUnwrap(tok.tokenToId("<|im_start|>"))
        XCTAssertEqual(tok.idToToken(imStart), "<|im_start|>")
        XCTAssertTrue(tok.isSpecial(imStart))
        XCTAssertFalse(tok.isSpecial(try XCTUnwrap(tok.tokenToId("<tool_call>"))))
        XCTAssertEqual(tok.specialTokenIds.count, 3)
        XCTAssertEqual(tok.tokenToId("Ġ"), tok.encode(" ", addSpecialTokens: false).first)
        XCTAssertEqual(tok.vocabularySize, 2505)
        XCTAssertNil(tok.idToToken(999_999))
    }

    func testFolderWithConfigs() throws {
        let qwen = try PretrainedTokenizer(folder: TestPaths.fixture("tokenizers/qwen2"))
        XCTAssertEqual(qwen.eosToken, "<|im_end|>")
        XCTAssertNil(qwen.bosToken)
        XCTAssertEqual(qwen.config.modelMaxLength, 32768)
        XCTAssertEqual(qwen.padTokenId, qwen.tokenizer.tokenToId("<|endoftext|>"))
        // tokenizer_config's eos first, then generation_config's list.
        XCTAssertEqual(qwen.eosTokenIds, [qwen.tokenizer.tokenToId("<|im_end|>")!, 151645, 151643])
        XCTAssertEqual(qwen.generationConfig?.eosTokenIds, [151645, 151643])
        XCTAssertTrue(qwen.chatTemplate?.hasPrefix("{% for message in messages %}") ?? false)

        let llama2 = try PretrainedTokenizer(folder: TestPaths.fixture("tokenizers/llama2"))
        XCTAssertEqual(llama2.config.bosToken?.content, "<s>")      // an AddedToken dict
        XCTAssertEqual(llama2.config.addBosToken, true)
        XCTAssertEqual(llama2.config.modelMaxLength, Int.max)       // 1e30 means "no limit"
        XCTAssertEqual(llama2.bosTokenId, 1)
        XCTAssertEqual(llama2.unkTokenId, 0)
        XCTAssertEqual(llama2.specialTokensMap?.unkToken?.content, "<unk>")
        XCTAssertEqual(llama2.encode("hi").first, 1)

        let llama3 = try PretrainedTokenizer(folder: TestPaths.fixture("tokenizers/llama3"))
        XCTAssertEqual(Set(llama3.config.chatTemplates.keys), ["default", "tool_use"])
        XCTAssertEqual(llama3.chatTemplate, llama3.config.chatTemplates["default"])
    }

    func testFolderWithoutTokenizerJSON() {
        XCTAssertThrowsError(try PretrainedTokenizer(folder: URL(fileURLWithPath: "/nonexistent-model"))) { e in
            XCTAssertTrue("\(e)".contains("tokenizer.json"), "\(e)")
        }
    }

    func testPatternMatchersAgainstHandExamples() {
        let llama3 = HandPattern(.llama3)
        func pieces(_ p: HandPattern, _ s: String) -> [String] {
            let b = Array(s.utf8)
            return p.findMatches(b).map { String(decoding: b[$0.range], as: UTF8.self) }
        }
        // Checked with tokenizers.pre_tokenizers.Split(Regex(pattern), "isolated").
        XCTAssertEqual(pieces(llama3, "I'M 12345 ok  \n\n x"), ["I", "'M", " ", "123", "45", " ok", "  \n\n", " x"])
        XCTAssertEqual(pieces(HandPattern(.qwen2), "ab12 (x)"), ["ab", "1", "2", " (", "x", ")"])
        XCTAssertEqual(pieces(HandPattern(.gpt2), "Hi  there's 42!!"), ["Hi", " ", " there", "'s", " 42", "!!"])
    }

    func testBenchmarkHelperRuns() throws {
        let tok = try fixtureTokenizer("gpt2")
        let r = TokenizeBenchmark.run(tok, texts: ["hello world", "你好"], threads: 1, repeats: 1)
        XCTAssertEqual(r.bytes, 17)
        XCTAssertGreaterThan(r.tokens, 0)
    }
}
