#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Dispatch
import TailorTensor

/// Quantization of `Float` values to ggml tensor data: F32, F16, BF16 and the 32-value block types
/// Q8_0, Q4_0, Q4_1, Q5_0, Q5_1 (and the k-quants Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, see `+KQuants`, `+LowKQuants`), computed in the same order of float32 operations as
/// `gguf.quants.quantize` (gguf-py, which matches ggml's `quantize_row_*_ref`), so the bytes are the same
/// (the fixture tests check equality). Values are in ggml order (row-major for a row-major shape);
/// blocks run over the innermost dimension. Large inputs are split over all cores.
public enum GGMLQuantizer {
    /// Types `quantize` writes.
    public static let types: [GGMLType] = [.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K]

    /// Whether `quantize` can write `type`.
    public static func canQuantize(_ type: GGMLType) -> Bool { types.contains(type) }

    /// `values` as ggml data of `type`.
    /// - Throws: `FormatError.unsupportedConversion` for a type `quantize` cannot write (naming `tensor`),
    ///   `.invalidShape` when the count is not a whole number of blocks.
    public static func quantize(_ values: UnsafeBufferPointer<Float>, type: GGMLType, tensor: String = "") throws -> [UInt8] {
        guard canQuantize(type), let blockSize = type.blockSize, let typeSize = type.typeSize else {
            throw FormatError.unsupportedConversion(path: "<quantizer>", tensor: tensor, from: "F32", to: type.name)
        }
        guard values.count % blockSize == 0 else {
            throw FormatError.invalidShape(path: "<quantizer>", tensor: tensor, shape: [values.count])
        }
        let blocks = values.count / blockSize
        let byteCount = blocks * typeSize
        return [UInt8](unsafeUninitializedCapacity: byteCount) { out, initialized in
            initialized = byteCount
            guard blocks > 0, let x = values.baseAddress, let y = out.baseAddress else { return }
            // Chunks of at least 16K values: small tensors stay on one thread.
            let perChunk = max(1, (1 << 14) / blockSize)
            let chunks = (blocks + perChunk - 1) / perChunk
            let buffers = Buffers(x: x, y: y)
            let run: @Sendable (Int) -> Void = { chunk in
                let first = chunk * perChunk, last = min(blocks, first + perChunk)
                encode(buffers.x + first * blockSize, type: type, blocks: last - first, into: buffers.y + first * typeSize)
            }
            if chunks == 1 { run(0) } else { DispatchQueue.concurrentPerform(iterations: chunks, execute: run) }
        }
    }

    /// The input and output of one `quantize`; chunks touch disjoint blocks of each.
    private struct Buffers: @unchecked Sendable {
        let x: UnsafePointer<Float>
        let y: UnsafeMutablePointer<UInt8>
    }

    /// `values` as ggml data of `type`.
    public static func quantize(_ values: [Float], type: GGMLType, tensor: String = "") throws -> [UInt8] {
        try values.withUnsafeBufferPointer { try quantize($0, type: type, tensor: tensor) }
    }

    /// Encodes `blocks` blocks; the caller has checked the type.
    static func encode(_ x: UnsafePointer<Float>, type: GGMLType, blocks: Int, into y: UnsafeMutablePointer<UInt8>) {
        switch type {
        case .f32: UnsafeMutableRawPointer(y).copyMemory(from: x, byteCount: blocks * 4)
        case .f16: for i in 0..<blocks { store16(HalfPrecision.floatToF16(x[i]), y + 2 * i) }
        case .bf16: for i in 0..<blocks { store16(HalfPrecision.floatToBF16(x[i]), y + 2 * i) }
        case .q8_0: for b in 0..<blocks { q8_0(x + 32 * b, y + 34 * b) }
        case .q4_0: for b in 0..<blocks { q4_0(x + 32 * b, y + 18 * b) }
        case .q4_1: for b in 0..<blocks { q4_1(x + 32 * b, y + 20 * b) }
        case .q5_0: for b in 0..<blocks { q5_0(x + 32 * b, y + 22 * b) }
        case .q5_1: for b in 0..<blocks { q5_1(x + 32 * b, y + 24 * b) }
        case .q2_K: for b in 0..<blocks { q2_K(x + 256 * b, y + 84 * b) }
        case .q3_K: for b in 0..<blocks { q3_K(x + 256 * b, y + 110 * b) }
        case .q4_K: for b in 0..<blocks { q4_K(x + 256 * b, y + 144 * b) }
        case .q5_K: for b in 0..<blocks { q5_K(x + 256 * b, y + 176 * b) }
        case .q6_K: for b in 0..<blocks { q6_K(x + 256 * b, y + 210 * b) }
        default: break  // unreachable: checked by canQuantize
        }
    }

    @inline(__always) static func store16(_ bits: UInt16, _ p: UnsafeMutablePointer<UInt8>) {
        p[0] = UInt8(truncatingIfNeeded: bits)
        p[1] = UInt8(truncatingIfNeeded: bits >> 8)
    }

    @inline(__always) static func storeF16(_ value: Float, _ p: UnsafeMutablePointer<UInt8>) { store16(HalfPrecision.floatToF16(value), p) }

    /// The value of largest magnitude, the first one on ties (numpy's argmax of abs).
    @inline(__always) static func signedMax(_ x: UnsafePointer<Float>) -> Float {
        var best = x[0]
        for j in 1..<32 where abs(x[j]) > abs(best) { best = x[j] }
        return best
    }

    /// 1 / d, or 0 when d is 0.
    @inline(__always) static func inverse(_ d: Float) -> Float { d == 0 ? 0 : 1 / d }

    /// ggml's `roundf` (halves away from zero) as gguf-py computes it: sign(v) · (⌊|v|⌋ + ⌊2(|v| − ⌊|v|⌋)⌋).
    @inline(__always) static func roundHalfAway(_ v: Float) -> Float {
        let a = abs(v)
        let floored = a.rounded(.down)
        let b = floored + (2 * (a - floored)).rounded(.down)
        return v > 0 ? b : (v < 0 ? -b : 0)
    }

    /// A float truncated toward zero, converted to a byte and clamped to at most `top`, as gguf-py's
    /// `np.trunc(v).astype(np.uint8).clip(0, top)` does on x86-64 (and ggml's C casts): through a 32-bit integer
    /// whose low byte is kept, so infinities and NaN (a scale whose inverse overflowed, e.g. a block of float32
    /// subnormals) give 0.
    @inline(__always) static func truncated(_ v: Float, top: UInt8) -> UInt8 {
        let t = v.rounded(.towardZero)
        let wide: Int32 = t.isFinite && abs(t) < 2_147_483_648 ? Int32(t) : .min  // allowed: |t| < 2^31 and finite, checked in the same expression
        return min(UInt8(truncatingIfNeeded: wide), top)
    }

    /// Q8_0: d = max|x| / 127, q = round(x / d).
    static func q8_0(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<UInt8>) {
        var amax: Float = 0
        for j in 0..<32 { amax = max(amax, abs(x[j])) }
        let d = amax / 127
        let id = inverse(d)
        storeF16(d, y)
        for j in 0..<32 {
            // |x · id| <= 127 for finite input; NaN and infinities (which gguf-py leaves undefined) store 0 / ±127.
            let q = roundHalfAway(x[j] * id)
            y[2 + j] = UInt8(bitPattern: q.isNaN ? 0 : Int8(max(-127, min(127, q))))  // allowed: clamped to -127...127, NaN excluded
        }
    }

    /// Levels of a block with d = max / -(top + 1)/2 (max the signed value of largest magnitude), q = min(top,
    /// trunc(x / d + (top + 1)/2 + 0.5)) (Q4_0: top 15, Q5_0: top 31); stores d at `y`.
    static func symmetricLevels(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<UInt8>, top: UInt8, _ q: UnsafeMutablePointer<UInt8>) {
        let half = Float((top + 1) / 2)
        let d = signedMax(x) / -half
        let id = inverse(d)
        storeF16(d, y)
        for j in 0..<32 { q[j] = truncated(x[j] * id + (half + 0.5), top: top) }
    }

    /// Levels of a block with d = (max - min) / top, m = min, q = min(top, trunc((x - min) / d + 0.5)) (Q4_1: top 15,
    /// Q5_1: top 31); stores d and m at `y`.
    static func offsetLevels(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<UInt8>, top: UInt8, _ q: UnsafeMutablePointer<UInt8>) {
        var lo = x[0], hi = x[0]
        for j in 1..<32 { lo = min(lo, x[j]); hi = max(hi, x[j]) }
        let d = (hi - lo) / Float(top)
        let id = inverse(d)
        storeF16(d, y)
        storeF16(lo, y + 2)
        for j in 0..<32 { q[j] = truncated((x[j] - lo) * id + 0.5, top: top) }
    }

    /// The low nibbles of 32 levels in 16 bytes: value j in the low half of byte j, value j + 16 in the high half.
    static func packNibbles(_ q: UnsafePointer<UInt8>, _ out: UnsafeMutablePointer<UInt8>) {
        for j in 0..<16 { out[j] = (q[j] & 0x0F) | (q[j + 16] & 0x0F) << 4 }
    }

    /// The fifth bits of 32 levels as a little-endian uint32 (bit j of value j).
    static func packFifthBits(_ q: UnsafePointer<UInt8>, _ out: UnsafeMutablePointer<UInt8>) {
        var qh: UInt32 = 0
        for j in 0..<32 { qh |= UInt32((q[j] >> 4) & 1) << UInt32(j) }  // allowed: a bit of a 5-bit level; shift counts below 32
        for k in 0..<4 { out[k] = UInt8(truncatingIfNeeded: qh >> UInt32(8 * k)) }  // allowed: shift counts below 32
    }

    /// Runs `body` with a 32-byte scratch buffer for a block's levels.
    @inline(__always) static func withLevels(_ body: (UnsafeMutablePointer<UInt8>) -> Void) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { body($0.baseAddress!) }  // allowed: a 32-element allocation is never empty
    }

    /// Q4_0 (18 bytes): f16 d, 16 bytes of nibbles.
    static func q4_0(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<UInt8>) {
        withLevels { q in symmetricLevels(x, y, top: 15, q); packNibbles(q, y + 2) }
    }

    /// Q4_1 (20 bytes): f16 d, f16 m, 16 bytes of nibbles.
    static func q4_1(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<UInt8>) {
        withLevels { q in offsetLevels(x, y, top: 15, q); packNibbles(q, y + 4) }
    }

    /// Q5_0 (22 bytes): f16 d, 32-bit qh (fifth bits), 16 bytes of low nibbles.
    static func q5_0(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<UInt8>) {
        withLevels { q in symmetricLevels(x, y, top: 31, q); packFifthBits(q, y + 2); packNibbles(q, y + 6) }
    }

    /// Q5_1 (24 bytes): f16 d, f16 m, 32-bit qh, 16 bytes of low nibbles.
    static func q5_1(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<UInt8>) {
        withLevels { q in offsetLevels(x, y, top: 31, q); packFifthBits(q, y + 4); packNibbles(q, y + 8) }
    }
}
