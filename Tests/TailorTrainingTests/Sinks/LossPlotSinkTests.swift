import Foundation
import TailorFormats
import TailorTraining
import XCTest

final class LossPlotSinkTests: XCTestCase {
    func testWritesPNGAndSVGAtFinish() throws {
        let folder = try makeSinkFolder(self, keepAs: "plots")
        let sink = LossPlotSink()
        let events = syntheticRun(outputDir: folder.path, steps: 40)
        for event in events.dropLast() { try sink.handle(event) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("loss.png").path), "only at the end")
        try sink.handle(events.last!)
        XCTAssertEqual(sink.train.count, 40)
        XCTAssertEqual(sink.eval.map(\.x), [5, 10, 15, 20, 25, 30, 35, 40])

        let png = try [UInt8](Data(contentsOf: folder.appendingPathComponent("loss.png")))
        XCTAssertEqual(Array(png.prefix(8)), PNGEncoder.signature)
        XCTAssertEqual(Array(png[12..<16]), Array("IHDR".utf8))
        XCTAssertEqual(try sink.chart().png(), png)
        let svg = try String(contentsOf: folder.appendingPathComponent("loss.svg"), encoding: .utf8)
        XCTAssertEqual(svg, sink.chart().svg())
        XCTAssertTrue(svg.contains("data-name=\"train loss\"") && svg.contains("data-name=\"eval loss\""))
        // No temporary files left behind.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasPrefix(".") }, [])
    }

    func testLoggingStepsAverages() throws {
        let folder = try makeSinkFolder(self)
        let sink = LossPlotSink(loggingSteps: 5)
        for event in syntheticRun(outputDir: folder.path) { try sink.handle(event) }
        XCTAssertEqual(sink.train.map(\.x), [5, 10])
    }
}
