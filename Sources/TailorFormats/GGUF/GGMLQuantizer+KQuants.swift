import TailorTensor

/// The k-quants (256-value super-blocks) as ggml's reference quantizers compute them without an importance
/// matrix (`quantize_row_q6_K_ref`, which `llama_model_quantize` runs), in the same order of float32 operations,
/// so the bytes are llama.cpp's (checked against `llama_cpp.llama_model_quantize` on committed fixtures).
extension GGMLQuantizer {
    /// ggml's smallest group maximum treated as non-zero.
    static let groupMaxEps: Float = 1e-15

    /// ggml's `nearest_int`: round to nearest, ties to even, by adding 1.5 · 2^23 and reading the mantissa
    /// (exact for |v| <= 2^22 - 1, the range ggml asserts).
    @inline(__always) static func nearestInt(_ v: Float) -> Int32 {
        let bits = (v + 12_582_912).bitPattern
        return Int32(bitPattern: bits & 0x007F_FFFF) - 0x0040_0000
    }

    /// The value of largest magnitude among `n` (the first on ties), or nil, with `levels` zeroed, when every |x| is
    /// below `groupMaxEps` (an all-zero group: ggml's make_qx_quants / make_q3_quants return scale 0).
    @inline(__always) static func groupMax(_ n: Int, _ x: UnsafePointer<Float>, _ levels: UnsafeMutablePointer<Int8>) -> Float? {
        var max: Float = 0, amax: Float = 0
        for i in 0..<n {
            let ax = abs(x[i])
            if ax > amax { amax = ax; max = x[i] }
        }
        if amax < groupMaxEps {
            for i in 0..<n { levels[i] = 0 }
            return nil
        }
        return max
    }

    /// ggml's `make_qx_quants` with `rmse_type` 1 (weights x²) and no importance weights: the scale of `n` values for
    /// signed levels -nmax ..< nmax, the levels (+ nmax) in `levels`, trying 18 scales around -nmax / max.
    static func makeQXQuants(_ n: Int, _ nmax: Int32, _ x: UnsafePointer<Float>, _ levels: UnsafeMutablePointer<Int8>) -> Float {
        guard let max = groupMax(n, x, levels) else { return 0 }
        let fmax = Float(nmax)
        var iscale = -fmax / max
        var sumlx: Float = 0, suml2: Float = 0
        for i in 0..<n {
            let l = Swift.max(-nmax, Swift.min(nmax - 1, nearestInt(iscale * x[i])))
            levels[i] = Int8(truncatingIfNeeded: l + nmax)
            let w = x[i] * x[i]
            let fl = Float(l)
            sumlx += w * x[i] * fl
            suml2 += w * fl * fl
        }
        var scale = suml2 != 0 ? sumlx / suml2 : 0
        var best = scale * sumlx
        for step in -9...9 where step != 0 {
            iscale = -(fmax + 0.1 * Float(step)) / max
            sumlx = 0
            suml2 = 0
            for i in 0..<n {
                let l = Swift.max(-nmax, Swift.min(nmax - 1, nearestInt(iscale * x[i])))
                let w = x[i] * x[i]
                let fl = Float(l)
                sumlx += w * x[i] * fl
                suml2 += w * fl * fl
            }
            if suml2 > 0 && sumlx * sumlx > best * suml2 {
                for i in 0..<n {
                    levels[i] = Int8(truncatingIfNeeded: nmax + Swift.max(-nmax, Swift.min(nmax - 1, nearestInt(iscale * x[i]))))
                }
                scale = sumlx / suml2
                best = scale * sumlx
            }
        }
        return scale
    }

    /// Q6_K: 16 groups of 16 values, each with an int8 scale (of the f16 super-block scale d) and 6-bit levels.
    /// Layout: ql[128] (low nibbles), qh[64] (high 2 bits), scales[16], d (f16) — 210 bytes.
    static func q6_K(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<UInt8>) {
        var levels = [Int8](repeating: 0, count: 256)
        var scales = [Float](repeating: 0, count: 16)
        levels.withUnsafeMutableBufferPointer { buffer in
            let L = buffer.baseAddress!  // allowed: a 256-element array's buffer is never empty
            var maxScale: Float = 0, maxAbsScale: Float = 0
            for ib in 0..<16 {
                let scale = makeQXQuants(16, 32, x + 16 * ib, L + 16 * ib)
                scales[ib] = scale
                if abs(scale) > maxAbsScale { maxAbsScale = abs(scale); maxScale = scale }
            }
            if maxAbsScale < groupMaxEps {
                for b in 0..<210 { y[b] = 0 }
                return
            }
            let iscale = -128 / maxScale
            let d16 = HalfPrecision.floatToF16(1 / iscale)
            store16(d16, y + 208)
            let d = HalfPrecision.f16ToFloat(d16)
            for ib in 0..<16 {
                let s = Swift.min(127, nearestInt(iscale * scales[ib]))
                y[192 + ib] = UInt8(truncatingIfNeeded: s)
                let groupScale = d * Float(Int8(truncatingIfNeeded: s))
                if groupScale == 0 { continue }
                for ii in 0..<16 {
                    let l = Swift.max(-32, Swift.min(31, nearestInt(x[16 * ib + ii] / groupScale)))
                    L[16 * ib + ii] = Int8(truncatingIfNeeded: l + 32)
                }
            }
            for half in 0..<2 {
                let j = 128 * half
                let ql = y + 64 * half, qh = y + 128 + 32 * half
                for l in 0..<32 {
                    let q0 = UInt8(bitPattern: L[j + l]), q1 = UInt8(bitPattern: L[j + l + 32])
                    let q2 = UInt8(bitPattern: L[j + l + 64]), q3 = UInt8(bitPattern: L[j + l + 96])
                    ql[l] = (q0 & 0xF) | (q2 & 0xF) << 4
                    ql[l + 32] = (q1 & 0xF) | (q3 & 0xF) << 4
                    qh[l] = (q0 >> 4) | (q1 >> 4) << 2 | (q2 >> 4) << 4 | (q3 >> 4) << 6
                }
            }
        }
    }
}

extension GGMLQuantizer {
    /// ggml's `make_qkx2_quants`: scale and (negated) minimum of `n` values for unsigned levels 0...nmax, weighted by
    /// `weights`, refined over `nstep` + 1 scales from (rmin + nmax) / range in rdelta steps; the error is the weighted
    /// squared difference, or the weighted absolute one with `useMad` (Q2_K).
    static func makeQKX2Quants(_ n: Int, _ nmax: Int32, _ x: UnsafePointer<Float>, _ weights: UnsafePointer<Float>,
                               _ levels: UnsafeMutablePointer<UInt8>, _ theMin: inout Float, _ aux: UnsafeMutablePointer<UInt8>,
                               rmin: Float, rdelta: Float, nstep: Int, useMad: Bool = false) -> Float {
        var min = x[0], max = x[0]
        var sumW = weights[0]
        var sumX = sumW * x[0]
        for i in 1..<n {
            if x[i] < min { min = x[i] }
            if x[i] > max { max = x[i] }
            let w = weights[i]
            sumW += w
            sumX += w * x[i]
        }
        if min > 0 { min = 0 }
        if max == min {
            for i in 0..<n { levels[i] = 0 }
            theMin = -min
            return 0
        }
        let fmax = Float(nmax)
        var iscale = fmax / (max - min)
        var scale = 1 / iscale
        var bestError: Float = 0
        for i in 0..<n {
            let l = Swift.max(0, Swift.min(nmax, nearestInt(iscale * (x[i] - min))))
            levels[i] = UInt8(truncatingIfNeeded: l)
            let diff = scale * Float(levels[i]) + min - x[i]
            bestError += weights[i] * (useMad ? abs(diff) : diff * diff)
        }
        if nstep < 1 {
            theMin = -min
            return scale
        }
        for step in 0...nstep {
            iscale = (rmin + rdelta * Float(step) + fmax) / (max - min)
            var sumL: Float = 0, sumL2: Float = 0, sumXL: Float = 0
            for i in 0..<n {
                let l = Swift.max(0, Swift.min(nmax, nearestInt(iscale * (x[i] - min))))
                aux[i] = UInt8(truncatingIfNeeded: l)
                let w = weights[i], fl = Float(l)
                sumL += w * fl
                sumL2 += w * fl * fl
                sumXL += w * fl * x[i]
            }
            let D = sumW * sumL2 - sumL * sumL
            if D > 0 {
                var thisScale = (sumW * sumXL - sumX * sumL) / D
                var thisMin = (sumL2 * sumX - sumL * sumXL) / D
                if thisMin > 0 {
                    thisMin = 0
                    thisScale = sumXL / sumL2
                }
                var error: Float = 0
                for i in 0..<n {
                    let diff = thisScale * Float(aux[i]) + thisMin - x[i]
                    error += weights[i] * (useMad ? abs(diff) : diff * diff)
                }
                if error < bestError {
                    for i in 0..<n { levels[i] = aux[i] }
                    bestError = error
                    scale = thisScale
                    min = thisMin
                }
            }
        }
        theMin = -min
        return scale
    }

    /// Q4_K (nmax 15) and Q5_K (nmax 31): 8 groups of 32 values with 6-bit scales and mins (packed in 12 bytes) of
    /// the f16 super-block d and dmin; levels 0...nmax. Fills `d`, `dmin`, `scales` (12 bytes at `scalesOut`) and `L`.
    static func kQuantScaled(_ x: UnsafePointer<Float>, nmax: Int32, rmin: Float, nstep: Int,
                             header y: UnsafeMutablePointer<UInt8>, levels L: UnsafeMutablePointer<UInt8>) {
        var weights = [Float](repeating: 0, count: 32), aux = [UInt8](repeating: 0, count: 32)
        var mins = [Float](repeating: 0, count: 8), scales = [Float](repeating: 0, count: 8)
        var maxScale: Float = 0, maxMin: Float = 0
        weights.withUnsafeMutableBufferPointer { w in
            aux.withUnsafeMutableBufferPointer { a in
                for j in 0..<8 {
                    let g = x + 32 * j
                    var sumX2: Float = 0
                    for l in 0..<32 { sumX2 += g[l] * g[l] }
                    let avX = (sumX2 / 32).squareRoot()
                    for l in 0..<32 { w[l] = avX + abs(g[l]) }
                    scales[j] = makeQKX2Quants(32, nmax, g, UnsafePointer(w.baseAddress!), L + 32 * j, &mins[j], a.baseAddress!,  // allowed: 32-element arrays' buffers are never empty
                                               rmin: rmin, rdelta: 0.1, nstep: nstep)
                    if scales[j] > maxScale { maxScale = scales[j] }
                    if mins[j] > maxMin { maxMin = mins[j] }
                }
            }
        }
        let invScale: Float = maxScale > 0 ? 63 / maxScale : 0
        let invMin: Float = maxMin > 0 ? 63 / maxMin : 0
        let packed = y + 4
        for k in 0..<12 { packed[k] = 0 }
        for j in 0..<8 {
            let ls = Swift.min(63, UInt8(truncatingIfNeeded: nearestInt(invScale * scales[j])))
            let lm = Swift.min(63, UInt8(truncatingIfNeeded: nearestInt(invMin * mins[j])))
            if j < 4 {
                packed[j] = ls
                packed[j + 4] = lm
            } else {
                packed[j + 4] = (ls & 0xF) | (lm & 0xF) << 4
                packed[j - 4] |= (ls >> 4) << 6
                packed[j] |= (lm >> 4) << 6
            }
        }
        let d16 = HalfPrecision.floatToF16(maxScale / 63), dmin16 = HalfPrecision.floatToF16(maxMin / 63)
        store16(d16, y)
        store16(dmin16, y + 2)
        let d = HalfPrecision.f16ToFloat(d16), dmin = HalfPrecision.f16ToFloat(dmin16)
        for j in 0..<8 {
            let sc: UInt8, m: UInt8
            if j < 4 {
                sc = packed[j] & 63
                m = packed[j + 4] & 63
            } else {
                sc = (packed[j + 4] & 0xF) | (packed[j - 4] >> 6) << 4
                m = (packed[j + 4] >> 4) | (packed[j] >> 6) << 4
            }
            let groupScale = d * Float(sc)
            if groupScale == 0 { continue }
            let groupMin = dmin * Float(m)
            for ii in 0..<32 {
                let l = Swift.max(0, Swift.min(nmax, nearestInt((x[32 * j + ii] + groupMin) / groupScale)))
                L[32 * j + ii] = UInt8(truncatingIfNeeded: l)
            }
        }
    }

    /// Q4_K (144 bytes): f16 d, f16 dmin, scales[12], qs[128] (4-bit levels, two 32-value groups per 32 bytes).
    static func q4_K(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<UInt8>) {
        var levels = [UInt8](repeating: 0, count: 256)
        levels.withUnsafeMutableBufferPointer { buffer in
            let L = buffer.baseAddress!  // allowed: a 256-element array's buffer is never empty
            kQuantScaled(x, nmax: 15, rmin: -1, nstep: 20, header: y, levels: L)
            let q = y + 16
            for chunk in 0..<4 {
                for l in 0..<32 { q[32 * chunk + l] = L[64 * chunk + l] | L[64 * chunk + l + 32] << 4 }
            }
        }
    }

    /// Q5_K (176 bytes): f16 d, f16 dmin, scales[12], qh[32] (fifth bits), qs[128] (low nibbles).
    static func q5_K(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<UInt8>) {
        var levels = [UInt8](repeating: 0, count: 256)
        levels.withUnsafeMutableBufferPointer { buffer in
            let L = buffer.baseAddress!  // allowed: a 256-element array's buffer is never empty
            kQuantScaled(x, nmax: 31, rmin: -0.5, nstep: 15, header: y, levels: L)
            let qh = y + 16, ql = y + 48
            for k in 0..<32 { qh[k] = 0 }
            var m1: UInt8 = 1, m2: UInt8 = 2
            for chunk in 0..<4 {
                for j in 0..<32 {
                    var l1 = L[64 * chunk + j], l2 = L[64 * chunk + j + 32]
                    if l1 > 15 { l1 -= 16; qh[j] |= m1 }
                    if l2 > 15 { l2 -= 16; qh[j] |= m2 }
                    ql[32 * chunk + j] = l1 | l2 << 4
                }
                m1 <<= 2
                m2 <<= 2
            }
        }
    }
}
