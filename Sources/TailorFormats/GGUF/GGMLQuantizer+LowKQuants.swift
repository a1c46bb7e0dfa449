import TailorTensor

/// The 2- and 3-bit k-quants as ggml's reference quantizers compute them without an importance matrix
/// (`quantize_row_q2_K_ref`, `quantize_row_q3_K_ref`, which `llama_model_quantize` runs), in the same order of float32
/// operations, so the bytes are llama.cpp's (checked against `llama_cpp.llama_model_quantize` on committed fixtures).
extension GGMLQuantizer {
    /// Q2_K (84 bytes): scales[16] (low nibble the 4-bit scale, high nibble the 4-bit min of each 16-value group),
    /// qs[64] (2-bit levels, four 32-value groups per 32 bytes), f16 d, f16 dmin.
    static func q2_K(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<UInt8>) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 256 + 16) { levelBuffer in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 16 + 16 + 16) { floatBuffer in
                let L = levelBuffer.baseAddress!, aux = L + 256  // allowed: a fixed-size allocation is never empty
                let f = floatBuffer.baseAddress!  // allowed: a fixed-size allocation is never empty
                let weights = f, mins = f + 16, scales = f + 32
                var maxScale: Float = 0, maxMin: Float = 0
                for j in 0..<16 {
                    let g = x + 16 * j
                    for l in 0..<16 { weights[l] = abs(g[l]) }
                    scales[j] = makeQKX2Quants(16, 3, g, UnsafePointer(weights), L + 16 * j, &mins[j], aux,
                                               rmin: -0.5, rdelta: 0.1, nstep: 15, useMad: true)
                    if scales[j] > maxScale { maxScale = scales[j] }
                    if mins[j] > maxMin { maxMin = mins[j] }
                }
                let q4scale: Float = 15
                let packed = y
                if maxScale > 0 {
                    let iscale = q4scale / maxScale
                    for j in 0..<16 { packed[j] = UInt8(truncatingIfNeeded: nearestInt(iscale * scales[j])) }
                    store16(HalfPrecision.floatToF16(maxScale / q4scale), y + 80)
                } else {
                    for j in 0..<16 { packed[j] = 0 }
                    store16(HalfPrecision.floatToF16(0), y + 80)
                }
                if maxMin > 0 {
                    let iscale = q4scale / maxMin
                    for j in 0..<16 { packed[j] |= UInt8(truncatingIfNeeded: nearestInt(iscale * mins[j]) << 4) }
                    store16(HalfPrecision.floatToF16(maxMin / q4scale), y + 82)
                } else {
                    store16(HalfPrecision.floatToF16(0), y + 82)
                }
                let d = HalfPrecision.f16ToFloat(load16(y + 80)), dmin = HalfPrecision.f16ToFloat(load16(y + 82))
                for j in 0..<16 {
                    let groupScale = d * Float(packed[j] & 0xF)
                    if groupScale == 0 { continue }
                    let groupMin = dmin * Float(packed[j] >> 4)
                    for ii in 0..<16 {
                        L[16 * j + ii] = UInt8(truncatingIfNeeded: Swift.max(0, Swift.min(3, nearestInt((x[16 * j + ii] + groupMin) / groupScale))))
                    }
                }
                packTwoBits(L, y + 16)
            }
        }
    }

    /// ggml's `make_q3_quants` with `do_rmse`: the scale of `n` values for signed levels -nmax ..< nmax (stored
    /// + nmax in `levels`), from -nmax / max, then up to five passes moving single levels while that lowers the
    /// weighted (x²) error.
    static func makeQ3Quants(_ n: Int, _ nmax: Int32, _ x: UnsafePointer<Float>, _ levels: UnsafeMutablePointer<Int8>) -> Float {
        guard let max = groupMax(n, x, levels) else { return 0 }
        let iscale = -Float(nmax) / max
        var sumlx: Float = 0, suml2: Float = 0
        for i in 0..<n {
            let l = Swift.max(-nmax, Swift.min(nmax - 1, nearestInt(iscale * x[i])))
            levels[i] = Int8(truncatingIfNeeded: l)
            let w = x[i] * x[i], fl = Float(l)
            sumlx += w * x[i] * fl
            suml2 += w * fl * fl
        }
        for _ in 0..<5 {
            var changed = 0
            for i in 0..<n {
                let w = x[i] * x[i], old = Float(levels[i])
                var slx = sumlx - w * x[i] * old
                guard slx > 0 else { continue }
                var sl2 = suml2 - w * old * old
                let newLevel = Swift.max(-nmax, Swift.min(nmax - 1, nearestInt(x[i] * sl2 / slx)))
                guard newLevel != Int32(truncatingIfNeeded: levels[i]) else { continue }
                let fl = Float(newLevel)
                slx += w * x[i] * fl
                sl2 += w * fl * fl
                if sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2 {
                    levels[i] = Int8(truncatingIfNeeded: newLevel)
                    sumlx = slx
                    suml2 = sl2
                    changed += 1
                }
            }
            if changed == 0 { break }
        }
        for i in 0..<n { levels[i] = levels[i] &+ Int8(truncatingIfNeeded: nmax) }
        return suml2 > 0 ? sumlx / suml2 : 0
    }

    /// Q3_K (110 bytes): hmask[32] (the third bit of each level), qs[64] (low 2 bits), scales[12] (16 6-bit signed
    /// scales of the f16 super-block d), d.
    static func q3_K(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<UInt8>) {
        withUnsafeTemporaryAllocation(of: Int8.self, capacity: 256) { levelBuffer in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 16) { scaleBuffer in
                let L = levelBuffer.baseAddress!, scales = scaleBuffer.baseAddress!  // allowed: fixed-size allocations are never empty
                var maxScale: Float = 0, amax: Float = 0
                for j in 0..<16 {
                    scales[j] = makeQ3Quants(16, 4, x + 16 * j, L + 16 * j)
                    let scale = abs(scales[j])
                    if scale > amax { amax = scale; maxScale = scales[j] }
                }
                let packed = y + 96
                for k in 0..<12 { packed[k] = 0 }
                if maxScale != 0 {
                    let iscale = -32 / maxScale
                    for j in 0..<16 {
                        let l = UInt8(truncatingIfNeeded: Swift.max(-32, Swift.min(31, Int32(truncatingIfNeeded: Int8(truncatingIfNeeded: nearestInt(iscale * scales[j]))))) + 32)
                        if j < 8 { packed[j] = l & 0xF } else { packed[j - 8] |= (l & 0xF) << 4 }
                        packed[j % 4 + 8] |= (l >> 4) << (2 * (j / 4))
                    }
                    store16(HalfPrecision.floatToF16(1 / iscale), y + 108)
                } else {
                    store16(HalfPrecision.floatToF16(0), y + 108)
                }
                let d = HalfPrecision.f16ToFloat(load16(y + 108))
                for j in 0..<16 {
                    let low = j < 8 ? packed[j] & 0xF : packed[j - 8] >> 4
                    let sc = Int32(truncatingIfNeeded: low | ((packed[8 + j % 4] >> (2 * (j / 4))) & 3) << 4) - 32
                    let groupScale = d * Float(sc)
                    if groupScale == 0 { continue }
                    for ii in 0..<16 {
                        L[16 * j + ii] = Int8(truncatingIfNeeded: Swift.max(-4, Swift.min(3, nearestInt(x[16 * j + ii] / groupScale))) + 4)
                    }
                }
                let hmask = y
                for k in 0..<32 { hmask[k] = 0 }
                for j in 0..<256 where L[j] > 3 {
                    hmask[j % 32] |= UInt8(1) << (j / 32)
                    L[j] -= 4
                }
                L.withMemoryRebound(to: UInt8.self, capacity: 256) { packTwoBits($0, y + 32) }
            }
        }
    }

    /// 256 2-bit levels in 64 bytes: for each half, byte l holds levels l, l + 32, l + 64, l + 96 from the low bits up.
    static func packTwoBits(_ L: UnsafePointer<UInt8>, _ q: UnsafeMutablePointer<UInt8>) {
        for half in 0..<2 {
            let j = 128 * half
            for l in 0..<32 {
                q[32 * half + l] = L[j + l] | L[j + l + 32] << 2 | L[j + l + 64] << 4 | L[j + l + 96] << 6
            }
        }
    }

    @inline(__always) static func load16(_ p: UnsafePointer<UInt8>) -> UInt16 { UInt16(p[0]) | UInt16(p[1]) << 8 }  // allowed: bytes widen to UInt16
}
