import TailorInference
@testable import TailorServer
import XCTest

/// Stop strings end a streamed answer and are not sent, even split across tokens.
final class ChoiceTextTests: XCTestCase {
    func testStopStringSplitAcrossTokensIsNeverSent() {
        var text = ChoiceText(stops: ["END", "\n\n"])
        var sent = ""
        for piece in ["Hello", " wor", "ld E", "ND more"] { sent += text.add(piece) }
        XCTAssertFalse(sent.contains("E"), "the start of the stop string is held back: \(sent)")
        let (final, rest) = text.finish(.stopString("END"), text: "Hello world END more")
        sent += rest
        XCTAssertEqual(final, "Hello world ")
        XCTAssertEqual(sent, final)
    }

    func testWithoutStopsTextGoesOutAtOnceAndTheDecodersFlushIsKept() {
        var text = ChoiceText(stops: [])
        XCTAssertEqual(text.add("ab"), "ab")
        XCTAssertEqual(text.add("é"), "é")
        let (final, rest) = text.finish(.length, text: "abé\u{FFFD}")
        XCTAssertEqual(final, "abé\u{FFFD}")
        XCTAssertEqual(rest, "\u{FFFD}", "what the decoder flushed at the end is sent too")
    }

    func testHeldBackTextIsCutAtCharacterBoundaries() {
        var text = ChoiceText(stops: ["xy"])
        var sent = text.add("你好")
        sent += text.add("世界")
        XCTAssertEqual(sent, "你", "one byte held back for a stop of two; the cut moves back to a character boundary")
        sent += text.finish(.length, text: "你好世界").delta
        XCTAssertEqual(sent, "你好世界")
    }
}
