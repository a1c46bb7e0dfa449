/// Conversions between `Float` and the 16-bit float formats, bit-exact with PyTorch.
///
/// bfloat16 is the upper half of an IEEE float32; narrowing rounds to nearest, ties to even,
/// and keeps NaN a (quiet) NaN. float16 uses the hardware/stdlib `Float16` conversion.
public enum HalfPrecision {
    /// Widens a bfloat16 bit pattern to `Float` (exact).
    @inlinable
    public static func bf16ToFloat(_ bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)  // allowed: UInt16 widens
    }

    /// Narrows a `Float` to a bfloat16 bit pattern, rounding to nearest even.
    @inlinable
    public static func floatToBF16(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN { return UInt16(truncatingIfNeeded: (bits >> 16) | 0x0040) }
        let lsb = (bits >> 16) & 1
        let rounded = bits &+ 0x7FFF &+ lsb
        return UInt16(truncatingIfNeeded: rounded >> 16)
    }

    /// `floatToBF16` of `count` values: the same bits (nearest even, NaN kept quiet), written
    /// without a branch so the compiler vectorizes the loop.
    public static func floatsToBF16(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<UInt16>, count: Int) {
        let bits = UnsafeRawPointer(x).assumingMemoryBound(to: UInt32.self)
        for i in 0..<count {
            let b = bits[i]
            let rounded = (b &+ 0x7FFF &+ ((b &>> 16) & 1)) &>> 16
            let quietNaN = (b &>> 16) | 0x0040
            out[i] = UInt16(truncatingIfNeeded: (b & 0x7FFF_FFFF) > 0x7F80_0000 ? quietNaN : rounded)
        }
    }

    /// Widens an IEEE half bit pattern to `Float` (exact).
    @inlinable
    public static func f16ToFloat(_ bits: UInt16) -> Float {
        Float(Float16(bitPattern: bits))
    }

    /// Narrows a `Float` to an IEEE half bit pattern, rounding to nearest even.
    @inlinable
    public static func floatToF16(_ value: Float) -> UInt16 {
        Float16(value).bitPattern
    }
}
