import Foundation
import TailorTestSupport
@testable import TailorTokenizers
import XCTest

/// Bad tokenizer files must fail with an error that names the file, the field and what is wrong.
final class TokenizerErrorTests: XCTestCase {
    /// A minimal valid tokenizer.json with `patch` applied to its top-level object.
    func json(model: String = #"{"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}"#,
              extra: String = "") -> [UInt8] {
        Array(#"{"version": "1.0", "added_tokens": [], "model": \#(model)\#(extra)}"#.utf8)
    }

    func error(_ bytes: [UInt8]) -> TokenizerError? {
        do { _ = try Tokenizer(json: bytes, file: "bad/tokenizer.json"); return nil } catch let e as TokenizerError {
            return e
        } catch { XCTFail("unexpected error type \(error)"); return nil }
    }

    /// An added token with id 2^40 (once trapped in `Int32(t.id)` when a prompt used it): refused on loading.
    func testAddedTokenIdBeyondInt32IsRefused() {
        let bytes = Array(#"{"added_tokens": [{"id": 1099511627776, "content": "<x>", "special": true}], "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}}"#.utf8)
        let e = error(bytes)
        XCTAssertEqual(e?.description, "bad/tokenizer.json: `added_tokens[0].id` = 1099511627776 is not usable: a token id must be an integer from 0 to 2147483647.")
    }

    /// A TemplateProcessing post-processor with ids [2^40] (once `Int32(try $0.int)`), and Bert's pair form.
    func testPostProcessorIdBeyondInt32IsRefused() {
        let template = #", "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>"}}, {"Sequence": {"id": "A"}}], "special_tokens": {"<s>": {"id": "<s>", "ids": [1099511627776], "tokens": ["<s>"]}}}"#
        XCTAssertEqual(error(json(extra: template))?.description,
                       "bad/tokenizer.json: `post_processor.special_tokens.<s>.ids[0]` = 1099511627776 is not usable: a token id must be an integer from 0 to 2147483647.")
        let bert = #", "post_processor": {"type": "BertProcessing", "cls": ["[CLS]", -1], "sep": ["[SEP]", 2]}"#
        XCTAssertEqual(error(json(extra: bert))?.description,
                       "bad/tokenizer.json: `post_processor.cls[1]` = -1 is not usable: a token id must be an integer from 0 to 2147483647.")
    }

    /// A vocabulary id far beyond the entry count would allocate a table of that many names.
    func testSparseVocabularyIdIsRefused() {
        let e = error(json(model: #"{"type": "BPE", "vocab": {"a": 0, "b": 2000000000}, "merges": []}"#))
        XCTAssertTrue(e?.description.contains("the vocabulary has 2 entries; ids must be below 1048578") == true, String(describing: e))
    }

    func testValidMinimalFileLoads() throws {
        let t = try Tokenizer(json: json())
        XCTAssertEqual(t.encode("abba", addSpecialTokens: false), [2, 1, 0])
    }

    func testUnknownComponentTypeListsSupportedOnes() {
        let e = error(json(extra: #", "pre_tokenizer": {"type": "FancySplit"}"#))
        guard case .unknownComponent(let file, let path, let type, let supported)? = e else { return XCTFail("\(String(describing: e))") }
        XCTAssertEqual(file, "bad/tokenizer.json")
        XCTAssertEqual(path, "pre_tokenizer")
        XCTAssertEqual(type, "FancySplit")
        XCTAssertTrue(supported.contains("ByteLevel") && supported.contains("Metaspace"))
        XCTAssertTrue(e!.description.contains("Supported: ByteLevel"), e!.description)
    }

    func testUnknownNestedComponentNamesItsPath() {
        let e = error(json(extra: #", "decoder": {"type": "Sequence", "decoders": [{"type": "Fuse"}, {"type": "CTC"}]}"#))
        guard case .unknownComponent(_, let path, "CTC", _)? = e else { return XCTFail("\(String(describing: e))") }
        XCTAssertEqual(path, "decoder.decoders[1]")
    }

    func testUnknownModelType() {
        let e = error(json(model: #"{"type": "Unigram", "vocab": [["a", 0.0]]}"#))
        guard case .unknownComponent(_, "model", "Unigram", let supported)? = e else { return XCTFail("\(String(describing: e))") }
        XCTAssertEqual(supported, ["BPE"])
    }

    func testMalformedMergeNamesTheIndex() {
        let e = error(json(model: #"{"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b", "a b c"]}"#))
        guard case .malformedMerge(_, 1, _, _)? = e else { return XCTFail("\(String(describing: e))") }
        XCTAssertTrue(e!.description.contains("model.merges[1]"), e!.description)
    }

    func testMergeOfUnknownTokenNamesTheIndex() {
        let e = error(json(model: #"{"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": [["a", "b"], ["a", "zz"]]}"#))
        guard case .malformedMerge(_, 1, _, let reason)? = e else { return XCTFail("\(String(describing: e))") }
        XCTAssertTrue(reason.contains("\"zz\" is not in model.vocab"), reason)
    }

    func testMissingVocab() {
        let e = error(json(model: #"{"type": "BPE", "merges": []}"#))
        XCTAssertEqual(e, .missingField(file: "bad/tokenizer.json", path: "model.vocab"))
    }

    func testMissingModel() {
        let e = error(Array(#"{"added_tokens": []}"#.utf8))
        XCTAssertEqual(e, .missingField(file: "bad/tokenizer.json", path: "model"))
    }

    func testWrongTypeNamesThePath() {
        let e = error(json(model: #"{"type": "BPE", "vocab": {"a": "zero"}, "merges": []}"#))
        XCTAssertEqual(e, .wrongType(file: "bad/tokenizer.json", path: "model.vocab.a", expected: "an integer", found: "a string"))
    }

    func testNonJSONFileGivesLineAndColumn() {
        let e = error(Array("{\n  \"model\": {\n    \"vocab\": oops\n}".utf8))
        guard case .invalidJSON("bad/tokenizer.json", 3, 14, _)? = e else { return XCTFail("\(String(describing: e))") }
    }

    func testTruncatedFile() {
        let e = error(Array(json().dropLast(10)))
        guard case .invalidJSON? = e else { return XCTFail("\(String(describing: e))") }
    }

    func testMissingFile() {
        XCTAssertThrowsError(try Tokenizer(contentsOf: URL(fileURLWithPath: "/nonexistent/tokenizer.json"))) { e in
            guard case TokenizerError.fileNotReadable(let file, _) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(file, "/nonexistent/tokenizer.json")
        }
    }

    func testBadSplitBehaviour() {
        let e = error(json(extra: #", "pre_tokenizer": {"type": "Split", "pattern": {"String": " "}, "behavior": "Sideways"}"#))
        guard case .invalidValue(_, "pre_tokenizer.behavior", "Sideways", _)? = e else { return XCTFail("\(String(describing: e))") }
    }

    func testTemplateWithUnknownSpecialToken() {
        let e = error(json(extra: #", "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}], "special_tokens": {}}"#))
        guard case .unknownToken(_, "post_processor.single[0].SpecialToken.id", "<s>")? = e else { return XCTFail("\(String(describing: e))") }
    }
}
