import Foundation
import TailorTraining
import XCTest

/// The sink's event file read back with a small protobuf reader (tensorboard's EventAccumulator reads
/// the same file in scripts/peers/check_tensorboard.py).
final class TensorBoardSinkTests: XCTestCase {
    struct Scalar: Equatable {
        var tag: String
        var step: Int64
        var value: Float
    }

    func testScalarsAndTags() throws {
        let folder = try makeSinkFolder(self, keepAs: "tensorboard")
        let sink = TensorBoardSink(loggingSteps: 2, clock: { 1_700_000_000 })
        // metrics.jsonl beside it: scripts/peers/check_tensorboard.py compares the two.
        let metrics = MetricsJSONLSink(loggingSteps: 2)
        for event in syntheticRun(outputDir: folder.path) {
            try sink.handle(event)
            try metrics.handle(event)
        }
        let logDir = folder.appendingPathComponent("runs").path
        XCTAssertEqual(sink.logDir, logDir)
        let files = try FileManager.default.contentsOfDirectory(atPath: logDir)
        XCTAssertEqual(files.count, 1)
        XCTAssertTrue(files[0].hasPrefix("events.out.tfevents.1700000000."))
        let scalars = try Self.scalars(Data(contentsOf: URL(fileURLWithPath: logDir).appendingPathComponent(files[0])))
        let loss = scalars.filter { $0.tag == "train/loss" }
        XCTAssertEqual(loss.map(\.step), [2, 4, 6, 8, 10])
        // Window of steps 3 and 4: mean of 2.35 and 2.25.
        XCTAssertEqual(loss[1].value, Float((2.35 + 2.25) / 2))
        XCTAssertEqual(scalars.filter { $0.tag == "train/learning_rate" }.map(\.value), [2, 4, 6, 8, 10].map { Float(1e-4 * Double($0)) })
        XCTAssertEqual(scalars.filter { $0.tag == "train/grad_norm" }.first?.value, 0.5)
        XCTAssertEqual(scalars.filter { $0.tag == "train/tokens_per_second" }.count, 5)
        XCTAssertEqual(scalars.filter { $0.tag == "eval/loss" }, [Scalar(tag: "eval/loss", step: 5, value: 2.0),
                                                                 Scalar(tag: "eval/loss", step: 10, value: 1.5)])
    }

    /// Decodes `Event.summary.value{tag, simple_value}` from a TFRecord stream (CRCs checked in the formats tests).
    static func scalars(_ data: Data) throws -> [Scalar] {
        let bytes = [UInt8](data)
        var out: [Scalar] = []
        var offset = 0
        var first = true
        while offset + 12 <= bytes.count {
            let length = Int(bytes[offset..<offset + 8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
            let record = Array(bytes[offset + 12..<offset + 12 + length])
            offset += 16 + length
            var step: Int64 = 0
            var reader = Reader(buffer: record)
            var summaries: [[UInt8]] = []
            var version: String?
            while let (field, wire) = reader.key() {
                switch (field, wire) {
                case (2, 0): step = Int64(bitPattern: reader.varint())
                case (3, 2): version = String(decoding: reader.bytes(), as: UTF8.self)
                case (5, 2): summaries.append(reader.bytes())
                default: reader.skip(wire)
                }
            }
            if first { XCTAssertEqual(version, "brain.Event:2"); first = false }
            for summary in summaries {
                var s = Reader(buffer: summary)
                while let (field, wire) = s.key() {
                    guard field == 1, wire == 2 else { s.skip(wire); continue }
                    var v = Reader(buffer: s.bytes())
                    var tag = "", value: Float = 0
                    while let (f, w) = v.key() {
                        switch (f, w) {
                        case (1, 2): tag = String(decoding: v.bytes(), as: UTF8.self)
                        case (2, 5): value = Float(bitPattern: UInt32(truncatingIfNeeded: v.fixed(4)))
                        default: v.skip(w)
                        }
                    }
                    out.append(Scalar(tag: tag, step: step, value: value))
                }
            }
        }
        XCTAssertEqual(offset, bytes.count)
        return out
    }

    struct Reader {
        var buffer: [UInt8]
        var position = 0
        mutating func varint() -> UInt64 {
            var value: UInt64 = 0, shift: UInt64 = 0
            while position < buffer.count {
                let byte = buffer[position]; position += 1
                value |= UInt64(byte & 0x7F) << shift
                if byte < 0x80 { break }
                shift += 7
            }
            return value
        }
        mutating func key() -> (Int, UInt64)? {
            guard position < buffer.count else { return nil }
            let key = varint()
            return (Int(key >> 3), key & 7)
        }
        mutating func bytes() -> [UInt8] {
            let count = Int(varint())
            defer { position += count }
            return Array(buffer[position..<position + count])
        }
        mutating func fixed(_ count: Int) -> UInt64 {
            defer { position += count }
            return buffer[position..<position + count].reversed().reduce(0) { $0 << 8 | UInt64($1) }
        }
        mutating func skip(_ wire: UInt64) {
            switch wire {
            case 0: _ = varint()
            case 1: position += 8
            case 2: _ = bytes()
            default: position += 4
            }
        }
    }
}
