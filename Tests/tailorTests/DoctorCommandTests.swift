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
        XCTAssertTrue(output.contains("bf16:") && output.contains("fp32 products"), output)
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
}
