import TailorTensor

/// Dequantization of ggml tensor data to `Float`.
///
/// Block layouts as in ggml (`ggml-common.h`) and the gguf Python package (`gguf/quants.py`); each type
/// computes in the same order of float32 operations as `gguf.quants.dequantize`, so results match it
/// bit for bit (the fixture tests check exact equality). Values come out in ggml order: innermost
/// dimension (`dims[0]`) fastest, which is row-major order of the reversed `shape`.
public enum GGMLDequantizer {
    /// Dequantizes `count` values of `type` from `bytes`.
    /// - Throws: `FormatError.unsupportedGGMLType` when the type cannot be dequantized;
    ///   `.byteCountMismatch` when `bytes` is not exactly the size of `count` values (or `count` is not a
    ///   whole number of blocks). Both name the pseudo-file `path` / `tensor` given.
    public static func dequantize(
        _ bytes: UnsafeRawBufferPointer, type: GGMLType, count: Int, path: String = "<memory>", tensor: String = ""
    ) throws -> [Float] {
        guard type.canDequantize else {
            throw FormatError.unsupportedGGMLType(path: path, tensor: tensor, type: type.name)
        }
        guard let expected = type.byteCount(elements: count), expected == bytes.count else {
            throw FormatError.byteCountMismatch(path: path, tensor: tensor, expected: type.byteCount(elements: count) ?? -1,
                                                actual: bytes.count)
        }
        return [Float](unsafeUninitializedCapacity: count) { out, initialized in
            if count > 0, let base = bytes.baseAddress, let y = out.baseAddress {
                decode(base.assumingMemoryBound(to: UInt8.self), type: type, count: count, into: y)
            }
            initialized = count
        }
    }

    /// Decodes `count` values; the caller has checked the type and the sizes.
    static func decode(_ x: UnsafePointer<UInt8>, type: GGMLType, count: Int, into y: UnsafeMutablePointer<Float>) {
        switch type {
        case .f32: UnsafeMutableRawPointer(y).copyMemory(from: x, byteCount: count * 4)
        case .f16: for i in 0..<count { y[i] = f16(x + 2 * i) }
        case .bf16: for i in 0..<count { y[i] = HalfPrecision.bf16ToFloat(u16(x + 2 * i)) }
        case .f64: for i in 0..<count { y[i] = Float(Double(bitPattern: u64(x + 8 * i))) }
        case .i8: for i in 0..<count { y[i] = Float(Int8(bitPattern: x[i])) }
        case .i16: for i in 0..<count { y[i] = Float(Int16(bitPattern: u16(x + 2 * i))) }
        case .i32: for i in 0..<count { y[i] = Float(Int32(bitPattern: u32(x + 4 * i))) }
        case .i64: for i in 0..<count { y[i] = Float(Int64(bitPattern: u64(x + 8 * i))) }
        case .q8_0: blocks(x, y, count: count, of: 32, bytes: 34, q8_0)
        case .q4_0: blocks(x, y, count: count, of: 32, bytes: 18, q4_0)
        case .q4_1: blocks(x, y, count: count, of: 32, bytes: 20, q4_1)
        case .q5_0: blocks(x, y, count: count, of: 32, bytes: 22, q5_0)
        case .q5_1: blocks(x, y, count: count, of: 32, bytes: 24, q5_1)
        case .q2_K: blocks(x, y, count: count, of: 256, bytes: 84, q2_K)
        case .q3_K: blocks(x, y, count: count, of: 256, bytes: 110, q3_K)
        case .q4_K: blocks(x, y, count: count, of: 256, bytes: 144, q4_K)
        case .q5_K: blocks(x, y, count: count, of: 256, bytes: 176, q5_K)
        case .q6_K: blocks(x, y, count: count, of: 256, bytes: 210, q6_K)
        default: for i in 0..<count { y[i] = .nan }  // unreachable: checked by canDequantize
        }
    }

    // MARK: - Helpers

    @inline(__always) static func u16(_ p: UnsafePointer<UInt8>) -> UInt16 { UInt16(p[0]) | UInt16(p[1]) << 8 }  // allowed: bytes and 4/5-bit quants widen; shift counts are loop indices below 32
    @inline(__always) static func u32(_ p: UnsafePointer<UInt8>) -> UInt32 {
        UInt32(p[0]) | UInt32(p[1]) << 8 | UInt32(p[2]) << 16 | UInt32(p[3]) << 24  // allowed: bytes and 4/5-bit quants widen; shift counts are loop indices below 32
    }
    @inline(__always) static func u64(_ p: UnsafePointer<UInt8>) -> UInt64 { UInt64(u32(p)) | UInt64(u32(p + 4)) << 32 }  // allowed: bytes and 4/5-bit quants widen; shift counts are loop indices below 32
    @inline(__always) static func f16(_ p: UnsafePointer<UInt8>) -> Float { HalfPrecision.f16ToFloat(u16(p)) }

    /// Runs `block` over each block: `x` advances by `bytes`, `y` by `of` values.
    @inline(__always)
    static func blocks(
        _ x: UnsafePointer<UInt8>, _ y: UnsafeMutablePointer<Float>, count: Int, of blockSize: Int, bytes: Int,
        _ block: (UnsafePointer<UInt8>, UnsafeMutablePointer<Float>) -> Void
    ) {
        for b in 0..<(count / blockSize) { block(x + b * bytes, y + b * blockSize) }
    }

    // MARK: - 32-value blocks

    /// Q8_0: f16 scale d, 32 int8 q. y = q * d.
    static func q8_0(_ x: UnsafePointer<UInt8>, _ y: UnsafeMutablePointer<Float>) {
        let d = f16(x)
        for j in 0..<32 { y[j] = Float(Int8(bitPattern: x[2 + j])) * d }
    }

    /// Q4_0: f16 d, 16 bytes of nibbles (low nibbles are values 0..<16, high nibbles 16..<32). y = d * (q - 8).
    static func q4_0(_ x: UnsafePointer<UInt8>, _ y: UnsafeMutablePointer<Float>) {
        let d = f16(x)
        let qs = x + 2
        for j in 0..<16 {
            y[j] = d * Float(Int(qs[j] & 0x0F) - 8)  // allowed: bytes and 4/5-bit quants widen; shift counts are loop indices below 32
            y[j + 16] = d * Float(Int(qs[j] >> 4) - 8)  // allowed: bytes and 4/5-bit quants widen; shift counts are loop indices below 32
        }
    }

    /// Q4_1: f16 d, f16 m, 16 bytes of nibbles. y = d * q + m.
    static func q4_1(_ x: UnsafePointer<UInt8>, _ y: UnsafeMutablePointer<Float>) {
        let d = f16(x), m = f16(x + 2)
        let qs = x + 4
        for j in 0..<16 {
            y[j] = d * Float(qs[j] & 0x0F) + m
            y[j + 16] = d * Float(qs[j] >> 4) + m
        }
    }

    /// Q5_0: f16 d, 32-bit qh (fifth bit of value j is bit j), 16 bytes of nibbles. y = d * (q - 16).
    static func q5_0(_ x: UnsafePointer<UInt8>, _ y: UnsafeMutablePointer<Float>) {
        let d = f16(x)
        let qh = u32(x + 2)
        let qs = x + 6
        for j in 0..<16 {
            let lo = Int(qs[j] & 0x0F) | Int((qh >> UInt32(j)) & 1) << 4  // allowed: bytes and 4/5-bit quants widen; shift counts are loop indices below 32
            let hi = Int(qs[j] >> 4) | Int((qh >> UInt32(j + 16)) & 1) << 4  // allowed: bytes and 4/5-bit quants widen; shift counts are loop indices below 32
            y[j] = d * Float(lo - 16)
            y[j + 16] = d * Float(hi - 16)
        }
    }

    /// Q5_1: f16 d, f16 m, 32-bit qh, 16 bytes of nibbles. y = d * q + m.
    static func q5_1(_ x: UnsafePointer<UInt8>, _ y: UnsafeMutablePointer<Float>) {
        let d = f16(x), m = f16(x + 2)
        let qh = u32(x + 4)
        let qs = x + 8
        for j in 0..<16 {
            let lo = UInt32(qs[j] & 0x0F) | ((qh >> UInt32(j)) & 1) << 4  // allowed: bytes and 4/5-bit quants widen; shift counts are loop indices below 32
            let hi = UInt32(qs[j] >> 4) | ((qh >> UInt32(j + 16)) & 1) << 4  // allowed: bytes and 4/5-bit quants widen; shift counts are loop indices below 32
            y[j] = d * Float(lo) + m
            y[j + 16] = d * Float(hi) + m
        }
    }
}
