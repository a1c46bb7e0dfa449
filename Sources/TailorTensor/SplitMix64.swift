import Foundation

/// SplitMix64: the small seeded generator behind every reproducible random stream in Tailor
/// (random weights, adapter init, data order, dropout masks, sampling).
public struct SplitMix64: Sendable {
    public var state: UInt64

    public init(state: UInt64) { self.state = state }

    /// The next 64 random bits.
    @inline(__always)
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return Self.finalize(state)
    }

    /// Uniform in [0, 1) with 24 random bits.
    @inline(__always)
    public mutating func nextFloat() -> Float { Float(next() >> 40) * (1.0 / Float(1 << 24)) }

    /// Uniform in [0, 1) with 53 random bits.
    @inline(__always)
    public mutating func nextDouble() -> Double { Double(next() >> 11) * (1.0 / Double(1 << 53)) }

    /// Standard normal (mean 0, std 1), by Box–Muller from two uniform draws.
    public mutating func nextGaussian() -> Double {
        let u1 = 1 - nextDouble()  // (0, 1]: the logarithm stays finite
        let u2 = nextDouble()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }

    /// Element `index` of the stream that starts at `seed`, without stepping through the others
    /// (a counter-based draw: equal to the (index + 1)-th `next()` from `state: seed`).
    @inline(__always)
    public static func value(seed: UInt64, index: UInt64) -> UInt64 {
        finalize(seed &+ (index &+ 1) &* 0x9E37_79B9_7F4A_7C15)
    }

    @inline(__always)
    static func finalize(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
