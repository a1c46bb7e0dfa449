import Foundation
import XCTest
import TailorTestSupport
@testable import TailorTokenizers

/// `SentencePieceModel` on the real SentencePiece model of Tests/Fixtures/formats/gguf/spm (trained by
/// scripts/reference/make_gguf_spm_fixtures.py: BPE, byte_fallback, a control and a user-defined piece).
final class SentencePieceModelTests: XCTestCase {
    static let url = TestPaths.fixture("formats/gguf/spm/model/tokenizer.model")

    func testPiecesScoresAndTypes() throws {
        let model = try SentencePieceModel(contentsOf: Self.url)
        XCTAssertEqual(model.pieces.count, 600)
        XCTAssertEqual(model.pieces.prefix(6).map(\.piece), ["<unk>", "<s>", "</s>", "<ctrl>", "<tool>", "<0x00>"])
        XCTAssertEqual(model.pieces.prefix(6).map(\.type), [.unknown, .control, .control, .control, .userDefined, .byte])
        XCTAssertEqual(model.pieces[260].type, .byte, "<0xFF>")
        XCTAssertEqual(model.pieces[261].type, .normal)
        XCTAssertEqual(model.pieces[0].score, 0)
        // BPE pieces are scored by merge order: -0, -1, -2 ...
        XCTAssertGreaterThan(model.pieces[261].score, model.pieces[262].score)
    }

    func testTruncatedAndForeignFilesAreRefused() throws {
        let bytes = Array(try Data(contentsOf: Self.url))
        XCTAssertThrowsError(try SentencePieceModel(bytes: Array(bytes.dropLast(3)), file: "cut.model")) { error in
            guard case let .invalidValue(file, _, value, reason)? = error as? TokenizerError else { return XCTFail("\(error)") }
            XCTAssertEqual(file, "cut.model")
            XCTAssertTrue(value.hasPrefix("byte "), value)
            XCTAssertTrue(reason.contains("not a SentencePiece model, or it is truncated"), reason)
        }
        XCTAssertThrowsError(try SentencePieceModel(bytes: Array(#"{"version": "1.0"}"#.utf8), file: "tokenizer.json"))
        XCTAssertThrowsError(try SentencePieceModel(contentsOf: URL(fileURLWithPath: "/nonexistent/tokenizer.model"))) { error in
            guard case .fileNotReadable(file: "/nonexistent/tokenizer.model", _)? = error as? TokenizerError else { return XCTFail("\(error)") }
        }
    }
}
