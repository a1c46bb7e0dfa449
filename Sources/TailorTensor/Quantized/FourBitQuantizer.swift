/// Quantizes float32 values to a bitsandbytes 4-bit format exactly as bitsandbytes 0.50's CPU path does
/// (`quantize_4bit` with its default torch kernel, and the C `quantize_blockwise` for the nested absmax).
///
/// - Per block, absmax = max |x|; full blocks are scaled by x · (1 / max(absmax, 1e-38)), the partial
///   last block by x / max(absmax, 1e-38) (and its stored absmax is that clamped value); both are
///   clamped to [-1, 1].
/// - The index is the first sorted code whose upper midpoint ((c[k] + c[k+1]) / 2 in float32) is >= the
///   scaled value: a value exactly at a midpoint takes the lower code (torch.bucketize, right=False).
/// - bitsandbytes' CUDA kernel (which made the hub's `-bnb-4bit` folders) multiplies by 1/absmax for every
///   block and picks its code by a comparison tree whose ties can go the other way; loading such a
///   folder reads its codes as they are, so only quantizing here differs, and only at exact ties.
public enum FourBitQuantizer {
    /// Quantizes `values` (the flattened tensor). With `doubleQuant`, the absmax values are quantized
    /// again (bitsandbytes' `compress_statistics`): their mean is subtracted and the rest stored as 8-bit
    /// dynamic codes in blocks of 256.
    public static func quantize(_ values: UnsafeBufferPointer<Float>, format: FourBitFormat, blocksize: Int,
                                doubleQuant: Bool) throws -> FourBitBlocks {
        try FourBitFormat.checkBlocksize(blocksize)
        let n = values.count
        let blocks = (n + blocksize - 1) / blocksize
        let order = format.sortOrder
        let code = format.code
        let bounds: [Float] = (0..<15).map { (code[order[$0]] + code[order[$0 + 1]]) / 2 }
        var absmax = [Float](repeating: 0, count: blocks)
        var packed = [UInt8](repeating: 0, count: (n + 1) / 2)
        let tiny = Float(1e-38)
        let zeroIndex = UInt8(order[bucket(0, bounds)])  // allowed: sortOrder holds indices 0..<16
        for b in 0..<blocks {
            let start = b * blocksize, end = min(start + blocksize, n)
            var m: Float = 0
            for i in start..<end { m = max(m, abs(values[i])) }
            guard m.isFinite else {
                throw TensorError.nonFinite(index: (start..<end).first { !values[$0].isFinite } ?? start)
            }
            let partial = end - start < blocksize
            let clamped = max(m, tiny)
            absmax[b] = partial ? clamped : m
            let inverse = 1 / clamped
            for i in start..<end {
                let scaled = min(max(partial ? values[i] / clamped : values[i] * inverse, -1), 1)
                let q = UInt8(order[bucket(scaled, bounds)])  // allowed: sortOrder holds indices 0..<16
                packed[i >> 1] |= i & 1 == 0 ? q << 4 : q
            }
        }
        if n & 1 == 1 { packed[n >> 1] |= zeroIndex }
        let scales: FourBitScales = doubleQuant ? .nested(nest(absmax)) : .plain(absmax)
        return try FourBitBlocks(format: format, blocksize: blocksize, count: n, packed: packed, scales: scales)
    }

    /// The number of bounds strictly below `x` (torch.bucketize with right=False).
    @inline(__always)
    static func bucket(_ x: Float, _ bounds: [Float]) -> Int {
        var k = 0
        while k < bounds.count && bounds[k] < x { k += 1 }
        return k
    }

    /// Double quantization of `absmax`: offset = mean (float32, as torch's `mean` sums), then
    /// bitsandbytes' CPU 8-bit blockwise quantizer with the dynamic map and blocksize 256.
    static func nest(_ absmax: [Float]) -> NestedAbsmax {
        let offset = TorchReduction.mean(absmax)
        let shifted = absmax.map { $0 - offset }
        let (codes, outer) = BlockwiseDynamicQuantizer.quantize(shifted, code: DynamicMap.signed,
                                                                blocksize: FourBitFormat.nestedBlocksize)
        return NestedAbsmax(codes: codes, absmax: outer, offset: offset)
    }
}

/// bitsandbytes 0.50's CPU 8-bit blockwise quantizer (`cquantize_blockwise_cpu_fp32`): per block,
/// absmax = max |x| (a zero block stores codes 0); x · (1 / absmax) is clamped to [-1, 1], mapped to one of
/// 65536 evenly spaced bins, and the bin's precomputed nearest code is taken.
public enum BlockwiseDynamicQuantizer {
    static let binCount = 65536

    public static func quantize(_ values: [Float], code: [Float], blocksize: Int) -> (codes: [UInt8], absmax: [Float]) {
        let table = binTable(code)
        let blocks = (values.count + blocksize - 1) / blocksize
        var codes = [UInt8](repeating: 0, count: values.count)
        var absmax = [Float](repeating: 0, count: blocks)
        values.withUnsafeBufferPointer { v in
            codes.withUnsafeMutableBufferPointer { c in
                absmax.withUnsafeMutableBufferPointer { a in
                    for b in 0..<blocks { quantizeBlock(b, v, table: table, blocksize: blocksize, codes: c, absmax: a) }
                }
            }
        }
        return (codes, absmax)
    }

    /// Block `block` of `values` into `codes` and `absmax[block]`, with `table` = `binTable(code)`.
    @inline(__always)
    static func quantizeBlock(_ block: Int, _ values: UnsafeBufferPointer<Float>, table: [UInt8], blocksize: Int,
                              codes: UnsafeMutableBufferPointer<UInt8>, absmax: UnsafeMutableBufferPointer<Float>) {
        let start = block * blocksize, end = min(start + blocksize, values.count)
        var m: Float = 0
        for i in start..<end { m = max(m, abs(values[i])) }
        absmax[block] = m
        guard m != 0 else {
            for i in start..<end { codes[i] = 0 }
            return
        }
        let inverse = 1 / m
        for i in start..<end { codes[i] = table[bin(values[i] * inverse)] }
    }

    /// The bin of a value in [-1, 1]: (v + 1) · 0.5 · 65535 + 0.5, truncated.
    @inline(__always)
    static func bin(_ value: Float) -> Int {
        let v = value.isNaN ? 0 : min(max(value, -1), 1)
        return Int((v + 1) * 0.5 * Float(binCount - 1) + 0.5)  // allowed: v is in [-1, 1] (NaN taken as 0), so the value is in [0.5, 65535.5]
    }

    /// For each bin i (the value -1 + 2i / 65535), the index of the first code whose upper midpoint
    /// 0.5 · (c[k] + c[k+1]) is not below it.
    static func binTable(_ code: [Float]) -> [UInt8] {
        let mids: [Float] = (0..<(code.count - 1)).map { 0.5 * (code[$0] + code[$0 + 1]) }
        var table = [UInt8](repeating: 0, count: binCount)
        var k = 0
        for i in 0..<binCount {
            let value = -1 + (2 * Float(i)) / Float(binCount - 1)
            while k < mids.count && mids[k] < value { k += 1 }
            table[i] = UInt8(k)  // allowed: k counts midpoints of a 256-entry code: at most 255
        }
        return table
    }
}

/// Float32 reductions in the order torch's CPU kernels add, where a bit-exact result depends on it.
enum TorchReduction {
    /// Lanes of torch's CPU float vector on AVX2 (`Vectorized<float>::size()`).
    static let lanes = 8

    /// `tensor.mean()` of a contiguous float32 tensor as torch computes it on the CPU: its cascade sum
    /// (`vectorized_inner_sum`: 8-lane vectors in 4 interleaved rows summed in up to 4 levels, then the
    /// scalar tail, then the lanes), divided by the count in float32. Torch splits sums of 32768 or more
    /// values across threads; those may differ from this order in the last bit.
    static func mean(_ values: [Float]) -> Float {
        guard !values.isEmpty else { return .nan }
        return sum(values) / Float(values.count)
    }

    static func sum(_ x: [Float]) -> Float {
        let n = x.count
        guard n >= lanes else {
            var total: Float = 0
            for v in x { total += v }
            return total
        }
        let vectors = n / lanes
        let partial = rowSum(x, vectors: vectors)
        var total: Float = 0
        for k in (vectors * lanes)..<n { total += x[k] }
        for lane in 0..<lanes { total += partial[lane] }
        return total
    }

    /// The lane-wise sum of `vectors` 8-float vectors (torch's `row_sum` with ilp factor 4).
    static func rowSum(_ x: [Float], vectors: Int) -> [Float] {
        let ilp = 4
        let rows = vectors / ilp
        var acc = multiRowSum(x, rows: rows, ilp: ilp)   // [ilp][lanes]
        for v in (rows * ilp)..<vectors {
            for lane in 0..<lanes { acc[0][lane] += x[v * lanes + lane] }
        }
        for k in 1..<ilp {
            for lane in 0..<lanes { acc[0][lane] += acc[k][lane] }
        }
        return acc[0]
    }

    /// torch's `multi_row_sum`: row i holds vectors i·ilp ..< (i+1)·ilp; four accumulator levels, each
    /// flushed into the next every 2^levelPower rows.
    static func multiRowSum(_ x: [Float], rows: Int, ilp: Int) -> [[Float]] {
        let levels = 4
        let levelPower = max(4, ceilLog2(rows) / levels)
        let levelStep = 1 << levelPower
        let levelMask = levelStep - 1
        var acc = [[[Float]]](repeating: [[Float]](repeating: [Float](repeating: 0, count: lanes), count: ilp), count: levels)
        func addRow(_ i: Int) {
            for k in 0..<ilp {
                let base = (i * ilp + k) * lanes
                for lane in 0..<lanes { acc[0][k][lane] += x[base + lane] }
            }
        }
        var i = 0
        while i + levelStep <= rows {
            for _ in 0..<levelStep { addRow(i); i += 1 }
            for j in 1..<levels {
                for k in 0..<ilp {
                    for lane in 0..<lanes { acc[j][k][lane] += acc[j - 1][k][lane] }
                    acc[j - 1][k] = [Float](repeating: 0, count: lanes)
                }
                if i & (levelMask << (j * levelPower)) != 0 { break }
            }
        }
        while i < rows { addRow(i); i += 1 }
        for j in 1..<levels {
            for k in 0..<ilp {
                for lane in 0..<lanes { acc[0][k][lane] += acc[j][k][lane] }
            }
        }
        return acc[0]
    }

    /// ceil(log2(n)) for n >= 1, 0 for n <= 1 (c10's CeilLog2).
    static func ceilLog2(_ n: Int) -> Int {
        guard n > 1 else { return 0 }
        return Int.bitWidth - (n - 1).leadingZeroBitCount
    }
}
