import Foundation
import XCTest
@testable import TailorExport
import TailorFormats
import TailorTestSupport
@testable import TailorTokenizers

/// SentencePiece ("llama") tokenizers of Hugging Face folders, against what llama.cpp's convert_hf_to_gguf.py writes
/// for the same folder (Tests/Fixtures/formats/gguf/spm, scripts/reference/make_gguf_spm_fixtures.py): the
/// tokenizer.model path, the tokenizer.json-only path (LlamaHfVocab), and the real Llama 2 tokenizer.json.
final class GGUFSentencePieceExportTests: XCTestCase {
    static let spm = TestPaths.fixture("formats/gguf/spm")

    func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-spm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    /// The fixture model folder, without tokenizer.model when `sentencePiece` is false.
    func modelFolder(sentencePiece: Bool = true) throws -> URL {
        let folder = try temporaryFolder().appendingPathComponent("model")
        try FileManager.default.copyItem(at: Self.spm.appendingPathComponent("model"), to: folder)
        if !sentencePiece { try FileManager.default.removeItem(at: folder.appendingPathComponent("tokenizer.model")) }
        return folder
    }

    /// A converter fixture: key -> (type, element type, value).
    func converterKeys(_ name: String) throws -> [String: [String: Any]] {
        try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: Self.spm.appendingPathComponent(name))) as? [String: [String: Any]])
    }

    /// A GGUF value as the fixture script writes one: its type name, its element type's for arrays, and the value.
    static func plain(_ value: GGUFValue) -> (type: String, element: String?, value: Any) {
        func scalar(_ v: GGUFValue) -> Any {
            switch v {
            case .uint8(let x): return Int(x)
            case .int8(let x): return Int(x)
            case .uint16(let x): return Int(x)
            case .int16(let x): return Int(x)
            case .uint32(let x): return Int(x)
            case .int32(let x): return Int(x)
            case .uint64(let x): return Int(clamping: x)
            case .int64(let x): return Int(x)
            case .float32(let x): return Double(x)
            case .float64(let x): return x
            case .bool(let x): return x
            case .string(let x): return x
            case .array(_, let items): return items.map(scalar)
            }
        }
        if case let .array(element, _) = value { return ("array", "\(element)", scalar(value)) }
        return ("\(value.type)", nil, scalar(value))
    }

    /// Every tokenizer.* key of `file` equals the converter's (type and value; float32 compared as float32); Tailor's
    /// only extra key is its end-of-turn id.
    func assertSameTokenizerKeys(_ file: URL, _ fixture: String, paddedFrom: Int? = nil,
                                 file path: StaticString = #filePath, line: UInt = #line) throws {
        let gguf = try GGUFFile(url: file)
        let expected = try converterKeys(fixture)
        let written = gguf.metadataKeys.filter { $0.hasPrefix("tokenizer.") }
        XCTAssertEqual(Set(written).subtracting(expected.keys), ["tokenizer.ggml.eot_token_id"], file: path, line: line)
        for (key, entry) in expected.sorted(by: { $0.key < $1.key }) {
            guard let value = gguf.value(key) else { XCTFail("\(key) not written", file: path, line: line); continue }
            let actual = Self.plain(value)
            XCTAssertEqual(actual.type, entry["type"] as? String, key, file: path, line: line)
            XCTAssertEqual(actual.element, entry["element"] as? String, key, file: path, line: line)
            switch (actual.value, entry["value"]) {
            case let (a as [String], e as [String]):
                if let paddedFrom {
                    // LlamaHfVocab writes no [PAD] tokens; Tailor pads to vocab_size (else llama.cpp cannot load it).
                    XCTAssertEqual(e.count, paddedFrom, key, file: path, line: line)
                    XCTAssertEqual(Array(a.prefix(e.count)), e, key, file: path, line: line)
                    XCTAssertEqual(Array(a.dropFirst(e.count)), (e.count..<a.count).map { "[PAD\($0)]" }, key, file: path, line: line)
                } else {
                    XCTAssertEqual(a, e, key, file: path, line: line)
                }
            case let (a as [Double], e as [Double]):
                XCTAssertEqual(Array(a.prefix(e.count)), e.map { Double(Float($0)) }, key, file: path, line: line)
                XCTAssertEqual(a.count, paddedFrom == nil ? e.count : a.count, key, file: path, line: line)
            case let (a as [Int], e as [Int]):
                XCTAssertEqual(Array(a.prefix(e.count)), e, key, file: path, line: line)
                if paddedFrom == nil { XCTAssertEqual(a.count, e.count, key, file: path, line: line) } else {
                    XCTAssertTrue(a.dropFirst(e.count).allSatisfy { $0 == GGUFVocabulary.TokenType.unused.rawValue }, key, file: path, line: line)
                }
            case let (a as String, e as String):
                XCTAssertEqual(a, e, key, file: path, line: line)
            case let (a as Bool, e as Bool):
                XCTAssertEqual(a, e, key, file: path, line: line)
            case let (a as Int, e as Int):
                XCTAssertEqual(a, e, key, file: path, line: line)
            default:
                XCTFail("\(key): \(actual.value) vs \(String(describing: entry["value"]))", file: path, line: line)
            }
        }
    }

    func export(_ folder: URL) throws -> URL {
        let output = try temporaryFolder().appendingPathComponent("model-f32.gguf")
        _ = try GGUFExport.run(model: folder, output: output, options: .init(outType: .f32))
        return output
    }

    /// tokenizer.model: `_set_vocab_sentencepiece`'s tokens, scores, types, [PAD] ids, added tokens and special ids.
    func testSentencePieceModelMatchesTheConverter() throws {
        let file = try export(try modelFolder())
        try assertSameTokenizerKeys(file, "converter-spm.json")
        let gguf = try GGUFFile(url: file)
        let types = try gguf.intArray("tokenizer.ggml.token_type")
        let tokens = try gguf.stringArray("tokenizer.ggml.tokens")
        // Control (<unk> too: added_tokens_decoder calls it special), byte, normal, user-defined, unused.
        XCTAssertEqual(Set(types), [1, 3, 4, 5, 6])
        XCTAssertEqual(tokens[600], "<|im_sep|>")
        // <tool>, a user-defined piece, is listed in added_tokens_decoder as not special: user-defined.
        XCTAssertEqual(types[try XCTUnwrap(tokens.firstIndex(of: "<tool>"))], 4)
        XCTAssertEqual(types[try XCTUnwrap(tokens.firstIndex(of: "<ctrl>"))], 3)
        XCTAssertEqual(types[try XCTUnwrap(tokens.firstIndex(of: "new word"))], 4, "an added plain token: user-defined, ▁ as a space")
        XCTAssertEqual(tokens.last, "[PAD\(tokens.count - 1)]")
    }

    /// tokenizer.model without tokenizer.json exports too: the same tokens, scores and types (gguf-py then matches
    /// no special token text, so the ids come from config.json alone).
    func testSentencePieceModelWithoutTokenizerJSON() throws {
        let folder = try modelFolder()
        try FileManager.default.removeItem(at: folder.appendingPathComponent("tokenizer.json"))
        let gguf = try GGUFFile(url: try export(folder))
        let expected = try converterKeys("converter-spm.json")
        XCTAssertEqual(try gguf.stringArray("tokenizer.ggml.tokens"), expected["tokenizer.ggml.tokens"]?["value"] as? [String])
        XCTAssertEqual(try gguf.intArray("tokenizer.ggml.token_type"), expected["tokenizer.ggml.token_type"]?["value"] as? [Int])
        XCTAssertEqual(gguf.value("tokenizer.ggml.bos_token_id"), .uint32(1))
        XCTAssertEqual(gguf.value("tokenizer.ggml.eos_token_id"), .uint32(2))

        // tokenizer.model alone: the pieces' own types, as the converter maps them (a user-defined piece is normal,
        // <unk> unknown), ids past the pieces [PAD] with score -10000.
        try FileManager.default.removeItem(at: folder.appendingPathComponent("tokenizer_config.json"))
        let bare = try GGUFVocabulary(huggingFace: folder, vocabularySize: 606)
        XCTAssertEqual(Array(bare.tokenTypes.prefix(6)), [2, 3, 3, 3, 1, 6])
        XCTAssertEqual(bare.tokens[600], "[PAD600]")
        XCTAssertEqual(bare.scores[600], -10000)
        XCTAssertEqual(bare.tokenTypes[600], 5)
        XCTAssertNil(bare.chatTemplate)
    }

    /// tokenizer.json only: LlamaHfVocab's tokens (byte tokens, control specials), scores -1000, padded by Tailor.
    func testTokenizerJSONOnlyMatchesLlamaHfVocab() throws {
        let file = try export(try modelFolder(sentencePiece: false))
        let expected = try XCTUnwrap(try converterKeys("converter-llama-hf.json")["tokenizer.ggml.tokens"]?["value"] as? [String])
        try assertSameTokenizerKeys(file, "converter-llama-hf.json", paddedFrom: expected.count)
    }

    /// The real Llama 2 tokenizer.json (../shared/tokenizers/llama2) in a 32000-token folder: the converter's lists'
    /// sha256 and its scalar keys.
    func testLlama2TokenizerJSONMatchesTheConverter() throws {
        guard let tokenizer = TestPaths.sharedFile("tokenizers/llama2/tokenizer.json") else { throw XCTSkip("../shared/tokenizers/llama2 is absent") }
        let folder = try temporaryFolder()
        try FileManager.default.copyItem(at: tokenizer, to: folder.appendingPathComponent("tokenizer.json"))
        try FileManager.default.copyItem(at: Self.spm.appendingPathComponent("llama2-tokenizer_config.json"),
                                         to: folder.appendingPathComponent("tokenizer_config.json"))
        try #"{"vocab_size": 32000, "bos_token_id": 1, "eos_token_id": 2}"#.write(to: folder.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        let vocabulary = try GGUFVocabulary(huggingFace: folder, vocabularySize: 32000)
        let metadata = Dictionary(GGUFExport.tokenizerMetadata(vocabulary).map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
        let expected = try converterKeys("llama2-llama-hf.json")
        XCTAssertEqual(Set(metadata.keys).subtracting(expected.keys), ["tokenizer.ggml.eot_token_id"])
        for (key, entry) in expected {
            let value = try XCTUnwrap(metadata[key], key)
            let actual = Self.plain(value)
            XCTAssertEqual(actual.type, entry["type"] as? String, key)
            if let digest = entry["value"] as? [String: Any] {
                var blob: [UInt8] = []
                switch value {
                case .array(_, let items):
                    for item in items {
                        switch item {
                        case .string(let s): blob += Array(s.utf8) + [0]
                        case .float32(let f): withUnsafeBytes(of: f.bitPattern.littleEndian) { blob += $0 }
                        case .int32(let i): withUnsafeBytes(of: i.littleEndian) { blob += $0 }
                        default: XCTFail("\(key): \(item)")
                        }
                    }
                    XCTAssertEqual(items.count, digest["count"] as? Int, key)
                default: XCTFail("\(key) is not an array")
                }
                XCTAssertEqual(SHA256.hex(blob), digest["sha256"] as? String, key)
            } else if let flag = actual.value as? Bool {
                XCTAssertEqual(flag, entry["value"] as? Bool, key)
            } else {
                XCTAssertEqual("\(actual.value)", "\(entry["value"] ?? "nil")", key)
            }
        }
    }

    /// Tailor's tokenizer from the folder's tokenizer.json gives transformers' ids (llama.cpp's on the export are
    /// checked against transformers' by scripts/peers/gguf_llamacpp_check.sh, SETS=spm).
    func testTokenizersGiveSentencePieceIds() throws {
        struct Ids: Decodable { var texts: [String]; var sentencepiece: [[Int]]; var transformers: [[Int]] }
        let ids = try JSONDecoder().decode(Ids.self, from: Data(contentsOf: Self.spm.appendingPathComponent("ids.json")))
        let folder = try modelFolder()
        let fromFolder = try PretrainedTokenizer(folder: folder)
        let fromGGUF = try GGUFVocabulary(metadata: try GGUFFile(url: try export(folder)), file: "export").makeTokenizer()
        for (index, text) in ids.texts.enumerated() {
            XCTAssertEqual(fromFolder.tokenizer.encode(text, addSpecialTokens: true), ids.transformers[index], text)
        }
        // The tokenizer `tailor import gguf` rebuilds from the exported file (merges derived from the scores) agrees on
        // plain text; it does not yet on runs of spaces, text right after a user-defined piece, or an added token
        // whose "▁" the converter wrote as a space (docs/peers.md).
        for index in [0, 3] {
            XCTAssertEqual(fromGGUF.encode(ids.texts[index], addSpecialTokens: true), ids.transformers[index], "GGUF: \(ids.texts[index])")
        }
    }

    /// Unreadable tokenizer.model: the error names the file.
    func testTruncatedSentencePieceModel() throws {
        let folder = try modelFolder()
        let model = folder.appendingPathComponent("tokenizer.model")
        let bytes = try Data(contentsOf: model)
        try bytes.prefix(bytes.count / 2).write(to: model)
        XCTAssertThrowsError(try GGUFVocabulary(huggingFace: folder, vocabularySize: 10_000)) { error in
            XCTAssertTrue("\(error)".contains("tokenizer.model"), "\(error)")
        }
    }
}
