extension CPUBackend {
    /// bf16 / f16 operands of more values than this are widened to f32 a block of rows at a time inside a
    /// product, so a GEMM never holds all of a large half-precision weight in f32 (a tied 151 936 × 1536
    /// embedding used as the output layer would take 0.93 GB at once). 2^24 values: 64 MiB of f32.
    static let widenBlockElements = 1 << 24

    /// Block-quantized operands (ggml, 4-bit) are decoded this many values at a time: 2^22 values, 16 MiB of f32 (8 MiB as bf16).
    static let decodeBlockElements = 1 << 22

    /// c[m, n] = alpha · op(a) · op(b) + beta · c with a half-precision or block-quantized `b` made f32
    /// `blockElements` values at a time (whole rows of b). b's rows are contiguous: with transposeB, b is
    /// [n, k] and a block of its rows is a block of c's columns (computed in a contiguous [m, rows] scratch
    /// and copied into c); without, b is [k, n] and a block of its rows is a slice of the inner dimension,
    /// accumulated into c (beta on the first block, 1 after). With `bf16Products` (block-quantized weights
    /// only) each block is decoded straight to bf16 (rounded to nearest even, as an f32 weight is at load) and
    /// multiplied by oneDNN's bf16 product. Fast kernels only; the sums are ordered per block.
    func gemmWideningInBlocks(_ pa: UnsafePointer<Float>, transposeA: Bool, _ b: Tensor, transposeB: Bool,
                              _ pc: UnsafeMutablePointer<Float>, m: Int, n: Int, k: Int, alpha: Float, beta: Float,
                              blockElements: Int = widenBlockElements, bf16Products: Bool = false) throws {
        let rowLength = transposeB ? k : n, rowsOfB = transposeB ? n : k
        let blockRows = max(1, blockElements / max(rowLength, 1)), blockValues = min(blockRows, rowsOfB) * rowLength
        let decoder = b.dtype.isBlockQuantized ? try rowDecoder(b, rowLength: rowLength, op: "gemm") : nil
        if decoder == nil { try requireDType(b, [.bf16, .f16], op: "gemm", argument: "b") }
        precondition(!bf16Products || decoder != nil, "bf16 products in blocks are for block-quantized weights")
        // The block of b's rows in f32 (or, with bf16Products, in bf16).
        let widened = UnsafeMutablePointer<Float>.allocate(capacity: bf16Products ? 1 : blockValues)  // [rows, rowLength]
        defer { widened.deallocate() }
        let halves = UnsafeMutablePointer<UInt16>.allocate(capacity: bf16Products ? blockValues : 1)  // [rows, rowLength] in bf16
        defer { halves.deallocate() }
        func load(_ rows: Range<Int>) throws {
            if let decoder {
                if bf16Products {
                    Self.decodeRows(decoder, rowLength: rowLength, rows: rows, intoBF16: halves)
                } else {
                    Self.decodeRows(decoder, rowLength: rowLength, rows: rows, into: widened)
                }
            } else {
                let source = UnsafePointer(try raw(b, op: "gemm").assumingMemoryBound(to: UInt16.self))
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
            try load(r0..<(r0 + rows))
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

    /// Writes row `r` of a block-quantized matrix (rows of `rowLength` values: ggml blocks, or a bitsandbytes 4-bit
    /// tensor's elements r · rowLength ..< (r + 1) · rowLength) as f32 into a buffer, as the tensor's `download` decodes it.
    typealias RowDecoder = (_ row: Int, _ out: UnsafeMutablePointer<Float>) -> Void

    /// The row decoder of a ggml-block or 4-bit `tensor` read as rows of `rowLength` values.
    func rowDecoder(_ tensor: Tensor, rowLength: Int, op: String) throws -> RowDecoder {
        if let block = tensor.dtype.ggmlBlockType {
            let source = UnsafePointer(try raw(tensor, op: op).assumingMemoryBound(to: UInt8.self))
            let blocksPerRow = rowLength / block.blockSize, rowBytes = blocksPerRow * block.typeSize
            return { r, out in block.decode(source + r * rowBytes, blocks: blocksPerRow, into: out) }
        }
        let blocks = try fourBit(tensor, op: op).blocks
        let absmax = blocks.absmax(), odd = (tensor.shape.last ?? 0) % 2 == 1
        return { r, out in blocks.dequantize((r * rowLength)..<((r + 1) * rowLength), absmax: absmax, oddLastDimension: odd, into: out) }
    }

    /// Calls `body` with all of a block-quantized tensor (ggml or 4-bit) decoded to f32 in a scratch buffer,
    /// as its `download` reads, freed when `body` returns.
    func withDecoded<R>(_ tensor: Tensor, op: String, _ body: (UnsafePointer<Float>) throws -> R) throws -> R {
        let rowLength = max(tensor.shape.last ?? 1, 1), count = tensor.count
        let decoder = try rowDecoder(tensor, rowLength: rowLength, op: op)
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))  // [rows, rowLength]
        defer { scratch.deallocate() }
        Self.decodeRows(decoder, rowLength: rowLength, rows: 0..<(count / rowLength), into: scratch)
        return try body(scratch)
    }

    /// Decodes rows `rows` into `out` ([rows.count, rowLength] f32), in parallel chunks of rows.
    static func decodeRows(_ decoder: RowDecoder, rowLength: Int, rows: Range<Int>, into out: UnsafeMutablePointer<Float>) {
        Parallel.forEachChunk(rows.count, costPerItem: rowLength) { chunk in
            for r in chunk { decoder(rows.lowerBound + r, out + r * rowLength) }
        }
    }

    /// `decodeRows` rounded to bf16 (nearest even) into `out` ([rows.count, rowLength]), a row at a time through f32.
    static func decodeRows(_ decoder: RowDecoder, rowLength: Int, rows: Range<Int>, intoBF16 out: UnsafeMutablePointer<UInt16>) {
        Parallel.forEachChunk(rows.count, costPerItem: rowLength) { chunk in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: max(rowLength, 1)) { row in
                guard let values = row.baseAddress else { return }
                for r in chunk {
                    decoder(rows.lowerBound + r, values)
                    HalfPrecision.floatsToBF16(values, out + r * rowLength, count: rowLength)
                }
            }
        }
    }

    /// c[m, n] = alpha · op(a) · op(b) + beta · c for a block-quantized `b` (ggml blocks, or bitsandbytes' 4-bit ones):
    /// the fast kernels decode a block of b's rows at a time (`gemmWideningInBlocks`); the reference ones decode all
    /// of it. With bf16 products (`MatmulPrecision.halfInputs`) both operands are rounded to bf16 first, as for a
    /// bf16 weight (bitsandbytes' `bnb_4bit_compute_dtype=torch.bfloat16` dequantizes to bf16 the same way).
    func gemmDecodingBlocks(_ pa: UnsafePointer<Float>, transposeA: Bool, _ b: Tensor, transposeB: Bool,
                            _ pc: UnsafeMutablePointer<Float>, m: Int, n: Int, k: Int, alpha: Float, beta: Float) throws {
        let halves = matmul == .halfInputs
        if kernels == .fast {
            try gemmWideningInBlocks(pa, transposeA: transposeA, b, transposeB: transposeB, pc, m: m, n: n, k: k, alpha: alpha, beta: beta,
                                     blockElements: Self.decodeBlockElements, bf16Products: halves)
            return
        }
        try withFloats(b, op: "gemm", "b") { pb in
            guard halves else {
                CPUReference.gemm(pa, transposeA: transposeA, pb, transposeB: transposeB, pc, m: m, n: n, k: k, alpha: alpha, beta: beta)
                return
            }
            let (ra, rb) = (Self.roundedToBF16(pa, count: m * k), Self.roundedToBF16(pb, count: n * k))
            CPUReference.gemm(ra, transposeA: transposeA, rb, transposeB: transposeB, pc, m: m, n: n, k: k, alpha: alpha, beta: beta)
        }
    }
}
