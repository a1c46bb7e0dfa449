import Foundation
import XCTest
import TailorTestSupport
@testable import TailorData

final class PackingCleaningTests: XCTestCase {
    func testBestFitDecreasingRowsAndIds() {
        let lengths = [7, 5, 4, 3, 3, 2, 1]
        let samples = lengths.enumerated().map { i, n in DataTestSupport.sample((0..<Int32(n)).map { Int32(i * 100) + $0 }, line: i + 1) }
        let rows = Packer(maxLength: 8).pack(samples)
        // BFD: 7 -> r0 (room 1); 5 -> r1 (3); 4 -> r2 (4); 3 -> r1 (0); 3 -> r2 (1); 2 -> r3 (6); 1 -> r0 (0)
        XCTAssertEqual(rows.map { $0.samples.map(\.count) }, [[7, 1], [5, 3], [4, 3], [2]])
        XCTAssertTrue(rows.allSatisfy { $0.tokenCount <= 8 })
        XCTAssertEqual(rows.flatMap(\.samples).count, samples.count)
        XCTAssertEqual(rows[1].positionIds, [0, 1, 2, 3, 4, 0, 1, 2])
        XCTAssertEqual(rows[1].sequenceIds, [0, 0, 0, 0, 0, 1, 1, 1])
        XCTAssertEqual(rows[1].inputIds, samples[1].inputIds + samples[3].inputIds)
        XCTAssertEqual(rows[1].sequences.map(\.ids), [samples[1].inputIds, samples[3].inputIds])
    }

    func testPackingIsDeterministicAndHandlesOverlong() {
        let samples = (0..<200).map { i in DataTestSupport.sample(Array(repeating: 1, count: 1 + (i * 37) % 60), line: i + 1) }
        let a = Packer(maxLength: 64).pack(samples), b = Packer(maxLength: 64).pack(samples)
        XCTAssertEqual(a, b)
        let total = samples.reduce(0) { $0 + $1.count }
        XCTAssertLessThanOrEqual(a.count, total / 64 + 3)
        let over = Packer(maxLength: 4).pack([DataTestSupport.sample([1, 2, 3, 4, 5, 6])])
        XCTAssertEqual(over.count, 1)
    }

    func conv(_ user: String, _ reply: String, line: Int) -> Conversation {
        Conversation(messages: [Message(role: .user, content: user), Message(role: .assistant, content: reply)],
                     source: SourceLocation(file: "d.json", line: line, index: line - 1))
    }

    func testCleaningWhitespaceFiltersAndDedup() {
        XCTAssertEqual(Cleaner.normalizeWhitespace("  a \t b\r\n\n\n\nc  "), "a b\n\nc")
        let data = [
            conv("hello  world", "hi", line: 1), conv("hello world", "hi ", line: 2),   // duplicate after normalization
            conv("q", "", line: 3),                                                     // empty reply
            conv("x", String(repeating: "y", count: 50), line: 4),
        ]
        let r = Cleaner.clean(data, options: CleaningOptions(maxCharacters: 40))
        XCTAssertEqual(r.kept.map(\.source.line), [1])
        XCTAssertEqual(r.count.duplicate, 1)
        XCTAssertEqual(r.count.empty, 1)
        XCTAssertEqual(r.count.long, 1)
        XCTAssertEqual(r.removed.first { $0.kind == .duplicate }?.source?.line, 2)
    }

    func testNearDuplicatesByMinHash() {
        let base = "The quick brown fox jumps over the lazy dog near the river bank in the morning light."
        let data = [conv("Tell me a story", base, line: 1), conv("Tell me a story", base + " Yes.", line: 2),
                    conv("Something else entirely", "A completely different reply about tax law and forms.", line: 3)]
        let r = Cleaner.clean(data, options: CleaningOptions(nearDuplicateThreshold: 0.8))
        XCTAssertEqual(r.kept.map(\.source.line), [1, 3])
        XCTAssertEqual(r.count.nearDuplicate, 1)
        XCTAssertTrue(r.removed[0].message.contains("d.json:1"))
    }

    func testSplitIsDeterministic() throws {
        let items = Array(0..<100)
        let a = try Splitter.split(items, validationRatio: 0.1, seed: 42)
        let b = try Splitter.split(items, validationRatio: 0.1, seed: 42)
        let c = try Splitter.split(items, validationRatio: 0.1, seed: 7)
        XCTAssertEqual(a.validation, b.validation)
        XCTAssertEqual(a.validation.count, 10)
        XCTAssertEqual(a.train.count, 90)
        XCTAssertNotEqual(a.validation, c.validation)
        XCTAssertEqual(Set(a.train + a.validation), Set(items))
        XCTAssertThrowsError(try Splitter.split(items, validationRatio: 1.0, seed: 1))
    }

    func testWriterRoundTripsAtomically() throws {
        let path = try DataTestSupport.tempFile("out.jsonl", "old")
        var c = conv("q", "a", line: 1)
        c.messages[1].train = false
        try DatasetWriter.writeJSONL([c, Conversation(messages: [], text: "plain", source: c.source)], to: path)
        let back = try DatasetLoader().load(paths: [path])
        XCTAssertEqual(back.conversations.count, 2)
        XCTAssertEqual(back.conversations[0].messages.map(\.content), ["q", "a"])
        XCTAssertEqual(back.conversations[0].messages[1].train, false)
        XCTAssertEqual(back.conversations[1].text, "plain")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: (path as NSString).deletingLastPathComponent)
        XCTAssertEqual(leftovers, ["out.jsonl"])
    }
}
