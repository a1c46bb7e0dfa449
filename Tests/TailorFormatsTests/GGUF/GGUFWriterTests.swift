import Foundation
import XCTest
@testable import TailorFormats
import TailorTestSupport

/// GGUFWriter against the gguf Python package's GGUFWriter (small.gguf / aligned.gguf from
/// scripts/reference/make_format_fixtures.py) and against Tailor's own reader.
final class GGUFWriterTests: XCTestCase {
    /// Re-writes a committed file from what the reader sees in it.
    private func rewrite(_ name: String) throws -> (original: Data, written: Data) {
        let url = TestPaths.fixture("formats/gguf/\(name)")
        let file = try GGUFFile(url: url)
        let metadata = try file.metadataKeys.map { key in (key: key, value: try XCTUnwrap(file.value(key))) }
        let tensors = try file.tensors.map { info in
            try GGUFWriter.Tensor(name: info.name, shape: info.shape, type: info.type, bytes: Array(try file.bytes(info.name)))
        }
        let out = try makeTemporaryFolder(self).appendingPathComponent(name)
        var reports: [Int] = []
        try GGUFWriter.write(metadata: metadata, tensors: tensors, to: out) { done, total, _ in
            XCTAssertEqual(total, tensors.count)
            reports.append(done)
        }
        XCTAssertEqual(reports, Array(1...tensors.count))
        return (try Data(contentsOf: url), try Data(contentsOf: out))
    }

    func testBytesEqualGGUFPyWriter() throws {
        let (original, written) = try rewrite("small.gguf")
        XCTAssertEqual(written.count, original.count)
        XCTAssertTrue(written == original, "small.gguf differs from gguf-py's bytes")
    }

    func testBytesEqualGGUFPyWriterWithAlignment64() throws {
        let (original, written) = try rewrite("aligned.gguf")
        XCTAssertTrue(written == original, "aligned.gguf differs from gguf-py's bytes")
    }

    func testEveryValueTypeReadsBack() throws {
        let values: [(key: String, value: GGUFValue)] = [
            ("general.architecture", .string("llama")), ("u8", .uint8(255)), ("i8", .int8(-128)), ("u16", .uint16(65535)),
            ("i16", .int16(-32768)), ("u32", .uint32(.max)), ("i32", .int32(.min)), ("u64", .uint64(.max)), ("i64", .int64(.min)),
            ("f32", .float32(-0.0)), ("f64", .float64(.pi)), ("t", .bool(true)), ("f", .bool(false)), ("s", .string("")),
            ("u", .string("日本 \u{0}x")), ("strings", .array(elementType: .string, [.string("a"), .string("ü")])),
            ("floats", .array(elementType: .float32, [.float32(1), .float32(.infinity)])),
            ("nested", .array(elementType: .array, [.array(elementType: .uint8, [.uint8(1)]),
                                                    .array(elementType: .string, [.string("x")])])),
            ("general.alignment", .uint32(16)),
        ]
        let f32 = [Float](repeating: 1.5, count: 6)
        let tensors = try [
            GGUFWriter.Tensor(name: "a", shape: [2, 3], type: .f32, bytes: f32.withUnsafeBytes { Array($0) }),
            GGUFWriter.Tensor(name: "b", shape: [1], type: .f32, bytes: [0, 0, 0x80, 0x3F]),
            // Produced in pieces.
            GGUFWriter.Tensor(name: "c", shape: [2, 2], type: .f32) { body in
                for value: Float in [1, 2, 3, 4] { try withUnsafeBytes(of: value) { try body($0) } }
            },
        ]
        let url = try makeTemporaryFolder(self).appendingPathComponent("all.gguf")
        try GGUFWriter.write(metadata: values, tensors: tensors, to: url)
        let file = try GGUFFile(url: url)
        XCTAssertEqual(file.version, 3)
        XCTAssertEqual(file.alignment, 16)
        XCTAssertEqual(file.metadataKeys, values.map(\.key))
        for (key, value) in values where key != "f32" { XCTAssertEqual(file.value(key), value, key) }
        XCTAssertEqual(file.value("f32")?.doubleValue.map { $0.sign }, .minus)
        XCTAssertEqual(try file.floats("a"), f32)
        XCTAssertEqual(try file.floats("b"), [1])
        XCTAssertEqual(try file.floats("c"), [1, 2, 3, 4])
        XCTAssertEqual(file.tensor("a")?.dims, [3, 2])
        for info in file.tensors { XCTAssertEqual(info.offset % 16, 0) }
    }

    func testBadInputLeavesNoFile() throws {
        let folder = try makeTemporaryFolder(self)
        let url = folder.appendingPathComponent("bad.gguf")
        let arch: (key: String, value: GGUFValue) = ("general.architecture", .string("llama"))
        // A producer that gives too few bytes, one that fails, a duplicate name, an empty array.
        let short = try GGUFWriter.Tensor(name: "short", shape: [4], type: .f32) { body in try [UInt8](repeating: 0, count: 8).withUnsafeBytes { try body($0) } }
        struct Boom: Error {}
        let failing = try GGUFWriter.Tensor(name: "failing", shape: [1], type: .f32) { _ in throw Boom() }
        let ok = try GGUFWriter.Tensor(name: "ok", shape: [1], type: .f32, bytes: [0, 0, 0, 0])
        guard case .byteCountMismatch(_, "short", 16, 8)? = expectFormatError({ try GGUFWriter.write(metadata: [arch], tensors: [ok, short], to: url) })
        else { return XCTFail() }
        XCTAssertThrowsError(try GGUFWriter.write(metadata: [arch], tensors: [ok, failing], to: url)) { XCTAssertTrue($0 is Boom) }
        guard case .invalidWriterInput? = expectFormatError({ try GGUFWriter.write(metadata: [arch], tensors: [ok, ok], to: url) })
        else { return XCTFail() }
        guard case .invalidWriterInput? = expectFormatError({
            try GGUFWriter.write(metadata: [arch, ("e", .array(elementType: .int32, []))], tensors: [ok], to: url)
        }) else { return XCTFail() }
        guard case .invalidWriterInput? = expectFormatError({
            try GGUFWriter.write(metadata: [arch, ("m", .array(elementType: .int32, [.int32(1), .uint8(2)]))], tensors: [ok], to: url)
        }) else { return XCTFail() }
        guard case .invalidWriterInput? = expectFormatError({
            try GGUFWriter.write(metadata: [arch, ("general.alignment", .uint32(24))], tensors: [ok], to: url)
        }) else { return XCTFail() }
        guard case .invalidWriterInput? = expectFormatError({ try GGUFWriter.Tensor(name: "q", shape: [2, 33], type: .q8_0, bytes: []) })
        else { return XCTFail() }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), [], "no file or temporary left behind")
        // A missing folder.
        let missing = folder.appendingPathComponent("no/such/x.gguf")
        guard case .cannotWrite? = expectFormatError({ try GGUFWriter.write(metadata: [arch], tensors: [ok], to: missing) })
        else { return XCTFail() }
    }

    func testFailedRewriteKeepsTheOldFile() throws {
        let url = try makeTemporaryFolder(self).appendingPathComponent("keep.gguf")
        let arch: (key: String, value: GGUFValue) = ("general.architecture", .string("llama"))
        let ok = try GGUFWriter.Tensor(name: "ok", shape: [1], type: .f32, bytes: [0, 0, 0x80, 0x3F])
        try GGUFWriter.write(metadata: [arch], tensors: [ok], to: url)
        let before = try Data(contentsOf: url)
        let failing = try GGUFWriter.Tensor(name: "failing", shape: [1], type: .f32) { _ in throw CocoaError(.fileWriteOutOfSpace) }
        XCTAssertThrowsError(try GGUFWriter.write(metadata: [arch], tensors: [ok, failing], to: url))
        XCTAssertEqual(try Data(contentsOf: url), before)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: url.deletingLastPathComponent().path), ["keep.gguf"])
    }
}
