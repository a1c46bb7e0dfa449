/// The K-quants: super-blocks of 256 values split into sub-blocks of 16 or 32 with quantized scales.
///
/// Index arithmetic shared by the types: within a super-block, value `i` of a 2-bit plane stored as
/// `[half][32 bytes]` is `(qs[half * 32 + l] >> (2 * s)) & 3` with `i = half * 128 + s * 32 + l`; a bit plane
/// `[32 bytes]` gives bit `i / 32` of byte `i % 32`.
extension GGMLBlockType {
    /// Q2_K (84 bytes): scales[16] (low nibble scale, high nibble min per 16 values), qs[64] (2-bit), f16 d,
    /// f16 dmin. y = (d * scale) * q - (dmin * min).
    static func q2_K(_ x: UnsafePointer<UInt8>, _ y: UnsafeMutablePointer<Float>) {
        let scales = x, qs = x + 16
        let d = f16(x + 80), dmin = f16(x + 82)
        for half in 0..<2 {
            for s in 0..<4 {
                for l in 0..<32 {
                    let i = half * 128 + s * 32 + l
                    let q = (qs[half * 32 + l] >> UInt8(2 * s)) & 3  // allowed: shift counts and 6-bit quants below 256, from loop indices of a fixed 256-element block
                    let sc = scales[i / 16]
                    let dl = d * Float(sc & 0x0F), ml = dmin * Float(sc >> 4)
                    y[i] = dl * Float(q) - ml
                }
            }
        }
    }

    /// Q3_K (110 bytes): hmask[32] (high bit, set means no -4 offset), qs[64] (low 2 bits), scales[12]
    /// (16 six-bit scales, stored with an offset of 32), f16 d. y = (d * (scale - 32)) * (q - 4 * !hbit).
    static func q3_K(_ x: UnsafePointer<UInt8>, _ y: UnsafeMutablePointer<Float>) {
        let hmask = x, qs = x + 32, packed = x + 96
        let d = f16(x + 108)
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 16) { dl in
            for j in 0..<16 {
                let low = j < 8 ? packed[j] & 0x0F : packed[j - 8] >> 4
                let high = (packed[8 + j % 4] >> UInt8(2 * (j / 4))) & 3  // allowed: shift counts and 6-bit quants below 256, from loop indices of a fixed 256-element block
                dl[j] = d * Float(Int(low | high << 4) - 32)  // allowed: shift counts and 6-bit quants below 256, from loop indices of a fixed 256-element block
            }
            for half in 0..<2 {
                for s in 0..<4 {
                    for l in 0..<32 {
                        let i = half * 128 + s * 32 + l
                        let low = Int((qs[half * 32 + l] >> UInt8(2 * s)) & 3)  // allowed: shift counts and 6-bit quants below 256, from loop indices of a fixed 256-element block
                        let hbit = Int((hmask[l] >> UInt8(i / 32)) & 1)  // allowed: shift counts and 6-bit quants below 256, from loop indices of a fixed 256-element block
                        y[i] = dl[i / 16] * Float(low - ((hbit ^ 1) << 2))
                    }
                }
            }
        }
    }

    /// The 8 six-bit scales and mins of Q4_K / Q5_K, packed in 12 bytes.
    @inline(__always)
    static func scaleMin(_ s: UnsafePointer<UInt8>, _ j: Int) -> (scale: UInt8, min: UInt8) {
        if j < 4 { return (s[j] & 63, s[j + 4] & 63) }
        return ((s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4), (s[j + 4] >> 4) | ((s[j] >> 6) << 4))
    }

    /// Q4_K (144 bytes): f16 d, f16 dmin, scales[12], qs[128] (nibbles: byte c*32+l holds values
    /// c*64+l (low) and c*64+32+l (high)). y = (d * scale) * q - (dmin * min), per 32 values.
    static func q4_K(_ x: UnsafePointer<UInt8>, _ y: UnsafeMutablePointer<Float>) {
        let d = f16(x), dmin = f16(x + 2)
        let scales = x + 4, qs = x + 16
        for sub in 0..<8 {
            let (sc, mn) = scaleMin(scales, sub)
            let dl = d * Float(sc), ml = dmin * Float(mn)
            let chunk = sub / 2, shift = UInt8(4 * (sub % 2))  // allowed: shift counts and 6-bit quants below 256, from loop indices of a fixed 256-element block
            for l in 0..<32 {
                let q = (qs[chunk * 32 + l] >> shift) & 0x0F
                y[sub * 32 + l] = dl * Float(q) - ml
            }
        }
    }

    /// Q5_K (176 bytes): f16 d, f16 dmin, scales[12], qh[32] (fifth bits, bit plane), qs[128] (as Q4_K).
    static func q5_K(_ x: UnsafePointer<UInt8>, _ y: UnsafeMutablePointer<Float>) {
        let d = f16(x), dmin = f16(x + 2)
        let scales = x + 4, qh = x + 16, qs = x + 48
        for sub in 0..<8 {
            let (sc, mn) = scaleMin(scales, sub)
            let dl = d * Float(sc), ml = dmin * Float(mn)
            let chunk = sub / 2, shift = UInt8(4 * (sub % 2))  // allowed: shift counts and 6-bit quants below 256, from loop indices of a fixed 256-element block
            for l in 0..<32 {
                let q = ((qs[chunk * 32 + l] >> shift) & 0x0F) | ((qh[l] >> UInt8(sub)) & 1) << 4  // allowed: shift counts and 6-bit quants below 256, from loop indices of a fixed 256-element block
                y[sub * 32 + l] = dl * Float(q) - ml
            }
        }
    }

    /// Q6_K (210 bytes): ql[128] (low nibbles: byte half*64+l holds values half*128+l and half*128+64+l),
    /// qh[64] (2-bit high parts, as a 2-bit plane), scales[16] (int8), f16 d. y = (d * scale) * (q - 32).
    static func q6_K(_ x: UnsafePointer<UInt8>, _ y: UnsafeMutablePointer<Float>) {
        let ql = x, qh = x + 128, scales = x + 192
        let d = f16(x + 208)
        for half in 0..<2 {
            for l in 0..<128 {
                let i = half * 128 + l
                let low = (ql[half * 64 + l % 64] >> UInt8(4 * (l / 64))) & 0x0F  // allowed: shift counts and 6-bit quants below 256, from loop indices of a fixed 256-element block
                let high = (qh[half * 32 + l % 32] >> UInt8(2 * (l / 32))) & 3  // allowed: shift counts and 6-bit quants below 256, from loop indices of a fixed 256-element block
                let q = Int(low | high << 4) - 32  // allowed: shift counts and 6-bit quants below 256, from loop indices of a fixed 256-element block
                y[i] = (d * Float(Int8(bitPattern: scales[i / 16]))) * Float(q)
            }
        }
    }
}
