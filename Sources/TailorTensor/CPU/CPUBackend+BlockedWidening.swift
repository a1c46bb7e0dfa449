extension CPUBackend {
    /// bf16 / f16 operands of more values than this are widened to f32 a block of rows at a time inside a
    /// product, so a GEMM never holds all of a large half-precision weight in f32 (a tied 151 936 × 1536
    /// embedding used as the output layer would take 0.93 GB at once). 2^24 values: 64 MiB of f32.
    static let widenBlockElements = 1 << 24

    /// c[m, n] = alpha · op(a) · op(b) + beta · c with a half-precision `b` widened `widenBlockElements`
    /// at a time. b's rows are contiguous: with transposeB, b is [n, k] and a block of its rows is a block
    /// of c's columns (computed in a contiguous [m, rows] scratch and copied into c); without, b is [k, n]
    /// and a block of its rows is a slice of the inner dimension, accumulated into c (beta on the first
    /// block, 1 after). Fast kernels only; the sums are ordered per block.
    func gemmWideningInBlocks(_ pa: UnsafePointer<Float>, transposeA: Bool, _ b: Tensor, transposeB: Bool,
                              _ pc: UnsafeMutablePointer<Float>, m: Int, n: Int, k: Int, alpha: Float, beta: Float,
                              blockElements: Int = widenBlockElements) throws {
        let source = try raw(b, op: "gemm").assumingMemoryBound(to: UInt16.self)
        let isBF16 = b.dtype == .bf16
        let rowLength = transposeB ? k : n, rowsOfB = transposeB ? n : k
        let blockRows = max(1, blockElements / max(rowLength, 1))
        let widened = UnsafeMutablePointer<Float>.allocate(capacity: min(blockRows, rowsOfB) * rowLength)  // [rows, rowLength]
        defer { widened.deallocate() }
        // The other operand's block: c's columns (transposeB), or a's columns when a is not transposed.
        let side = UnsafeMutablePointer<Float>.allocate(capacity: max(m * min(blockRows, rowsOfB), 1))  // [m, rows]
        defer { side.deallocate() }
        var r0 = 0
        while r0 < rowsOfB {
            let rows = min(blockRows, rowsOfB - r0)
            Self.widen(source + r0 * rowLength, bf16: isBF16, count: rows * rowLength, into: widened)
            if transposeB {
                // c[:, r0 ..< r0 + rows] through side [m, rows]
                if beta != 0 {
                    for i in 0..<m { (side + i * rows).update(from: pc + i * n + r0, count: rows) }
                }
                CPUFast.gemm(pa, transposeA: transposeA, widened, transposeB: true, side, m: m, n: rows, k: k, alpha: alpha, beta: beta)
                for i in 0..<m { (pc + i * n + r0).update(from: side + i * rows, count: rows) }
            } else {
                // c += alpha · op(a)[:, r0 ..< r0 + rows] · widened[rows, n]
                let blockBeta = r0 == 0 ? beta : 1
                if transposeA {
                    // a is [k, m]: its rows r0 ..< r0 + rows are contiguous, with lda m.
                    CPUFast.gemm(pa + r0 * m, transposeA: true, widened, transposeB: false, pc, m: m, n: n, k: rows,
                                 alpha: alpha, beta: blockBeta)
                } else {
                    // a is [m, k]: copy its columns r0 ..< r0 + rows into side [m, rows].
                    for i in 0..<m { (side + i * rows).update(from: pa + i * k + r0, count: rows) }
                    CPUFast.gemm(side, transposeA: false, widened, transposeB: false, pc, m: m, n: n, k: rows,
                                 alpha: alpha, beta: blockBeta)
                }
            }
            r0 += rows
        }
    }
}
