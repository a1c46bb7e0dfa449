/// The llama.cpp (ggml) block quantizations Tailor can read values from: `blockSize` values stored in
/// `typeSize` bytes, with the layouts of ggml's `ggml-common.h` and the gguf Python package's `quants.py`.
///
/// Each type decodes in the same order of float32 operations as `gguf.quants.dequantize`, so values match
/// it bit for bit. TailorFormats' `GGMLDequantizer` reads files with these; a frozen weight kept in these
/// blocks (`DType.q4_0` ... `.q6_K`, `CPUBackend+GGMLBlocks`) is decoded with them inside products.
public enum GGMLBlockType: String, Sendable, CaseIterable, CustomStringConvertible {
    case q4_0 = "Q4_0", q4_1 = "Q4_1", q5_0 = "Q5_0", q5_1 = "Q5_1", q8_0 = "Q8_0"
    case q2_K = "Q2_K", q3_K = "Q3_K", q4_K = "Q4_K", q5_K = "Q5_K", q6_K = "Q6_K"

    /// Values per block.
    public var blockSize: Int {
        switch self {
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0: return 32
        case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K: return 256
        }
    }

    /// Bytes per block.
    public var typeSize: Int {
        switch self {
        case .q4_0: return 18
        case .q4_1: return 20
        case .q5_0: return 22
        case .q5_1: return 24
        case .q8_0: return 34
        case .q2_K: return 84
        case .q3_K: return 110
        case .q4_K: return 144
        case .q5_K: return 176
        case .q6_K: return 210
        }
    }

    /// ggml's name (`Q4_K`).
    public var description: String { rawValue }

    /// Decodes `blocks` whole blocks at `x` into `blocks · blockSize` floats at `y`.
    public func decode(_ x: UnsafePointer<UInt8>, blocks: Int, into y: UnsafeMutablePointer<Float>) {
        let kernel: (UnsafePointer<UInt8>, UnsafeMutablePointer<Float>) -> Void
        switch self {
        case .q4_0: kernel = Self.q4_0
        case .q4_1: kernel = Self.q4_1
        case .q5_0: kernel = Self.q5_0
        case .q5_1: kernel = Self.q5_1
        case .q8_0: kernel = Self.q8_0
        case .q2_K: kernel = Self.q2_K
        case .q3_K: kernel = Self.q3_K
        case .q4_K: kernel = Self.q4_K
        case .q5_K: kernel = Self.q5_K
        case .q6_K: kernel = Self.q6_K
        }
        let (bytes, values) = (typeSize, blockSize)
        for b in 0..<blocks { kernel(x + b * bytes, y + b * values) }
    }

    // MARK: - Helpers

    @inline(__always) static func u16(_ p: UnsafePointer<UInt8>) -> UInt16 { UInt16(p[0]) | UInt16(p[1]) << 8 }  // allowed: bytes and 4/5-bit quants widen; shift counts are loop indices below 32
    @inline(__always) static func u32(_ p: UnsafePointer<UInt8>) -> UInt32 {
        UInt32(p[0]) | UInt32(p[1]) << 8 | UInt32(p[2]) << 16 | UInt32(p[3]) << 24  // allowed: bytes and 4/5-bit quants widen; shift counts are loop indices below 32
    }
    @inline(__always) static func f16(_ p: UnsafePointer<UInt8>) -> Float { HalfPrecision.f16ToFloat(u16(p)) }

    // MARK: - 32-value blocks

    /// Q8_0: f16 scale d, 32 int8 q. y = q * d.
    static func q8_0(_ x: UnsafePointer<UInt8>, _ y: UnsafeMutablePointer<Float>) {
        let d = f16(x)
        for j in 0..<32 { y[j] = Float(Int8(bitPattern: x[2 + j])) * d }  // allowed: a byte reinterpreted as int8 (bitPattern), which cannot trap
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
