import TailorCUDA
import TailorTensor
import TailorTestSupport
import XCTest

/// The host emulator itself: barriers, shuffles and its reports of synchronisation bugs, so a
/// kernel that passes on it is not passing by accident.
final class EmulatorTests: XCTestCase {
    func testRMSNormWithShufflesAndBarriersMatchesTheReference() throws {
        let backends = try EmulatedBackends()
        var rng = SeededRandom(seed: 7)
        let (rows, cols) = (5, 203)
        let x = rng.floats(rows * cols), w = rng.floats(cols)
        func run(_ b: Backend) throws -> [Float] {
            let out = try b.empty([rows, cols], dtype: .f32), rstd = try b.empty([rows], dtype: .f32)
            try b.rmsNormForward(b.upload(x, shape: [rows, cols], dtype: .f32), weight: b.upload(w, shape: [cols], dtype: .f32),
                                 eps: 1e-6, into: out, rstd: rstd)
            return try b.download(out) + b.download(rstd)
        }
        assertClose(try run(backends.cuda), try run(backends.reference), rtol: 1e-5, atol: 1e-6)
    }

    func testDivergentSyncIsReported() throws {
        let source = KernelSource(name: "divergent", entries: ["tailor_test_divergent"], code: #"""
        extern "C" __global__ void tailor_test_divergent(float *x) {
            if (threadIdx.x < 16) __syncthreads();
            else x[threadIdx.x] = __shfl_xor_sync(0xffffffffu, 1.0f, 1);
        }
        """#)
        let device = try emulator(for: source)
        let memory = try device.allocate(byteCount: 256)
        defer { device.free(memory) }
        XCTAssertThrowsError(try device.launch("tailor_test_divergent", grid: LaunchSize(1), block: LaunchSize(32), sharedBytes: 0,
                                               [.pointer(memory)])) { error in
            XCTAssertTrue("\(error)".contains("divergent synchronisation"), "\(error)")
        }
    }

    func testShuffleFromAnExitedLaneIsReported() throws {
        let source = KernelSource(name: "exited", entries: ["tailor_test_exited"], code: #"""
        extern "C" __global__ void tailor_test_exited(float *x, int n) {
            if ((int)threadIdx.x >= n) return;
            x[threadIdx.x] = warp_sum(1.0f);
        }
        """#)
        let device = try emulator(for: source)
        let memory = try device.allocate(byteCount: 256)
        defer { device.free(memory) }
        try device.launch("tailor_test_exited", grid: LaunchSize(1), block: LaunchSize(32), sharedBytes: 0, [.pointer(memory), .int32(32)])
        var sums = [Float](repeating: 0, count: 32)
        try sums.withUnsafeMutableBytes { try device.copyToHost($0.baseAddress!, from: memory, byteCount: 128) }
        XCTAssertEqual(sums, [Float](repeating: 32, count: 32))
        XCTAssertThrowsError(try device.launch("tailor_test_exited", grid: LaunchSize(1), block: LaunchSize(32), sharedBytes: 0,
                                               [.pointer(memory), .int32(20)])) { error in
            XCTAssertTrue("\(error)".contains("exited"), "\(error)")
        }
    }

    private func emulator(for source: KernelSource) throws -> EmulatedDevice {
        guard EmulatedDevice.findCompiler() != nil else { throw XCTSkip("skipped: no clang++ on PATH") }
        return try EmulatedDevice(sources: [source])
    }
}
