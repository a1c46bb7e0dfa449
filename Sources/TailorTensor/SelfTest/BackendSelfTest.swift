/// Every Backend op, forward and backward, on a backend under test against the CPU reference
/// kernels, on random inputs of awkward shapes (odd sizes, SIMD and tile tails, packed sequences,
/// grouped-query heads), in the manner of ggml's test-backend-ops. It ships in the binary as
/// `tailor selftest` because the GPU machines have no Swift toolchain to run XCTest.
///
/// A check passes when every value satisfies |Δ| ≤ atol + rtol·|ref| (its stated tolerance), or,
/// for an error check, when the candidate throws an error whose text names the bad operand.
public struct BackendSelfTest {
    /// |Δ| ≤ atol + rtol·|ref|.
    public struct Tolerance: Sendable, Equatable, CustomStringConvertible {
        public var atol: Float
        public var rtol: Float
        public init(atol: Float, rtol: Float) { (self.atol, self.rtol) = (atol, rtol) }
        /// f32 arithmetic in another summation order than the reference's double accumulation.
        public static let f32 = Tolerance(atol: 1e-5, rtol: 1e-4)
        /// Bit-identical (integer-valued or hash-based results).
        public static let exact = Tolerance(atol: 0, rtol: 0)
        /// A product of K terms whose inputs were rounded to bf16 (8-bit significand): inputs in
        /// [-1, 1), so each rounded product errs by at most ~2⁻⁸ and their sum by ~2⁻⁸·√K·(1/3) typically.
        public static func bf16Inputs(k: Int) -> Tolerance {
            Tolerance(atol: 4e-3 * Float(k).squareRoot(), rtol: 1e-2)
        }
        public var description: String { "atol \(atol), rtol \(rtol)" }
    }

    public struct Check {
        enum Body {
            /// Computes the compared values on a backend (inputs from a generator seeded by the check).
            case values((any Backend) throws -> [Float])
            /// Runs on the candidate only and must throw an error whose text contains `naming`.
            case error(naming: String, (any Backend) throws -> Void)
        }

        public let name: String
        public let tolerance: Tolerance
        let body: Body

        public init(_ name: String, tolerance: Tolerance = .f32, _ compute: @escaping (any Backend) throws -> [Float]) {
            (self.name, self.tolerance, self.body) = (name, tolerance, .values(compute))
        }

        public init(_ name: String, throwsNaming expectedError: String, _ failing: @escaping (any Backend) throws -> Void) {
            (self.name, self.tolerance, self.body) = (name, .exact, .error(naming: expectedError, failing))
        }
    }

    public struct Result: Sendable, CustomStringConvertible {
        public let name: String
        public let passed: Bool
        /// The largest |Δ| / (atol + rtol·|ref|) over the values (≤ 1 passes), for value checks.
        public let worstRatio: Double
        public let detail: String
        public var description: String { "\(passed ? "PASS" : "FAIL")  \(name)  \(detail)" }
    }

    public let candidate: any Backend
    public let reference: any Backend
    public var checks: [Check]

    public init(candidate: any Backend, reference: any Backend, checks: [Check]) {
        (self.candidate, self.reference, self.checks) = (candidate, reference, checks)
    }

    /// Runs every check, reporting each result as it finishes.
    @discardableResult
    public func run(report: (Result) -> Void = { _ in }) -> [Result] {
        checks.map { check in
            let result = run(check)
            report(result)
            return result
        }
    }

    public func run(_ check: Check) -> Result {
        let compute: (any Backend) throws -> [Float]
        switch check.body {
        case let .error(expected, failing):
            do {
                try failing(candidate)
                return Result(name: check.name, passed: false, worstRatio: .infinity, detail: "did not throw (expected an error naming \(expected))")
            } catch {
                let text = "\(error)"
                let named = text.contains(expected)
                return Result(name: check.name, passed: named, worstRatio: 0,
                              detail: named ? "threw: \(text)" : "threw without naming \(expected): \(text)")
            }
        case let .values(body):
            compute = body
        }
        let expected: [Float], actual: [Float]
        do { expected = try compute(reference) } catch {
            return Result(name: check.name, passed: false, worstRatio: .infinity, detail: "reference threw: \(error)")
        }
        do { actual = try compute(candidate) } catch {
            return Result(name: check.name, passed: false, worstRatio: .infinity, detail: "threw: \(error)")
        }
        return Self.compare(check.name, actual, expected, check.tolerance)
    }

    static func compare(_ name: String, _ actual: [Float], _ expected: [Float], _ tolerance: Tolerance) -> Result {
        guard actual.count == expected.count else {
            return Result(name: name, passed: false, worstRatio: .infinity, detail: "\(actual.count) values, expected \(expected.count)")
        }
        var worst = 0.0, worstIndex = -1, failures = 0
        for i in 0..<expected.count {
            let delta = Double(abs(actual[i] - expected[i]))
            let allowed = Double(tolerance.atol) + Double(tolerance.rtol) * Double(abs(expected[i]))
            let bothNaN = actual[i].isNaN && expected[i].isNaN
            let ratio = bothNaN || actual[i] == expected[i] ? 0 : (delta.isNaN ? .infinity : allowed == 0 ? .infinity : delta / allowed)
            if ratio > 1 { failures += 1 }
            if ratio > worst || worstIndex < 0 { (worst, worstIndex) = (ratio, i) }
        }
        let at = worstIndex >= 0 ? " at [\(worstIndex)]: \(actual[worstIndex]) vs \(expected[worstIndex])" : ""
        let detail = failures == 0
            ? "\(expected.count) values, worst |Δ| at \(format3(worst)) of the allowed (\(tolerance))"
            : "\(failures) of \(expected.count) values outside \(tolerance); worst\(at)"
        return Result(name: name, passed: failures == 0, worstRatio: worst, detail: detail)
    }
}

/// Rounded to three decimals, without Foundation.
func format3(_ value: Double) -> String {
    guard value.isFinite else { return "\(value)" }
    let scaled = (value * 1000).rounded() / 1000
    return "\(scaled)"
}
