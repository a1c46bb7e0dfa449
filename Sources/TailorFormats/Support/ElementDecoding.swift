import TailorTensor

/// Widening little-endian element buffers to `Float` (shared by safetensors and GGUF).
///
/// The buffers come straight from memory-mapped files and need not be aligned, so every read is an
/// unaligned load. The host is assumed little-endian (x86-64, arm64), as the files are.
enum ElementDecoding {
    /// Reads `count` values of `T` and maps each to `Float`.
    @inline(__always)
    static func widen<T: FixedWidthInteger>(
        _ bytes: UnsafeRawBufferPointer, count: Int, as: T.Type, _ transform: (T) -> Float
    ) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { out, initialized in
            for i in 0..<count {
                out[i] = transform(bytes.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self))
            }
            initialized = count
        }
    }

    static func f32(_ bytes: UnsafeRawBufferPointer, count: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { out, initialized in
            if count > 0, let base = bytes.baseAddress, let dst = out.baseAddress {
                UnsafeMutableRawPointer(dst).copyMemory(from: base, byteCount: count * 4)
            }
            initialized = count
        }
    }

    static func f16(_ bytes: UnsafeRawBufferPointer, count: Int) -> [Float] {
        widen(bytes, count: count, as: UInt16.self, HalfPrecision.f16ToFloat)
    }

    static func bf16(_ bytes: UnsafeRawBufferPointer, count: Int) -> [Float] {
        widen(bytes, count: count, as: UInt16.self, HalfPrecision.bf16ToFloat)
    }

    static func f64(_ bytes: UnsafeRawBufferPointer, count: Int) -> [Float] {
        widen(bytes, count: count, as: UInt64.self) { Float(Double(bitPattern: $0)) }
    }

    /// float8 E5M2: the upper byte of an IEEE half.
    static func f8E5M2ToFloat(_ byte: UInt8) -> Float {
        HalfPrecision.f16ToFloat(UInt16(byte) << 8)  // allowed: a UInt8 widens
    }

    /// float8 E4M3FN (PyTorch `float8_e4m3fn`): bias 7, no infinities, S.1111.111 is NaN.
    static func f8E4M3ToFloat(_ byte: UInt8) -> Float {
        let sign: Float = byte & 0x80 != 0 ? -1 : 1
        let exponent = Int((byte >> 3) & 0x0F)  // allowed: a UInt8 widens
        let mantissa = Float(byte & 0x07)
        if exponent == 0x0F && byte & 0x07 == 0x07 { return .nan }
        if exponent == 0 { return sign * mantissa * 0x1p-9 }
        return sign * (1 + mantissa / 8) * Float(sign: .plus, exponent: exponent - 7, significand: 1)
    }

    /// float8 E8M0 (PyTorch `float8_e8m0fnu`): a power of two 2^(byte - 127); 0xFF is NaN.
    static func f8E8M0ToFloat(_ byte: UInt8) -> Float {
        if byte == 0xFF { return .nan }
        if byte == 0 { return 0x1p-127 }
        return Float(bitPattern: UInt32(byte) << 23)  // allowed: a UInt8 widens
    }
}
