import TailorCUDA
import TailorInference
import TailorTensor
import XCTest

/// `tailor selftest --device cuda`'s op checks, run here on the host emulator: the CUDA
/// backend's kernels and their launches equal the CPU reference in both matmul modes.
final class CUDASelfTestTests: XCTestCase {
    func testEveryOpCheckPassesInFP32Mode() throws {
        let backends = try EmulatedBackends(matmul: .fp32)
        let suite = BackendSelfTest(candidate: backends.cuda, reference: backends.reference, checks: BackendSelfTest.opChecks())
        for result in suite.run() { XCTAssertTrue(result.passed, "\(result)") }
    }

    func testHalfWeightProductsPassTheirToleranceInBF16Mode() throws {
        let backends = try EmulatedBackends(matmul: .halfInputs)
        let checks = BackendSelfTest.halfInputProductChecks()
        XCTAssertEqual(checks.count, 39, "36 gemm (4 shapes) and 2 gemmBatched products, and the gemm operand-error check")
        for result in BackendSelfTest(candidate: backends.cuda, reference: backends.reference, checks: checks).run() {
            XCTAssertTrue(result.passed, "\(result)")
        }
    }

    func testTheAllocatorReusesFreedBlocksAndReportsThePeak() throws {
        let backends = try EmulatedBackends()
        let allocator = backends.cuda.allocator
        allocator.resetPeaks()
        let before = allocator.allocatedBytes
        do {
            let small = try backends.cuda.empty([1000], dtype: .f32), large = try backends.cuda.empty([3000], dtype: .f32)
            withExtendedLifetime((small, large)) {}
        }
        XCTAssertEqual(allocator.allocatedBytes, before)
        XCTAssertEqual(allocator.peakAllocatedBytes - before, 4096 + 12288)
        let reserved = allocator.reservedBytes
        _ = try backends.cuda.empty([1000], dtype: .f32)  // served from the cache
        XCTAssertEqual(allocator.reservedBytes, reserved)
        XCTAssertEqual(DeviceAllocator.roundedSize(1), 512)
        XCTAssertEqual(DeviceAllocator.roundedSize((1 << 20) + 1), (1 << 20) + (128 << 10))
        XCTAssertEqual(DeviceAllocator.roundedSize(100 << 20), 100 << 20)
    }
}

/// The tiny-model checks of `tailor selftest --device cuda` on the emulated device: logits,
/// LoRA gradients and greedy tokens equal the CPU reference's.
final class CUDAModelSelfTestTests: XCTestCase {
    func testTinyModelsMatchTheCPUReference() throws {
        let backends = try EmulatedBackends(matmul: .fp32)
        let suite = BackendSelfTest(candidate: backends.cuda, reference: backends.reference, checks: ModelSelfTest.checks())
        for result in suite.run() { XCTAssertTrue(result.passed, "\(result)") }
    }
}
