import TailorTensor
import XCTest

final class TensorTests: XCTestCase {
    func testViewsShareStorage() throws {
        let cpu = try CPUBackend(kernels: .reference)
        let t = try cpu.upload((0..<12).map(Float.init), shape: [4, 3], dtype: .f32)
        let rows = t.rows(1..<3)
        XCTAssertEqual(rows.shape, [2, 3])
        XCTAssertEqual(try cpu.download(rows), [3, 4, 5, 6, 7, 8])
        try cpu.fill(rows, value: -1)
        XCTAssertEqual(try cpu.download(t.reshaped([12]))[3..<9].allSatisfy { $0 == -1 }, true)
        XCTAssertTrue(rows.overlaps(t))
        XCTAssertFalse(t.rows(0..<1).overlaps(t.rows(1..<2)))
    }

    func testHalfPrecisionRoundTripsLikePyTorch() {
        // torch.tensor([1.0, 3.140625, 1/3, 65504, 1e-8], dtype=torch.bfloat16).view(torch.int16)
        XCTAssertEqual(HalfPrecision.floatToBF16(1.0), 0x3F80)
        XCTAssertEqual(HalfPrecision.floatToBF16(1.0 / 3.0), 0x3EAB)  // round to nearest even
        XCTAssertEqual(HalfPrecision.bf16ToFloat(0x3EAB), 0.333984375)
        XCTAssertTrue(HalfPrecision.bf16ToFloat(HalfPrecision.floatToBF16(.nan)).isNaN)
        XCTAssertEqual(HalfPrecision.floatToF16(65504), 0x7BFF)
        XCTAssertEqual(HalfPrecision.f16ToFloat(0x3C00), 1)
    }

    /// The eight-wide narrowing gives floatToBF16's bits for every kind of value: ties (both
    /// parities), carries into the exponent, infinities, NaNs with payloads, subnormals, and
    /// random bit patterns, at every offset of the tail.
    func testVectorNarrowingEqualsTheScalarOne() {
        var patterns: [UInt32] = [0, 0x8000_0000, 0x3F80_0000, 0x3F80_8000, 0x3F81_8000, 0x3F80_7FFF, 0x3F80_8001, 0x7F7F_FFFF,
                                  0x7F80_0000, 0xFF80_0000, 0x7FC0_0000, 0x7F80_0001, 0xFFFF_FFFF, 0x7FFF_8000, 0x0000_8000, 0x0001_8000]
        var state: UInt64 = 7
        for _ in 0..<100_003 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            patterns.append(UInt32(truncatingIfNeeded: state >> 32))
        }
        let values = patterns.map { Float(bitPattern: $0) }
        var out = [UInt16](repeating: 0, count: values.count)
        values.withUnsafeBufferPointer { x in out.withUnsafeMutableBufferPointer { HalfPrecision.floatsToBF16(x.baseAddress!, $0.baseAddress!, count: x.count) } }
        for (index, value) in values.enumerated() where out[index] != HalfPrecision.floatToBF16(value) {
            XCTFail("element \(index) 0x\(String(patterns[index], radix: 16)): \(out[index]) vs \(HalfPrecision.floatToBF16(value))")
            break
        }
        XCTAssertEqual(out[3], 0x3F80, "a tie to even rounds down")
        XCTAssertEqual(out[4], 0x3F82, "a tie to odd rounds up")
        XCTAssertEqual(out[7], 0x7F80, "the largest float rounds to infinity")
        XCTAssertEqual(out[11], 0x7FC0, "a signalling NaN becomes a quiet one")
    }

    func testUploadAliasesHostBytesWithOwner() throws {
        let cpu = try CPUBackend()
        final class Owner { let bytes: [Float] = [1, 2, 3, 4] }
        let owner = Owner()
        let tensor = try owner.bytes.withUnsafeBytes { try cpu.upload(bytes: $0, shape: [2, 2], dtype: .f32, owner: owner) }
        XCTAssertEqual(try cpu.download(tensor), [1, 2, 3, 4])
    }
}
