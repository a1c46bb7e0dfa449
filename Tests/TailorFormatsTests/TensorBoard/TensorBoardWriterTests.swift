import Foundation
import XCTest
@testable import TailorFormats
import TailorTestSupport

/// TFRecord framing, CRC-32C and the Event protobuf against bytes from tensorboard's own writer
/// (scripts/reference/make_tensorboard_fixtures.py, wall times pinned).
final class TensorBoardWriterTests: XCTestCase {
    struct Reference: Decodable {
        struct Scalar: Decodable {
            var tag: String
            var value: Double
            var step: Int
            var wall_time: Double
        }
        var file_version_wall_time: Double
        var scalars: [Scalar]
    }

    func testCRC32CCheckValues() {
        XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xE306_9283)
        XCTAssertEqual(CRC32C.checksum([UInt8]()), 0)
        // RFC 3720 B.4: 32 bytes of zeros, of 0xFF, and ascending 0...31.
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0, count: 32)), 0x8A91_36AA)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)), 0x62A8_AB43)
        XCTAssertEqual(CRC32C.checksum((0..<32).map { UInt8($0) }), 0x46DD_794E)
        // masked(crc) = rotr15(crc) + 0xA282EAD8
        XCTAssertEqual(CRC32C.masked(0), 0xA282_EAD8)
        XCTAssertEqual(CRC32C.masked(0xE306_9283), 0xC78A_B0E5, "tensorboard's masked_crc32c(b'123456789')")
    }

    func testProtobufVarints() {
        var encoder = ProtobufEncoder()
        encoder.varint(0); encoder.varint(1); encoder.varint(127); encoder.varint(128); encoder.varint(300)
        XCTAssertEqual(encoder.bytes, [0x00, 0x01, 0x7F, 0x80, 0x01, 0xAC, 0x02])
        var negative = ProtobufEncoder()
        negative.int64(2, -1)
        XCTAssertEqual(negative.bytes, [0x10] + [UInt8](repeating: 0xFF, count: 9) + [0x01])
    }

    /// Every record, byte for byte, equals the Python writer's.
    func testEventsEqualTensorboardsBytes() throws {
        let expected = try [UInt8](Data(contentsOf: TestPaths.fixture("tensorboard/events.reference.tfevents")))
        let reference = try loadJSON(Reference.self, "tensorboard/scalars.json")
        var ours = TFRecord.frame(TensorBoardEvent.fileVersion(wallTime: reference.file_version_wall_time).serialized())
        for scalar in reference.scalars {
            let event = TensorBoardEvent(wallTime: scalar.wall_time, step: Int64(scalar.step),
                                         content: .scalars([.init(tag: scalar.tag, value: Float(scalar.value))]))
            ours += TFRecord.frame(event.serialized())
        }
        XCTAssertEqual(ours.count, expected.count)
        XCTAssertEqual(ours, expected)
    }

    /// The writer's file: the name tensorboard uses, the version record first, then the scalars, each
    /// record's CRCs valid.
    /// A resumed run's marker: `Event { step: 6, session_log { status: START } }`, by hand from tensorflow's
    /// event.proto (step: field 2 varint; session_log: field 7 length-delimited; status: field 1 varint, START = 1).
    func testSessionStartIsSessionLogStart() {
        XCTAssertEqual(TensorBoardEvent(wallTime: 0, step: 6, content: .sessionStart).serialized(), [0x10, 0x06, 0x3A, 0x02, 0x08, 0x01])
    }

    func testWriterFileParsesBack() throws {
        let folder = try makeTemporaryFolder(self)
        let logDir = folder.appendingPathComponent("runs/a").path
        let writer = try TensorBoardWriter(logDir: logDir, hostname: "host", clock: { 1_700_000_000.5 })
        try writer.addScalars([("train/loss", 2.5), ("train/learning_rate", 1e-4)], step: 3)
        try writer.addScalar("eval/loss", 1.25, step: 4)
        try writer.close()

        let name = URL(fileURLWithPath: writer.path).lastPathComponent
        XCTAssertTrue(name.hasPrefix("events.out.tfevents.1700000000.host."), name)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: logDir), [name])

        let records = try Self.readRecords([UInt8](Data(contentsOf: URL(fileURLWithPath: writer.path))))
        XCTAssertEqual(records.count, 4)
        XCTAssertEqual(records[0], TensorBoardEvent.fileVersion(wallTime: 1_700_000_000.5).serialized())
        let loss = TensorBoardEvent(wallTime: 1_700_000_000.5, step: 3, content: .scalars([.init(tag: "train/loss", value: 2.5)]))
        XCTAssertEqual(records[1], loss.serialized())
        let eval = TensorBoardEvent(wallTime: 1_700_000_000.5, step: 4, content: .scalars([.init(tag: "eval/loss", value: 1.25)]))
        XCTAssertEqual(records[3], eval.serialized())
        XCTAssertThrowsError(try writer.addScalar("x", 1, step: 5), "writes after close fail")
    }

    func testUnwritableFolderIsCannotWrite() {
        XCTAssertThrowsError(try TensorBoardWriter(logDir: "/proc/tailor-no-such/dir")) { error in
            guard case .cannotWrite = error as? FormatError else { return XCTFail("\(error)") }
        }
    }

    /// Splits a TFRecord stream, checking both CRCs of every record.
    static func readRecords(_ bytes: [UInt8]) throws -> [[UInt8]] {
        func u32(_ at: Int) -> UInt32 { bytes[at..<at + 4].reversed().reduce(0) { $0 << 8 | UInt32($1) } }
        var records: [[UInt8]] = []
        var offset = 0
        while offset < bytes.count {
            let lengthBytes = Array(bytes[offset..<offset + 8])
            let length = Int(lengthBytes.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
            XCTAssertEqual(u32(offset + 8), CRC32C.masked(CRC32C.checksum(lengthBytes)), "length crc at \(offset)")
            let data = Array(bytes[offset + 12..<offset + 12 + length])
            XCTAssertEqual(u32(offset + 12 + length), CRC32C.masked(CRC32C.checksum(data)), "data crc at \(offset)")
            records.append(data)
            offset += 16 + length
        }
        return records
    }
}
