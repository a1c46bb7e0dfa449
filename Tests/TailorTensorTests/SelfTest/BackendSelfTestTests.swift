import TailorTensor
import XCTest

/// `tailor selftest --device cpu` in CI: every op check passes for the fast CPU kernels, and the
/// comparison fails values outside a tolerance and names where.
final class BackendSelfTestTests: XCTestCase {
    func testEveryOpCheckPassesForTheFastCPUKernels() throws {
        let suite = BackendSelfTest(candidate: try CPUBackend(kernels: .fast), reference: try CPUBackend(kernels: .reference),
                                    checks: BackendSelfTest.opChecks())
        XCTAssertGreaterThan(suite.checks.count, 25)
        for result in suite.run() {
            XCTAssertTrue(result.passed, "\(result)")
        }
    }

    func testValuesOutsideTheToleranceFailAndAreNamed() throws {
        let cpu = try CPUBackend(kernels: .reference), fast = try CPUBackend(kernels: .fast)
        // The candidate's values are off by 1e-3: outside f32's tolerance for values near 1.
        let off = BackendSelfTest.Check("off by 1e-3", tolerance: .f32) { b in
            b.name == "cpu-reference" ? [1, 2, 3] : [1.001, 2.001, 3.001]
        }
        let tooFar = BackendSelfTest(candidate: fast, reference: cpu, checks: [off]).run()
        XCTAssertFalse(tooFar[0].passed)
        XCTAssertTrue(tooFar[0].detail.contains("3 of 3 values outside"), tooFar[0].detail)
        let silent = BackendSelfTest.Check("must throw", throwsNaming: "ids[0]") { _ in }
        XCTAssertFalse(BackendSelfTest(candidate: cpu, reference: cpu, checks: [silent]).run()[0].passed)
    }
}
