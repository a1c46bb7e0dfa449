import Foundation
import XCTest
import TailorTensor
import TailorTestSupport

/// bitsandbytes 0.50.2's CPU quantize_4bit / dequantize_4bit (scripts/reference/make_bnb4bit_fixtures.py):
/// packed bytes, absmax, nested absmax and offset, and dequantized values, bit for bit.
final class FourBitQuantizerTests: XCTestCase {
    struct Case {
        var name: String, format: FourBitFormat, blocksize: Int, doubleQuant: Bool, input: String, dtype: String
        var shape: [Int], offsetBits: UInt32?
    }

    static let root = TestPaths.fixture("bnb4bit")

    func cases() throws -> [Case] {
        let data = try Data(contentsOf: Self.root.appendingPathComponent("cases.json"))
        let list = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [[String: Any]])
        return try list.map { entry in
            Case(name: try XCTUnwrap(entry["name"] as? String),
                 format: try FourBitFormat(name: try XCTUnwrap(entry["quant_type"] as? String)),
                 blocksize: try XCTUnwrap(entry["blocksize"] as? Int), doubleQuant: try XCTUnwrap(entry["double_quant"] as? Bool),
                 input: try XCTUnwrap(entry["input"] as? String), dtype: try XCTUnwrap(entry["dtype"] as? String),
                 shape: try XCTUnwrap(entry["shape"] as? [Int]), offsetBits: (entry["offset_bits"] as? Int).map { UInt32($0) })
        }
    }

    func bytes(_ file: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: Self.root.appendingPathComponent(file)))
    }

    func floats(_ file: String) throws -> [Float] {
        let raw = try bytes(file)
        return stride(from: 0, to: raw.count, by: 4).map { i in
            Float(bitPattern: UInt32(raw[i]) | UInt32(raw[i + 1]) << 8 | UInt32(raw[i + 2]) << 16 | UInt32(raw[i + 3]) << 24)
        }
    }

    /// Values of a file in `dtype`, widened exactly, and their bit patterns as stored.
    func values(_ file: String, dtype: String) throws -> (values: [Float], bits: [UInt32]) {
        let raw = try bytes(file)
        switch dtype {
        case "float32":
            let v = try floats(file)
            return (v, v.map(\.bitPattern))
        case "bfloat16", "float16":
            let halves = stride(from: 0, to: raw.count, by: 2).map { UInt16(raw[$0]) | UInt16(raw[$0 + 1]) << 8 }
            let widen = dtype == "bfloat16" ? HalfPrecision.bf16ToFloat : HalfPrecision.f16ToFloat
            return (halves.map(widen), halves.map { UInt32($0) })
        default:
            throw XCTSkip("dtype \(dtype)")
        }
    }

    func narrow(_ values: [Float], dtype: String) -> [UInt32] {
        switch dtype {
        case "bfloat16": return values.map { UInt32(HalfPrecision.floatToBF16($0)) }
        case "float16": return values.map { UInt32(HalfPrecision.floatToF16($0)) }
        default: return values.map(\.bitPattern)
        }
    }

    func testCodesMatchBitsandbytes() throws {
        let data = try Data(contentsOf: Self.root.appendingPathComponent("codes.json"))
        let codes = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertEqual(FourBitFormat.nf4.code.map(\.bitPattern), (codes["nf4"] as? [Int])?.map { UInt32($0) })
        XCTAssertEqual(FourBitFormat.fp4.code.map(\.bitPattern), (codes["fp4"] as? [Int])?.map { UInt32($0) })
        XCTAssertEqual(FourBitFormat.fp4.sortOrder, codes["fp4_order"] as? [Int])
        XCTAssertEqual(DynamicMap.signed.map(\.bitPattern), (codes["dynamic"] as? [Int])?.map { UInt32($0) })
    }

    func testQuantizeAndDequantizeAreBitIdenticalToBitsandbytes() throws {
        let all = try cases()
        XCTAssertGreaterThanOrEqual(all.count, 20)
        for c in all {
            let (input, _) = try values(c.input + ".bin", dtype: c.dtype)
            XCTAssertEqual(input.count, c.shape.reduce(1, *), c.name)
            let blocks = try input.withUnsafeBufferPointer {
                try FourBitQuantizer.quantize($0, format: c.format, blocksize: c.blocksize, doubleQuant: c.doubleQuant)
            }
            let expectedPacked = try bytes(c.name + ".packed")
            let wrong = zip(blocks.packed, expectedPacked).enumerated().filter { $0.element.0 != $0.element.1 }
            XCTAssertEqual(blocks.packed.count, expectedPacked.count, c.name)
            XCTAssertTrue(wrong.isEmpty, "\(c.name): \(wrong.count) packed bytes differ, first \(wrong.prefix(3).map { "byte \($0.offset): \($0.element.0) vs \($0.element.1), inputs \(input[2 * $0.offset]), \(2 * $0.offset + 1 < input.count ? input[2 * $0.offset + 1] : 0)" })")
            switch blocks.scales {
            case let .plain(absmax):
                XCTAssertFalse(c.doubleQuant, c.name)
                XCTAssertEqual(absmax.map(\.bitPattern), try floats(c.name + ".absmax").map(\.bitPattern), "\(c.name): absmax")
            case let .nested(nested):
                XCTAssertTrue(c.doubleQuant, c.name)
                XCTAssertEqual(nested.offset.bitPattern, c.offsetBits, "\(c.name): offset")
                XCTAssertEqual(nested.codes, try bytes(c.name + ".qabsmax"), "\(c.name): absmax codes")
                XCTAssertEqual(nested.absmax.map(\.bitPattern), try floats(c.name + ".nested_absmax").map(\.bitPattern),
                               "\(c.name): nested absmax")
            }
            // Dequantize bnb's own state (not ours), so a quantizer mismatch does not hide a dequantizer one.
            let scales: FourBitScales
            if c.doubleQuant {
                scales = .nested(NestedAbsmax(codes: try bytes(c.name + ".qabsmax"), absmax: try floats(c.name + ".nested_absmax"),
                                              offset: Float(bitPattern: try XCTUnwrap(c.offsetBits))))
            } else {
                scales = .plain(try floats(c.name + ".absmax"))
            }
            let theirs = try FourBitBlocks(format: c.format, blocksize: c.blocksize, count: input.count,
                                           packed: try bytes(c.name + ".packed"), scales: scales)
            let expected = try values(c.name + ".dequant", dtype: c.dtype).bits
            let mine = narrow(theirs.dequantized(oddLastDimension: c.shape.last! % 2 == 1), dtype: c.dtype)
            let differ = zip(mine, expected).enumerated().filter { $0.element.0 != $0.element.1 }
            XCTAssertEqual(mine.count, expected.count, c.name)
            XCTAssertTrue(differ.isEmpty, "\(c.name): \(differ.count) dequantized values differ, first \(differ.prefix(3).map { "[\($0.offset)] \($0.element.0) vs \($0.element.1)" })")
        }
    }

    func testByteCountIsCodesPlusScales() throws {
        let values = [Float](repeating: 0.5, count: 64 * 300)
        let plain = try values.withUnsafeBufferPointer { try FourBitQuantizer.quantize($0, format: .nf4, blocksize: 64, doubleQuant: false) }
        XCTAssertEqual(plain.byteCount, 64 * 300 / 2 + 300 * 4)              // 4.5 bits per value
        let nested = try values.withUnsafeBufferPointer { try FourBitQuantizer.quantize($0, format: .nf4, blocksize: 64, doubleQuant: true) }
        XCTAssertEqual(nested.byteCount, 64 * 300 / 2 + 300 + 2 * 4 + 4 + 256 * 4)  // ~4.127 bits plus the map
    }

    func testRejectsBlocksizesAndQuantTypesBitsandbytesRejects() {
        let values: [Float] = [1, 2, 3]
        for blocksize in [0, 16, 48, 8192] {
            XCTAssertThrowsError(try values.withUnsafeBufferPointer {
                try FourBitQuantizer.quantize($0, format: .nf4, blocksize: blocksize, doubleQuant: false)
            }) { error in
                XCTAssertEqual(error as? TensorError, .invalidBlocksize(blocksize, accepted: FourBitFormat.blocksizes))
                XCTAssertTrue("\(error)".contains("32, 64, 128"), "\(error)")
            }
        }
        XCTAssertThrowsError(try FourBitFormat(name: "int4")) { error in
            XCTAssertTrue("\(error)".contains("'int4'") && "\(error)".contains("nf4 or fp4"), "\(error)")
        }
        XCTAssertEqual(try FourBitFormat(name: "NF4"), .nf4)
        XCTAssertThrowsError(try FourBitBlocks(format: .nf4, blocksize: 64, count: 100, packed: [UInt8](repeating: 0, count: 50),
                                               scales: .plain([1]))) { error in
            XCTAssertTrue("\(error)".contains("absmax has 1 entries") && "\(error)".contains("need 2"), "\(error)")
        }
    }
}
