import Foundation

/// A small seeded generator (SplitMix64) so test inputs are the same on every machine.
public struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// `count` floats uniform in [-scale, scale).
    public mutating func floats(_ count: Int, scale: Float = 1) -> [Float] {
        (0..<count).map { _ in Float.random(in: -scale..<scale, using: &self) }
    }

    /// `count` ints uniform in `range`.
    public mutating func ints(_ count: Int, in range: Range<Int32>) -> [Int32] {
        (0..<count).map { _ in Int32.random(in: range, using: &self) }
    }
}

extension SeededRandom {
    /// The seed of a randomized test: `TAILOR_TEST_SEED` when set (to repeat a run a failure
    /// reported), else `fallback`, so every run in CI draws the same inputs.
    public static func testSeed(_ fallback: UInt64) -> UInt64 {
        guard let text = ProcessInfo.processInfo.environment["TAILOR_TEST_SEED"] else { return fallback }
        guard let seed = UInt64(text) else {
            print("TAILOR_TEST_SEED=\(text) is not an unsigned 64-bit integer; using the test's own seed \(fallback)")
            return fallback
        }
        return seed
    }
}
