extension CPUBackend {
    /// bf16 / f16 operands of more values than this are widened to f32 a block of rows at a time inside a
    /// product, so a GEMM never holds all of a large half-precision weight in f32 (a tied 151 936 × 1536
    /// embedding used as the output layer would take 0.93 GB at once). 2^24 values: 64 MiB of f32.
    static let widenBlockElements = 1 << 24

    /// ggml-block operands are decoded this many values at a time: 2^22 values, 16 MiB of f32 (8 MiB as bf16).
    static let decodeBlockElements = 1 << 22

    /// c[m, n] = alpha · op(a) · op(b) + beta · c with a half-precision or ggml-block `b` made f32
    /// `blockElements` values at a time (whole rows of b). b's rows are contiguous: with transposeB, b is
    /// [n, k] and a block of its rows is a block of c's columns (computed in a contiguous [m, rows] scratch
    /// and copied into c); without, b is [k, n] and a block of its rows is a slice of the inner dimension,
    /// accumulated into c (beta on the first block, 1 after). With `bf16Products` (ggml blocks only) each
    /// block is decoded straight to bf16 (rounded to nearest even, as an f32 weight is at load) and
    /// multiplied by oneDNN's bf16 product. Fast kernels only; the sums are ordered per block.
    func gemmWideningInBlocks(_ pa: UnsafePointer<Float>, transposeA: Bool, _ b: Tensor, transposeB: Bool,
                              _ pc: UnsafeMutablePointer<Float>, m: Int, n: Int, k: Int, alpha: Float, beta: Float,
                              blockElements: Int = widenBlockElements, bf16Products: Bool = false) throws {
        let rowLength = transposeB ? k : n, rowsOfB = transposeB ? n : k
        let blockRows = max(1, blockElements / max(rowLength, 1)), blockValues = min(blockRows, rowsOfB) * rowLength
        let base = try raw(b, op: "gemm")
        let block = b.dtype.ggmlBlockType
        if block == nil { try requireDType(b, [.bf16, .f16], op: "gemm", argument: "b") }
        precondition(!bf16Products || block != nil, "bf16 products in blocks are for ggml-block weights")
        // The block of b's rows in f32 (or, with bf16Products, in bf16).
        let widened = UnsafeMutablePointer<Float>.allocate(capacity: bf16Products ? 1 : blockValues)  // [rows, rowLength]
        defer { widened.deallocate() }
        let halves = UnsafeMutablePointer<UInt16>.allocate(capacity: bf16Products ? blockValues : 1)  // [rows, rowLength] in bf16
        defer { halves.deallocate() }
        func load(_ rows: Range<Int>) {
            if let block {
                let source = UnsafePointer(base.assumingMemoryBound(to: UInt8.self))
                if bf16Products {
                    Self.decodeRows(source, block: block, rowLength: rowLength, rows: rows, intoBF16: halves)
                } else {
                    Self.decodeRows(source, block: block, rowLength: rowLength, rows: rows, into: widened)
                }
            } else {
                let source = UnsafePointer(base.assumingMemoryBound(to: UInt16.self))
                Self.widen(source + rows.lowerBound * rowLength, bf16: b.dtype == .bf16, count: rows.count * rowLength, into: widened)
            }
        }
        // One block's product: c' = alpha · op(a') · op(block) + beta' · c'.
        func product(_ a: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>, m: Int, n: Int, k: Int, beta: Float) throws {
            if bf16Products {
                try gemmBF16Products(a, transposeA: transposeA, halves, transposeB: transposeB, c, m: m, n: n, k: k, alpha: alpha, beta: beta)
            } else {
                CPUFast.gemm(a, transposeA: transposeA, widened, transposeB: transposeB, c, m: m, n: n, k: k, alpha: alpha, beta: beta)
            }
        }
        // The other operand's block: c's columns (transposeB), or a's columns when a is not transposed.
        let side = UnsafeMutablePointer<Float>.allocate(capacity: transposeB || !transposeA ? max(m * min(blockRows, rowsOfB), 1) : 1)  // [m, rows]
        defer { side.deallocate() }
        var r0 = 0
        while r0 < rowsOfB {
            let rows = min(blockRows, rowsOfB - r0)
            load(r0..<(r0 + rows))
            if transposeB {
                // c[:, r0 ..< r0 + rows] through side [m, rows]
                if beta != 0 {
                    for i in 0..<m { (side + i * rows).update(from: pc + i * n + r0, count: rows) }
                }
                try product(pa, side, m: m, n: rows, k: k, beta: beta)
                for i in 0..<m { (pc + i * n + r0).update(from: side + i * rows, count: rows) }
            } else {
                // c += alpha · op(a)[:, r0 ..< r0 + rows] · widened[rows, n]
                let blockBeta = r0 == 0 ? beta : 1
                if transposeA {
                    // a is [k, m]: its rows r0 ..< r0 + rows are contiguous, with lda m.
                    try product(pa + r0 * m, pc, m: m, n: n, k: rows, beta: blockBeta)
                } else {
                    // a is [m, k]: copy its columns r0 ..< r0 + rows into side [m, rows].
                    for i in 0..<m { (side + i * rows).update(from: pa + i * k + r0, count: rows) }
                    try product(side, pc, m: m, n: n, k: rows, beta: blockBeta)
                }
            }
            r0 += rows
        }
    }
}
