/// Frozen weights kept in llama.cpp's blocks (`DType.q4_0` ... `.q6_K`): a `CPUStorage` holding the
/// tensor's bytes as the GGUF file stores them (aliased from the mapped file, or copied when rows were
/// reordered), each row of the last dimension a whole number of blocks. Products decode the rows they
/// need (`rowDecoder`, `CPUBackend+BlockedWidening`: a block of rows at a time, in f32 or bf16); nothing keeps an
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

    /// Rows `indices` of a ggml-block matrix `source` [rows, cols] decoded into `dst` [indices.count, cols]
    /// (an embedding lookup of a quantized token embedding).
    func gatherDecodedRows(_ source: Tensor, indices: UnsafePointer<Int32>, count: Int, into dst: UnsafeMutablePointer<Float>) throws {
        let cols = source.shape.last ?? 1
        let decoder = try rowDecoder(source, rowLength: cols, op: "gatherRows")
        Parallel.forEachChunk(count, costPerItem: cols) { range in
            for i in range { decoder(Int(indices[i]), dst + i * cols) }  // allowed: Int32 ids widen to Int
        }
    }
}
