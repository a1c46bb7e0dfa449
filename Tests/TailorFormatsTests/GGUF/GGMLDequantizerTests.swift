import Foundation
import XCTest
@testable import TailorFormats
import TailorTensor
import TailorTestSupport

/// Dequantization checked bit for bit against `gguf.quants.dequantize` (fixtures in formats/gguf/dequant).
final class GGMLDequantizerTests: XCTestCase {
    private func check(_ type: GGMLType, file: StaticString = #filePath, line: UInt = #line) throws {
        let folder = TestPaths.fixture("formats/gguf/dequant")
        let blocks = try Data(contentsOf: folder.appendingPathComponent("\(type.name).blocks"))
        let expectedBytes = try Data(contentsOf: folder.appendingPathComponent("\(type.name).f32"))
        let expected = expectedBytes.withUnsafeBytes { raw in
            (0..<(raw.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        }
        let actual = try blocks.withUnsafeBytes { try GGMLDequantizer.dequantize($0, type: type, count: expected.count) }
        assertExactlyEqual(actual, expected, type.name, file: file, line: line)
        XCTAssertGreaterThan(Set(actual).count, 4, "fixture for \(type.name) is degenerate", file: file, line: line)
    }

    func testQ8_0() throws { try check(.q8_0) }
    func testQ4_0() throws { try check(.q4_0) }
    func testQ4_1() throws { try check(.q4_1) }
    func testQ5_0() throws { try check(.q5_0) }
    func testQ5_1() throws { try check(.q5_1) }
    func testQ2_K() throws { try check(.q2_K) }
    func testQ3_K() throws { try check(.q3_K) }
    func testQ4_K() throws { try check(.q4_K) }
    func testQ5_K() throws { try check(.q5_K) }
    func testQ6_K() throws { try check(.q6_K) }
    func testBF16() throws { try check(.bf16) }
    func testF16() throws { try check(.f16) }

    func testPlainTypes() throws {
        let f32: [Float] = [1, -2.5, .infinity]
        XCTAssertEqual(try f32.withUnsafeBytes { try GGMLDequantizer.dequantize($0, type: .f32, count: 3) }, f32)
        let i16: [Int16] = [-300, 7]
        XCTAssertEqual(try i16.withUnsafeBytes { try GGMLDequantizer.dequantize($0, type: .i16, count: 2) }, [-300, 7])
        let f64: [Double] = [0.5, -1e10]
        XCTAssertEqual(try f64.withUnsafeBytes { try GGMLDequantizer.dequantize($0, type: .f64, count: 2) }, [0.5, -1e10])
        let i8: [Int8] = [-128, 127]
        XCTAssertEqual(try i8.withUnsafeBytes { try GGMLDequantizer.dequantize($0, type: .i8, count: 2) }, [-128, 127])
    }

    func testUnsupportedTypeAndWrongSizesThrow() throws {
        let bytes = [UInt8](repeating: 0, count: 66)
        guard case .unsupportedGGMLType(_, _, "IQ2_XXS")? = expectFormatError({
            try bytes.withUnsafeBytes { try GGMLDequantizer.dequantize($0, type: .iq2_XXS, count: 256) }
        }) else { return XCTFail() }
        guard case .byteCountMismatch? = expectFormatError({
            try bytes.withUnsafeBytes { try GGMLDequantizer.dequantize($0, type: .q8_0, count: 32) }
        }) else { return XCTFail() }
        guard case .byteCountMismatch? = expectFormatError({
            try bytes.prefix(34).withUnsafeBytes { try GGMLDequantizer.dequantize($0, type: .q8_0, count: 31) }
        }) else { return XCTFail() }
        XCTAssertEqual(try [UInt8]().withUnsafeBytes { try GGMLDequantizer.dequantize($0, type: .q4_K, count: 0) }, [])
    }

    func testTypeTableMatchesGGUFPackage() throws {
        struct Entry: Decodable { var value: UInt32; var block_size: Int; var type_size: Int }
        let table = try loadJSON([String: Entry].self, "formats/gguf/types.json")
        for (name, entry) in table {
            let type = GGMLType(rawValue: entry.value)
            XCTAssertEqual(type.name, name)
            // The Python table says 40 bytes for Q8_1; ggml's block_q8_1 (two halves + 32 int8) is 36.
            if type == .q8_1 { XCTAssertEqual(type.typeSize, 36); continue }
            XCTAssertEqual(type.blockSize, entry.block_size, name)
            XCTAssertEqual(type.typeSize, entry.type_size, name)
            XCTAssertEqual(GGMLType(name: name), type)
        }
        XCTAssertFalse(GGMLType(rawValue: 999).isKnown)
        XCTAssertEqual(GGMLType(rawValue: 999).name, "type 999")
    }

    /// The block types TailorTensor decodes (and keeps as frozen weights) are the file table's, with its sizes.
    func testBlockTypesAgreeWithTheFileTable() throws {
        for block in GGMLBlockType.allCases {
            let type = try XCTUnwrap(GGMLType(name: block.rawValue), block.rawValue)
            XCTAssertEqual(type.blockType, block)
            XCTAssertEqual(type.blockSize, block.blockSize, block.rawValue)
            XCTAssertEqual(type.typeSize, block.typeSize, block.rawValue)
            XCTAssertTrue(type.canDequantize)
        }
        XCTAssertEqual(GGMLQuantizer.types.compactMap(\.blockType).count, GGMLBlockType.allCases.count, "every decoded block type can be written")
        XCTAssertNil(GGMLType.iq4_NL.blockType)
        XCTAssertNil(GGMLType.f16.blockType)
    }
}
