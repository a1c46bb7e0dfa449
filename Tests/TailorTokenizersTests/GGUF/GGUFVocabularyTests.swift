import Foundation
import TailorTestSupport
@testable import TailorTokenizers
import XCTest

/// A dictionary standing in for GGUF metadata.
struct DictionaryMetadata: GGUFMetadataSource {
    struct Missing: Error, CustomStringConvertible { let key: String; var description: String { "metadata key \(key) is absent" } }
    var values: [String: Any]
    func has(_ key: String) -> Bool { values[key] != nil }
    func get<T>(_ key: String) throws -> T {
        guard let value = values[key] as? T else { throw Missing(key: key) }
        return value
    }
    func string(_ key: String) throws -> String { try get(key) }
    func int(_ key: String) throws -> Int { try get(key) }
    func bool(_ key: String) throws -> Bool { try get(key) }
    func stringArray(_ key: String) throws -> [String] { try get(key) }
    func intArray(_ key: String) throws -> [Int] { try get(key) }
    func floatArray(_ key: String) throws -> [Float] { try get(key) }
}

final class GGUFVocabularyTests: XCTestCase {
    /// A tiny byte-level vocabulary: specials 0-2, then x, Ġ, 5, ĠĠ, Ġx.
    static func gpt2(pre: String) -> GGUFVocabulary {
        GGUFVocabulary(model: "gpt2", pre: pre, tokens: ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "x", "Ġ", "5", "ĠĠ", "Ġx", "7"],
                       tokenTypes: [3, 3, 3, 1, 1, 1, 1, 1, 1], merges: ["Ġ Ġ", "Ġ x"], bosTokenId: 1, eosTokenId: 2,
                       unknownTokenId: 0, paddingTokenId: 2, addBosToken: false, chatTemplate: "{{ messages }}")
    }

    func testSmolLMPreTokenizerSplitsDigitsFirst() throws {
        // llama.cpp's smollm: "\p{N}" first, then the GPT-2 expression, so "x  5" keeps "  " together.
        let smollm = try Self.gpt2(pre: "smollm").makeTokenizer()
        XCTAssertEqual(smollm.encode("x  5", addSpecialTokens: false), [3, 6, 5])
        XCTAssertEqual(smollm.encode("57", addSpecialTokens: false), [5, 8])
        let gpt2 = try Self.gpt2(pre: "gpt-2").makeTokenizer()
        XCTAssertEqual(gpt2.encode("x  5", addSpecialTokens: false), [3, 4, 4, 5])
    }

    func testControlTokensAreSpecialAddedTokens() throws {
        let tokenizer = try Self.gpt2(pre: "smollm").makeTokenizer()
        XCTAssertEqual(tokenizer.encode("<|im_start|>x x<|im_end|>", addSpecialTokens: true), [1, 3, 7, 2])
        XCTAssertTrue(tokenizer.isSpecial(1))
        XCTAssertEqual(tokenizer.decode([1, 3, 7, 2], skipSpecialTokens: true), "x x")
    }

    func testPretrainedTokenizerFilesCarryTemplateAndSpecialTokens() throws {
        let pretrained = try PretrainedTokenizer(gguf: Self.gpt2(pre: "smollm"))
        XCTAssertEqual(pretrained.chatTemplate, "{{ messages }}")
        XCTAssertEqual(pretrained.bosTokenId, 1)
        XCTAssertEqual(pretrained.eosTokenIds, [2])
        XCTAssertEqual(pretrained.padTokenId, 2)
        XCTAssertEqual(pretrained.unkTokenId, 0)
        XCTAssertEqual(pretrained.config.addBosToken, false)
    }

    func testAddBosUsesTemplateProcessing() throws {
        var vocabulary = Self.gpt2(pre: "llama-bpe")
        vocabulary.addBosToken = nil  // llama.cpp's llama-bpe default: add BOS
        XCTAssertEqual(try vocabulary.makeTokenizer().encode("x", addSpecialTokens: true), [1, 3])
        vocabulary.addBosToken = false
        XCTAssertEqual(try vocabulary.makeTokenizer().encode("x", addSpecialTokens: true), [3])
    }

    func testEveryKnownPreTokenizerBuilds() throws {
        for pre in GGUFVocabulary.supportedPreTokenizers {
            let tokenizer = try Self.gpt2(pre: pre).makeTokenizer()
            XCTAssertFalse(tokenizer.encode("x 5 x", addSpecialTokens: false).isEmpty, pre)
        }
    }

    func testUnknownPreTokenizerNamesTheKey() {
        XCTAssertThrowsError(try Self.gpt2(pre: "mystery").tokenizerJSON()) { error in
            XCTAssertTrue("\(error)".contains("tokenizer.ggml.pre") && "\(error)".contains("mystery"), "\(error)")
        }
    }

    func testUnknownModelNamesTheKey() {
        var vocabulary = Self.gpt2(pre: "smollm")
        vocabulary.model = "bert"
        XCTAssertThrowsError(try vocabulary.tokenizerJSON()) { error in
            XCTAssertTrue("\(error)".contains("tokenizer.ggml.model"), "\(error)")
        }
    }

    func testMetadataWithoutTokenizerIsAClearError() {
        let metadata = DictionaryMetadata(values: ["general.architecture": "llama"])
        XCTAssertThrowsError(try GGUFVocabulary(metadata: metadata, file: "m.gguf")) { error in
            XCTAssertTrue("\(error)".contains("m.gguf") && "\(error)".contains("tokenizer.ggml.model"), "\(error)")
        }
    }

    func testReadsMetadata() throws {
        let metadata = DictionaryMetadata(values: [
            "general.architecture": "qwen2", "qwen2.context_length": 4096,
            "tokenizer.ggml.model": "gpt2", "tokenizer.ggml.pre": "qwen2", "tokenizer.ggml.tokens": ["a", "b", "ab"],
            "tokenizer.ggml.token_type": [1, 1, 1], "tokenizer.ggml.merges": ["a b"], "tokenizer.ggml.eos_token_id": 2,
            "tokenizer.chat_template": "T",
        ])
        let vocabulary = try GGUFVocabulary(metadata: metadata)
        XCTAssertEqual(vocabulary.contextLength, 4096)
        XCTAssertEqual(vocabulary.chatTemplate, "T")
        XCTAssertEqual(try vocabulary.makeTokenizer().encode("ab", addSpecialTokens: false), [2])
    }

    func testSentencePieceVocabularyWithByteFallback() throws {
        var tokens = ["<unk>", "<s>", "</s>"]
        var types = [2, 3, 3]
        var scores: [Float] = [0, 0, 0]
        for b in 0..<256 { tokens.append(String(format: "<0x%02X>", b)); types.append(6); scores.append(0) }
        for (t, s) in [("▁", -1.0), ("h", -2.0), ("i", -3.0), ("▁h", -4.0), ("hi", -5.0), ("▁hi", -1.5)] as [(String, Float)] {
            tokens.append(t); types.append(1); scores.append(s)
        }
        let id = { (t: String) in tokens.firstIndex(of: t)! }
        let vocabulary = GGUFVocabulary(model: "llama", pre: "default", tokens: tokens, tokenTypes: types, scores: scores,
                                        bosTokenId: 1, eosTokenId: 2, unknownTokenId: 0, addBosToken: true)
        let tokenizer = try vocabulary.makeTokenizer()
        XCTAssertEqual(tokenizer.encode("hi", addSpecialTokens: true), [1, id("▁hi")])
        XCTAssertEqual(tokenizer.encode("hé", addSpecialTokens: false), [id("▁h"), id("<0xC3>"), id("<0xA9>")])
        XCTAssertEqual(tokenizer.decode([1, id("▁hi"), id("▁h"), id("<0xC3>"), id("<0xA9>")], skipSpecialTokens: true), "hi hé")
    }
}
