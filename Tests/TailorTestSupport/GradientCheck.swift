import XCTest

/// Finite-difference gradient checks.
public enum GradientCheck {
    /// Compares `analytic` (∂loss/∂input) with central differences of `loss` at up to
    /// `samples` coordinates of `input` (all of them when the input is small).
    ///
    /// `loss` must compute a scalar from a perturbed copy of the input, in `Double` where it can,
    /// so the difference quotient is not swamped by rounding. Passes when
    /// |analytic − numeric| ≤ atol + rtol · max(|numeric|, |analytic|) at every checked coordinate.
    public static func check(
        _ name: String, input: [Float], analytic: [Float], step: Float = 1e-2,
        rtol: Double = 2e-2, atol: Double = 1e-3, samples: Int = 64, seed: UInt64 = 7,
        file: StaticString = #filePath, line: UInt = #line,
        loss: ([Float]) throws -> Double
    ) rethrows {
        XCTAssertEqual(input.count, analytic.count, "\(name): gradient count", file: file, line: line)
        var rng = SeededRandom(seed: seed)
        let indices = input.count <= samples
            ? Array(0..<input.count)
            : (0..<samples).map { _ in Int.random(in: 0..<input.count, using: &rng) }
        var worst = 0.0
        var failures: [String] = []
        for i in indices {
            var plus = input, minus = input
            plus[i] += step
            minus[i] -= step
            let numeric = (try loss(plus) - loss(minus)) / (Double(plus[i]) - Double(minus[i]))
            let exact = Double(analytic[i])
            let diff = abs(numeric - exact)
            worst = max(worst, diff)
            if diff > atol + rtol * max(abs(numeric), abs(exact)) {
                failures.append("[\(i)] analytic \(exact) numeric \(numeric)")
            }
        }
        if !failures.isEmpty {
            XCTFail("\(name): \(failures.count)/\(indices.count) coordinates differ: \(failures.prefix(5).joined(separator: "; "))",
                    file: file, line: line)
        }
    }
}
