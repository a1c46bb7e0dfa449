import XCTest

/// Summary of how far `actual` is from `expected`.
public struct Closeness: CustomStringConvertible {
    public var maxAbsError: Float = 0
    public var maxRelError: Float = 0
    public var worstIndex: Int = -1
    public var worstActual: Float = 0
    public var worstExpected: Float = 0

    public var description: String {
        "max |Δ| \(maxAbsError), max rel \(maxRelError), worst at [\(worstIndex)]: \(worstActual) vs \(worstExpected)"
    }
}

/// Asserts |actual - expected| <= atol + rtol * |expected| elementwise (numpy's `allclose`).
public func assertClose(
    _ actual: [Float], _ expected: [Float], rtol: Float = 1e-5, atol: Float = 1e-6,
    _ message: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line
) {
    guard actual.count == expected.count else {
        XCTFail("count \(actual.count) != expected \(expected.count) \(message())", file: file, line: line)
        return
    }
    var summary = Closeness()
    var worstExcess: Float = 0
    var failures = 0
    for i in 0..<actual.count {
        let a = actual[i], e = expected[i]
        if a.isNaN || e.isNaN {
            if a.isNaN != e.isNaN { failures += 1; summary.worstIndex = i; summary.worstActual = a; summary.worstExpected = e; worstExcess = .infinity }
            continue
        }
        let diff = abs(a - e)
        summary.maxAbsError = max(summary.maxAbsError, diff)
        if e != 0 { summary.maxRelError = max(summary.maxRelError, diff / abs(e)) }
        let excess = diff - (atol + rtol * abs(e))
        if excess > 0 {
            failures += 1
            if excess > worstExcess {
                worstExcess = excess
                summary.worstIndex = i; summary.worstActual = a; summary.worstExpected = e
            }
        }
    }
    if failures > 0 {
        XCTFail("\(failures)/\(actual.count) elements outside rtol \(rtol) atol \(atol): \(summary) \(message())",
                file: file, line: line)
    }
}

/// Maximum relative error measured against the largest magnitude in `expected`
/// (a norm-wise relative error, robust where elements cross zero).
public func relativeError(_ actual: [Float], _ expected: [Float]) -> Float {
    precondition(actual.count == expected.count)
    var maxDiff: Float = 0, maxRef: Float = 0
    for i in 0..<actual.count {
        maxDiff = max(maxDiff, abs(actual[i] - expected[i]))
        maxRef = max(maxRef, abs(expected[i]))
    }
    return maxRef == 0 ? maxDiff : maxDiff / maxRef
}
