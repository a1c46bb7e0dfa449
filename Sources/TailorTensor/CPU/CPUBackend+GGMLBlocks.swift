/// Frozen weights kept in llama.cpp's blocks (`DType.q4_0` ... `.q6_K`): a `CPUStorage` holding the
/// tensor's bytes as the GGUF file stores them (aliased from the mapped file, or copied when rows were
/// reordered), each row of the last dimension a whole number of blocks. Products decode the rows they
/// need into f32 scratch (`withFloats`, or a block of rows at a time for large weights); nothing keeps an
/// f32 copy.
extension CPUBackend {
    /// Bytes a `block` tensor of `shape` takes, or a clear error when its rows are not whole blocks.
    static func ggmlByteCount(_ block: GGMLBlockType, shape: [Int]) throws -> Int {
        let rowLength = shape.last ?? 1, rows = shape.dropLast().reduce(1, *)
        guard rowLength % block.blockSize == 0 else {
            throw TensorError.rowsNotWholeBlocks(dtype: DType(block), rowLength: rowLength, blockSize: block.blockSize)
        }
        return rows * (rowLength / block.blockSize) * block.typeSize
    }

    /// Decodes rows `rows` of a `block` tensor whose bytes start at `source` into `out` ([rows.count, rowLength]
    /// f32), in parallel chunks of rows.
    static func decodeRows(_ source: UnsafePointer<UInt8>, block: GGMLBlockType, rowLength: Int, rows: Range<Int>,
                           into out: UnsafeMutablePointer<Float>) {
        let blocksPerRow = rowLength / block.blockSize, rowBytes = blocksPerRow * block.typeSize
        Parallel.forEachChunk(rows.count, costPerItem: rowLength) { chunk in
            for r in chunk {
                block.decode(source + (rows.lowerBound + r) * rowBytes, blocks: blocksPerRow, into: out + r * rowLength)
            }
        }
    }

    /// `decodeRows` rounded to bf16 (nearest even) into `out` ([rows.count, rowLength]), a row at a time through f32.
    static func decodeRows(_ source: UnsafePointer<UInt8>, block: GGMLBlockType, rowLength: Int, rows: Range<Int>,
                           intoBF16 out: UnsafeMutablePointer<UInt16>) {
        let blocksPerRow = rowLength / block.blockSize, rowBytes = blocksPerRow * block.typeSize
        Parallel.forEachChunk(rows.count, costPerItem: rowLength) { chunk in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: max(rowLength, 1)) { row in
                guard let values = row.baseAddress else { return }
                for r in chunk {
                    block.decode(source + (rows.lowerBound + r) * rowBytes, blocks: blocksPerRow, into: values)
                    HalfPrecision.floatsToBF16(values, out + r * rowLength, count: rowLength)
                }
            }
        }
    }

    /// Calls `body` with all of a ggml-block tensor decoded to f32 in a scratch buffer, freed when `body` returns.
    func withDecoded<R>(_ tensor: Tensor, block: GGMLBlockType, op: String, _ body: (UnsafePointer<Float>) throws -> R) throws -> R {
        let source = UnsafePointer(try raw(tensor, op: op).assumingMemoryBound(to: UInt8.self))
        let rowLength = tensor.shape.last ?? 1, count = tensor.count
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))  // [rows, rowLength]
        defer { scratch.deallocate() }
        Self.decodeRows(source, block: block, rowLength: rowLength, rows: 0..<(count / max(rowLength, 1)), into: scratch)
        return try body(scratch)
    }

    /// Rows `indices` of a ggml-block matrix `source` [rows, cols] decoded into `dst` [indices.count, cols]
    /// (an embedding lookup of a quantized token embedding).
    func gatherDecodedRows(_ source: Tensor, block: GGMLBlockType, indices: UnsafePointer<Int32>, count: Int,
                           into dst: UnsafeMutablePointer<Float>) throws {
        let base = UnsafePointer(try raw(source, op: "gatherRows").assumingMemoryBound(to: UInt8.self))
        let cols = source.shape.last ?? 1
        let blocksPerRow = cols / block.blockSize, rowBytes = blocksPerRow * block.typeSize
        Parallel.forEachChunk(count, costPerItem: cols) { range in
            for i in range {
                block.decode(base + Int(indices[i]) * rowBytes, blocks: blocksPerRow, into: dst + i * cols)  // allowed: Int32 ids widen to Int
            }
        }
    }

    /// c[m, n] = alpha · op(a) · op(b) + beta · c for a ggml-block `b`: the fast kernels decode a block of b's
    /// rows at a time (`gemmWideningInBlocks`); the reference ones decode all of it. With bf16 products
    /// (`MatmulPrecision.halfInputs`) both operands are rounded to bf16 first, as for a bf16 weight.
    func gemmDecodingGGML(_ pa: UnsafePointer<Float>, transposeA: Bool, _ b: Tensor, transposeB: Bool,
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
