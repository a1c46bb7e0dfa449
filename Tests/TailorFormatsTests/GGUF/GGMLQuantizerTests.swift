import Foundation
import XCTest
@testable import TailorFormats
import TailorTensor
import TailorTestSupport

/// Quantization checked byte for byte against `gguf.quants.quantize` (fixtures in formats/gguf/quant, from
/// scripts/reference/make_gguf_quant_fixtures.py: random blocks and edge cases).
final class GGMLQuantizerTests: XCTestCase {
    private func input() throws -> [Float] {
        let bytes = try Data(contentsOf: TestPaths.fixture("formats/gguf/quant/input.f32"))
        return bytes.withUnsafeBytes { raw in
            (0..<(raw.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        }
    }

    private func check(_ type: GGMLType, file: StaticString = #filePath, line: UInt = #line) throws {
        let expected = try Data(contentsOf: TestPaths.fixture("formats/gguf/quant/\(type.name).bin"))
        let values = try input()
        let actual = try GGMLQuantizer.quantize(values, type: type)
        XCTAssertEqual(actual.count, expected.count, type.name, file: file, line: line)
        if let blockBytes = type.typeSize, let blockSize = type.blockSize {
            // Name the first block that differs.
            let perBlock = blockBytes * (blockSize == 1 ? 32 : 1)
            for b in 0..<(expected.count / perBlock) {
                let range = (b * perBlock)..<((b + 1) * perBlock)
                if Array(actual[range]) != Array(expected[range]) {
                    XCTFail("\(type.name) block \(b) differs: \(Array(actual[range])) vs \(Array(expected[range]))", file: file, line: line)
                    return
                }
            }
        }
        // Large inputs are split over threads: the same bytes as the same values in one piece.
        let many = Array(repeating: values, count: 64).flatMap { $0 }
        XCTAssertEqual(try GGMLQuantizer.quantize(many, type: type), Array(repeating: Array(expected), count: 64).flatMap { $0 },
                       type.name, file: file, line: line)
    }

    func testQ8_0() throws { try check(.q8_0) }
    func testQ4_0() throws { try check(.q4_0) }
    func testQ4_1() throws { try check(.q4_1) }
    func testQ5_0() throws { try check(.q5_0) }
    func testQ5_1() throws { try check(.q5_1) }
    func testF16() throws { try check(.f16) }
    func testBF16() throws { try check(.bf16) }

    func testRoundTripsThroughTheDequantizer() throws {
        let values = try input()
        let f32 = try GGMLQuantizer.quantize(values, type: .f32)
        XCTAssertEqual(try f32.withUnsafeBytes { try GGMLDequantizer.dequantize($0, type: .f32, count: values.count) }, values)
        // q8_0 of the first (random normal) block is within half a step of each value.
        let first = Array(values[0..<32])
        let q = try GGMLQuantizer.quantize(first, type: .q8_0)
        let back = try q.withUnsafeBytes { try GGMLDequantizer.dequantize($0, type: .q8_0, count: 32) }
        let step = first.map(abs).max()! / 127
        for (a, b) in zip(first, back) { XCTAssertLessThanOrEqual(abs(a - b), step * 0.5 + 1e-3) }
    }

    /// The k-quants decode (with Tailor's dequantizer, checked against gguf-py) close to what they encoded.
    func testKQuantsDecodeClose() throws {
        var rng = SplitMix64(state: 19)
        let values = (0..<1024).map { _ in Float(rng.nextDouble() * 2 - 1) }
        for (type, tolerance) in [(GGMLType.q4_K, Float(0.08)), (.q5_K, 0.05), (.q6_K, 0.02), (.q3_K, 0.3), (.q2_K, 0.45)] {
            let bytes = try GGMLQuantizer.quantize(values, type: type)
            XCTAssertEqual(bytes.count, type.byteCount(elements: 1024))
            let back = try bytes.withUnsafeBytes { try GGMLDequantizer.dequantize($0, type: type, count: 1024) }
            let worst = zip(values, back).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThan(worst, tolerance, type.name)
        }
        let zeros = try GGMLQuantizer.quantize([Float](repeating: 0, count: 256), type: .q6_K)
        XCTAssertEqual(zeros, [UInt8](repeating: 0, count: 210))
        XCTAssertEqual(try GGMLQuantizer.quantize([Float](repeating: 0, count: 256), type: .q2_K), [UInt8](repeating: 0, count: 84))
        XCTAssertEqual(try GGMLQuantizer.quantize([Float](repeating: 0, count: 256), type: .q3_K), [UInt8](repeating: 0, count: 110))
        // Non-finite input does not trap.
        for type in [GGMLType.q2_K, .q3_K] {
            _ = try GGMLQuantizer.quantize([Float](repeating: .nan, count: 256) + [Float](repeating: .infinity, count: 256), type: type)
        }
    }

    func testRefusals() throws {
        // (Q3_K was the example before Tailor wrote it; IQ4_NL is still not written.)
        guard case .unsupportedConversion(_, "w", "F32", "IQ4_NL")? = expectFormatError({ try GGMLQuantizer.quantize([Float](repeating: 0, count: 256), type: .iq4_NL, tensor: "w") })
        else { return XCTFail() }
        guard case .invalidShape? = expectFormatError({ try GGMLQuantizer.quantize([Float](repeating: 0, count: 31), type: .q8_0) })
        else { return XCTFail() }
        // Non-finite input does not trap.
        _ = try GGMLQuantizer.quantize([Float](repeating: .nan, count: 32) + [Float](repeating: .infinity, count: 32), type: .q8_0)
    }
}

/// Q2_K ... Q6_K against llama.cpp's own quantizer: the bytes `llama_cpp.llama_model_quantize` wrote for a tiny
/// f32 model (scripts/reference/make_gguf_kquant_fixtures.py; rows of 256, edge rows in attn_k).
final class GGMLKQuantLlamaCppTests: XCTestCase {
    struct Meta: Decodable { var shapes: [String: [Int]]; var types: [String: [String: String]] }

    func testBytesEqualLlamaQuantize() throws {
        XCTAssertEqual(try compare(presets: ["q4_k_s", "q5_k_s", "q6_k"]), ["Q4_K", "Q5_K", "Q6_K"])
    }

    /// Q2_K and Q3_K (`quantize_row_q2_K_ref`, `make_q3_quants`): the q2_k and q3_k_s presets' tensors.
    func testLowBitBytesEqualLlamaQuantize() throws {
        XCTAssertEqual(try compare(presets: ["q2_k", "q3_k_s"]), ["Q2_K", "Q3_K", "Q4_K", "Q6_K"])
    }

    /// Compares every committed tensor of `presets` with llama.cpp's bytes; the types compared.
    private func compare(presets: [String], file: StaticString = #filePath, line: UInt = #line) throws -> Set<String> {
        let folder = TestPaths.fixture("formats/gguf/kquant")
        let meta = try JSONDecoder().decode(Meta.self, from: Data(contentsOf: TestPaths.fixture("formats/gguf/kquant.json")))
        var compared = Set<String>()
        for preset in presets {
            for (tensor, shape) in meta.shapes.sorted(by: { $0.key < $1.key }) {
                let typeName = try XCTUnwrap(meta.types[preset]?[tensor])
                let type = try XCTUnwrap(GGMLType(name: typeName))
                let raw = try Data(contentsOf: folder.appendingPathComponent("\(tensor).f16"))
                let values = raw.withUnsafeBytes { r in
                    (0..<(raw.count / 2)).map { HalfPrecision.f16ToFloat(UInt16(littleEndian: r.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self))) }
                }
                XCTAssertEqual(values.count, shape.reduce(1, *), file: file, line: line)
                let expected = [UInt8](try Data(contentsOf: folder.appendingPathComponent("\(preset)-\(tensor).bin")))
                let actual = try GGMLQuantizer.quantize(values, type: type)
                guard let blockBytes = type.typeSize, actual.count == expected.count else {
                    XCTFail("\(preset) \(tensor) \(typeName): \(actual.count) bytes, llama.cpp \(expected.count)", file: file, line: line)
                    continue
                }
                let differing = (0..<(expected.count / blockBytes)).filter {
                    actual[($0 * blockBytes)..<(($0 + 1) * blockBytes)] != expected[($0 * blockBytes)..<(($0 + 1) * blockBytes)]
                }
                XCTAssertEqual(differing, [], "\(preset) \(tensor) \(typeName): blocks differ from llama.cpp's", file: file, line: line)
                compared.insert(typeName)
            }
        }
        return compared
    }
}
