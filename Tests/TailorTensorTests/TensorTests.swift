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

    func testUploadAliasesHostBytesWithOwner() throws {
        let cpu = try CPUBackend()
        final class Owner { let bytes: [Float] = [1, 2, 3, 4] }
        let owner = Owner()
        let tensor = try owner.bytes.withUnsafeBytes { try cpu.upload(bytes: $0, shape: [2, 2], dtype: .f32, owner: owner) }
        XCTAssertEqual(try cpu.download(tensor), [1, 2, 3, 4])
    }
}
