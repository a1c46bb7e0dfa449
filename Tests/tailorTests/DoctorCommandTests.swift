import Foundation
import TailorTensor
import TailorTestSupport
import XCTest

/// `tailor doctor`, and every BLAS kernel family this CPU can run forced one by one
/// (TAILOR_BLAS_CORETYPE, read once when OpenBLAS loads, so each is a process of its own).
final class DoctorCommandTests: XCTestCase {
    func binary() throws -> URL {
        guard let binary = TestPaths.tailorBinary else { throw XCTSkip("the tailor executable is not built beside the tests") }
        return binary
    }

    /// The output with runs of spaces (the aligned columns) as one, lowercased.
    func squeezed(_ text: String) -> String {
        text.lowercased().split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
    }

    /// OpenBLAS cores this CPU runs, widest first; Prescott (SSE3) runs on every x86-64.
    static var runnableCores: [String] {
        let cpu = CPUFeatures.current
        guard cpu.isX86 else { return [] }
        return [cpu.avx512 ? "SkylakeX" : nil, cpu.avx2 && cpu.fma ? "Haswell" : nil, cpu.avx ? "SandyBridge" : nil, "Prescott"].compactMap { $0 }
    }

    func testDoctorNamesTheCPUAndTheChosenPath() throws {
        let (status, output) = try TestPaths.run(try binary(), ["doctor", "--no-measure"], environment: ["TAILOR_BLAS_CORETYPE": "auto"])
        XCTAssertEqual(status, 0, output)
        let info = try CPUBackend.blas.get()
        XCTAssertTrue(output.contains("cpu:"), output)
        XCTAssertTrue(output.contains(CPUFeatures.current.summary), output)
        if let expected = Self.runnableCores.first {
            XCTAssertTrue(output.contains("blas core:"), output)
            XCTAssertTrue(squeezed(output).contains("blas core: \(expected.lowercased()): cpuid: "), output)
        }
        XCTAssertTrue(output.contains("blas library:") && output.contains(info.library), output)
        switch BF16ProductInfo.load() {
        case let .success(info): XCTAssertTrue(output.contains("bf16:") && output.contains("bf16 products on \(info.summary)"), output)
        case let .failure(why): XCTAssertTrue(output.contains("bf16:") && output.contains("fp32 products (\(why.reason))"), output)
        }
        XCTAssertTrue(output.contains("cuda:"), output)
    }

    /// The fast kernels equal the reference on every kernel family the CPU can run.
    func testEveryRunnableCoreMatchesTheReference() throws {
        let binary = try binary()
        XCTAssertFalse(Self.runnableCores.isEmpty)
        for core in Self.runnableCores {
            let (status, output) = try TestPaths.run(binary, ["selftest", "--device", "cpu", "--ops-only"], environment: ["TAILOR_BLAS_CORETYPE": core])
            XCTAssertEqual(status, 0, "\(core):\n\(output)")
            XCTAssertTrue(output.contains("selftest passed"), "\(core):\n\(output)")
            let doctor = try TestPaths.run(binary, ["doctor", "--no-measure"], environment: ["TAILOR_BLAS_CORETYPE": core]).output
            XCTAssertTrue(squeezed(doctor).contains("blas core: \(core.lowercased()): forced by tailor_blas_coretype"), doctor)
        }
    }

    func testACoreTheCPUCannotRunIsRefused() throws {
        guard CPUFeatures.current.isX86, !CPUFeatures.current.avx512 else { throw XCTSkip("this CPU runs every core Tailor names") }
        let (status, output) = try TestPaths.run(try binary(), ["selftest", "--device", "cpu", "--ops-only"], environment: ["TAILOR_BLAS_CORETYPE": "SkylakeX"])
        XCTAssertNotEqual(status, 0, output)
        XCTAssertTrue(output.contains("TAILOR_BLAS_CORETYPE=SkylakeX needs AVX-512 (F, BW, DQ, VL), which this CPU (or its OS) does not offer"), output)
    }

    /// Without oneDNN, `bf16` means fp32 products and doctor says why; the selftest then skips the
    /// bf16 mode, saying so. With it (this CPU has bf16 products), the selftest checks that mode.
    func testBF16ProductsFallBackWithoutOneDNN() throws {
        let binary = try binary()
        let missing = ["TAILOR_DNNL_LIBRARY": "/nonexistent/libdnnl.so.2"]
        let doctor = try TestPaths.run(binary, ["doctor", "--no-measure"], environment: missing)
        XCTAssertEqual(doctor.status, 0, doctor.output)
        XCTAssertTrue(doctor.output.contains("bf16:") && doctor.output.contains("fp32 products ("), doctor.output)
        let selftest = try TestPaths.run(binary, ["selftest", "--device", "cpu", "--ops-only"], environment: missing)
        XCTAssertEqual(selftest.status, 0, selftest.output)
        XCTAssertTrue(selftest.output.contains("cpu bf16 mode: not checked, bf16 products run in fp32 here"), selftest.output)
        let cpu = CPUFeatures.current
        if cpu.avx512BF16 || (cpu.amxBF16 && cpu.amxPermitted) {
            XCTAssertTrue(doctor.output.contains("oneDNN was not found (/nonexistent/libdnnl.so.2"), doctor.output)
            if case .success = BF16ProductInfo.load() {
                let granted = try TestPaths.run(binary, ["selftest", "--device", "cpu", "--ops-only"])
                XCTAssertEqual(granted.status, 0, granted.output)
                XCTAssertTrue(granted.output.contains("== cpu bf16 mode: products against the reference with rounded activations"), granted.output)
            }
        }
    }
}
