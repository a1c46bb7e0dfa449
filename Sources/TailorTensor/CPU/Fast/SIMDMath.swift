#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Vector helpers for the fast kernels. Eight lanes: two SSE registers on baseline x86-64, one
/// AVX register where the compiler may use it.
typealias Vec = SIMD8<Float>

extension UnsafePointer where Pointee == Float {
    @inline(__always) func vec(_ i: Int) -> Vec { UnsafeRawPointer(self + i).loadUnaligned(as: Vec.self) }
}

extension UnsafeMutablePointer where Pointee == Float {
    @inline(__always) func vec(_ i: Int) -> Vec { UnsafeRawPointer(self + i).loadUnaligned(as: Vec.self) }
    @inline(__always) func setVec(_ i: Int, _ v: Vec) { UnsafeMutableRawPointer(self + i).storeBytes(of: v, as: Vec.self) }
}

enum SIMDMath {
    /// e^x for eight lanes: range reduction x = n·ln2 + r, |r| ≤ ln2/2, then a degree-6
    /// polynomial (Cephes' expf coefficients, ~1 ulp), scaled by 2^n through the exponent bits.
    /// Written with plain lane-wise arithmetic, compares and bit casts so it vectorises on
    /// baseline x86-64: n is rounded by adding 1.5·2²³ and read back from the float's bits.
    @inline(__always)
    static func exp(_ x: Vec) -> Vec {
        let low = Vec(repeating: -87.33), high = Vec(repeating: 88.37)
        var v = x.replacing(with: low, where: x .< low)
        v = v.replacing(with: high, where: v .> high)
        let magic = Vec(repeating: 12_582_912)  // 1.5 · 2^23
        let shifted = v * 1.442_695_04 + magic
        let n = shifted - magic
        var r = v - n * 0.693_359_375
        r = r + n * 2.121_944_4e-4
        var p = Vec(repeating: 1.987_569_15e-4)
        p = p * r + 1.398_199_950_7e-3
        p = p * r + 8.333_451_907_3e-3
        p = p * r + 4.166_579_589_4e-2
        p = p * r + 1.666_666_545_9e-1
        p = p * r + 5.000_000_120_1e-1
        let y = p * (r * r) + r + 1
        let exponent = (unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000 &+ 127) &<< 23
        return y * unsafeBitCast(exponent, to: Vec.self)
    }

    /// Scalar e^x with the same polynomial, for loop tails (so results don't depend on where
    /// a row's tail starts).
    @inline(__always)
    static func exp(_ x: Float) -> Float {
        exp(Vec(repeating: x))[0]
    }

    /// Σ a[i]·b[i] over `count` floats.
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int) -> Float {
        var acc = Vec.zero
        var i = 0
        while i + 8 <= count { acc += a.vec(i) * b.vec(i); i += 8 }
        var sum = acc.sum()
        while i < count { sum += a[i] * b[i]; i += 1 }
        return sum
    }
}
