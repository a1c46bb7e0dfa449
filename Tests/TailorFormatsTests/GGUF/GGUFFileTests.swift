import Foundation
import XCTest
@testable import TailorFormats
import TailorTestSupport

/// Files written by the gguf Python package's GGUFWriter (scripts/reference/make_format_fixtures.py).
final class GGUFFileTests: XCTestCase {
    struct Small: Decodable {
        struct Tensor: Decodable { var name: String; var dims: [Int]; var type: String; var offset: Int; var n_bytes: Int; var values: [Double] }
        var version: UInt32
        var data_start: Int
        var metadata_keys: [String]
        var tensors: [Tensor]
    }

    private let smallURL = TestPaths.fixture("formats/gguf/small.gguf")

    func testMetadataOfEveryValueType() throws {
        let file = try GGUFFile(url: smallURL)
        let expected = try loadJSON(Small.self, "formats/gguf/small.json")
        XCTAssertEqual(file.version, 3)
        XCTAssertEqual(file.alignment, 32)
        XCTAssertEqual(file.metadataKeys, expected.metadata_keys)
        XCTAssertEqual(file.architecture, "llama")
        XCTAssertEqual(file.value("test.u8"), .uint8(200))
        XCTAssertEqual(file.value("test.i8"), .int8(-100))
        XCTAssertEqual(file.value("test.u16"), .uint16(60000))
        XCTAssertEqual(file.value("test.i16"), .int16(-30000))
        XCTAssertEqual(file.value("test.u32"), .uint32(4_000_000_000))
        XCTAssertEqual(file.value("test.i32"), .int32(-2_000_000_000))
        XCTAssertEqual(file.value("test.f32"), .float32(0.1))
        XCTAssertEqual(file.value("test.u64"), .uint64(1 << 63 + 5))
        XCTAssertEqual(file.value("test.i64"), .int64(-(1 << 62)))
        XCTAssertEqual(file.value("test.f64"), .float64(1e-300))
        XCTAssertEqual(file.value("test.true"), .bool(true))
        XCTAssertEqual(file.value("test.false"), .bool(false))
        XCTAssertEqual(try file.string("test.string"), "héllo\n世界")
        XCTAssertEqual(file.value("test.ints"), .array(elementType: .int32, [.int32(1), .int32(-2), .int32(3)]))
        XCTAssertEqual(try file.floatArray("test.floats"), [0.5, -1.25])
        XCTAssertEqual(try file.stringArray("test.strings"), ["a", "", "ü"])
        XCTAssertEqual(file.value("test.nested"), .array(elementType: .array, [
            .array(elementType: .int32, [.int32(1), .int32(2)]), .array(elementType: .int32, [.int32(3)]),
        ]))

        // Typed accessors convert between integer widths and name the key when they fail.
        XCTAssertEqual(try file.int("llama.context_length"), 128)
        XCTAssertEqual(try file.int("test.i8"), -100)
        XCTAssertEqual(try file.float("llama.rope.freq_base"), 10000)
        XCTAssertEqual(try file.double("test.f32"), Double(Float(0.1)))
        XCTAssertEqual(try file.bool("test.true"), true)
        XCTAssertEqual(try file.intArray("test.ints"), [1, -2, 3])
        XCTAssertEqual(try file.array("test.nested").count, 2)
        XCTAssertNil(file.value("absent"))
        XCTAssertFalse(file.has("absent"))
        guard case .metadataKey(_, "absent", _)? = expectFormatError({ try file.int("absent") }) else { return XCTFail() }
        guard case .metadataKey(_, "test.string", _)? = expectFormatError({ try file.int("test.string") }) else { return XCTFail() }
        guard case .metadataKey? = expectFormatError({ try file.stringArray("test.ints") }) else { return XCTFail() }
        guard case .metadataKey? = expectFormatError({ try file.int("test.u64") }) else { return XCTFail() }  // > Int.max
        guard case .metadataKey? = expectFormatError({ try file.bool("test.u8") }) else { return XCTFail() }
    }

    func testTensorsMatchPython() throws {
        try checkTensors(GGUFFile(url: smallURL), alignment: 32)
    }

    func testCustomAlignment() throws {
        let file = try GGUFFile(url: TestPaths.fixture("formats/gguf/aligned.gguf"))
        XCTAssertEqual(file.alignment, 64)
        XCTAssertEqual(try file.int("general.alignment"), 64)
        XCTAssertEqual(file.dataStart % 64, 0)
        for info in file.tensors { XCTAssertEqual(info.offset % 64, 0, info.name) }
        // Same tensors, same values.
        let small = try GGUFFile(url: smallURL)
        for info in small.tensors { XCTAssertEqual(try file.floats(info.name), try small.floats(info.name), info.name) }
    }

    func testVersion2ReadsTheSame() throws {
        var bytes = try Data(contentsOf: smallURL)
        bytes[4] = 2
        let url = try makeTemporaryFolder(self).appendingPathComponent("v2.gguf")
        try bytes.write(to: url)
        let file = try GGUFFile(url: url)
        XCTAssertEqual(file.version, 2)
        try checkTensors(file, alignment: 32)
    }

    private func checkTensors(_ file: GGUFFile, alignment: Int) throws {
        let expected = try loadJSON(Small.self, "formats/gguf/small.json")
        XCTAssertEqual(file.dataStart, expected.data_start)
        XCTAssertEqual(file.tensorNames, expected.tensors.map(\.name))
        for entry in expected.tensors {
            let info = try XCTUnwrap(file.tensor(entry.name))
            XCTAssertEqual(info.dims, entry.dims, entry.name)
            XCTAssertEqual(info.shape, entry.dims.reversed(), entry.name)
            XCTAssertEqual(info.type.name, entry.type, entry.name)
            XCTAssertEqual(info.offset, entry.offset, entry.name)
            XCTAssertEqual(info.byteCount, entry.n_bytes, entry.name)
            XCTAssertEqual(try file.bytes(entry.name).count, entry.n_bytes)
            assertExactlyEqual(try file.floats(entry.name), entry.values.map { Float($0) }, entry.name)
        }
        XCTAssertEqual(file.tensor("f32.weight")?.shape, [3, 5])
        guard case .tensorNotFound? = expectFormatError({ try file.floats("nope") }) else { return XCTFail() }
    }
}
