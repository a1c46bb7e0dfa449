import Foundation
import TailorTraining
import XCTest

final class ConsoleProgressSinkTests: XCTestCase {
    func testPlainLinesWhenNotATerminal() throws {
        let collector = TextCollector()
        let sink = ConsoleProgressSink(output: collector, interactive: false, lineEvery: 5)
        for event in syntheticRun(outputDir: "/tmp/x") { try sink.handle(event) }
        let lines = collector.text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertFalse(collector.text.contains("\r"))
        XCTAssertFalse(collector.text.contains("\u{1B}"))
        XCTAssertEqual(lines.filter { $0.hasPrefix("step ") && $0.contains(" loss ") && !$0.contains("eval") }.count, 2)
        XCTAssertTrue(lines.contains("step 5/10 loss 1.9500 lr 5.00e-04 grad_norm 0.200 tok/s 512 elapsed 00:03 eta 00:03"),
                      collector.text)
        XCTAssertTrue(lines.contains("step 5: eval_loss 2.0000 (epoch 1.00)"))
        XCTAssertTrue(lines.contains("warning: a warning \"quoted\" ü"))
        XCTAssertTrue(lines.contains("trainable params: 1000 || all params: 100000 || trainable%: 1.0000"))
        XCTAssertTrue(lines.contains { $0.hasPrefix("finished 10 steps in 00:05, final loss 1.0500") })
        XCTAssertEqual(lines.last, "")
    }

    func testBarRedrawsInPlaceOnATerminal() throws {
        let collector = TextCollector()
        let sink = ConsoleProgressSink(output: collector, interactive: true, barWidth: 10)
        for event in syntheticRun(outputDir: "/tmp/x") { try sink.handle(event) }
        let text = collector.text
        XCTAssertEqual(text.components(separatedBy: "\r").count - 1 >= 10, true)
        XCTAssertTrue(text.contains("▕█████     ▏  5/10  50% │ loss 1.9500 │ lr 5.00e-04 │ 512 tok/s │ 00:03<00:03\u{1B}[K"), text)
        // A message clears the bar's line, prints, and redraws the bar.
        XCTAssertTrue(text.contains("\r\u{1B}[Kstep 5: eval_loss 2.0000 (epoch 1.00)\n▕█████"))
        XCTAssertTrue(text.contains("▕██████████▏ 10/10 100%"))
        XCTAssertTrue(text.hasSuffix("\n"))
    }
}
