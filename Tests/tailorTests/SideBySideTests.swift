@testable import tailor
import XCTest

/// `tailor chat --compare`'s two-column view: columns line up in terminal columns, CJK counted
/// double, words wrapped whole, the answers' own line breaks kept.
final class SideBySideTests: XCTestCase {
    func testColumnsLineUpWithWideCharacters() {
        let lines = SideBySide(width: 43).lines(left: ("base", "I am a helpful assistant made by a lab."),
                                                right: ("adapter", "我是Lumen，一个由Tailor项目开发的智能助手。"))
        XCTAssertEqual(lines[0], "base                 | adapter")
        XCTAssertEqual(lines[1], "---------------------+---------------------")
        for line in lines {
            let bar = line.firstIndex(where: { $0 == "|" || $0 == "+" })
            XCTAssertNotNil(bar, line)
            XCTAssertEqual(SideBySide.columns(line[..<bar!]), 21, "left column of '\(line)'")
        }
        let right = lines.dropFirst(2).map { String($0.split(separator: "|", maxSplits: 1)[1].dropFirst()) }
        XCTAssertEqual(right.joined(), "我是Lumen，一个由Tailor项目开发的智能助手。")
        XCTAssertTrue(right.allSatisfy { SideBySide.columns(Substring($0)) <= 20 }, "\(right)")
        let left = lines.dropFirst(2).map { String($0.split(separator: "|")[0]).trimmingCharacters(in: .whitespaces) }
        XCTAssertEqual(left.filter { !$0.isEmpty }, ["I am a helpful", "assistant made by a", "lab."])
    }

    func testLineBreaksAndLongWords() {
        let wrapped = SideBySide(width: 100).wrap("one\n\nsupercalifragilistic", 8)
        XCTAssertEqual(wrapped, ["one", "", "supercal", "ifragili", "stic"])
        XCTAssertEqual(SideBySide.columns("中a"), 3)
    }
}
