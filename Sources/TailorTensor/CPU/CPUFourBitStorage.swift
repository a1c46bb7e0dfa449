/// Host memory of a 4-bit frozen weight on the CPU: the packed codes and scales, nothing widened.
/// `byteCount` is what it really holds (codes, absmax or nested absmax, offset and map).
public final class CPUFourBitStorage: TensorStorage, @unchecked Sendable {
    public let blocks: FourBitBlocks

    init(_ blocks: FourBitBlocks) { self.blocks = blocks }

    public var byteCount: Int { blocks.byteCount }
}

extension CPUBackend {
    func fourBit(_ tensor: Tensor, op: String) throws -> CPUFourBitStorage {
        guard let storage = tensor.storage as? CPUFourBitStorage else { throw TensorError.foreignStorage(op: op, backend: name) }
        return storage
    }

    /// Calls `body` with the weight dequantized into a scratch buffer (float32, as bitsandbytes'
    /// `dequantize_4bit` computes it), in parallel chunks, freed when `body` returns.
    func withDequantized<R>(_ tensor: Tensor, op: String, _ body: (UnsafePointer<Float>) throws -> R) throws -> R {
        let blocks = try fourBit(tensor, op: op).blocks
        let count = blocks.count
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
        defer { scratch.deallocate() }
        let absmax = blocks.absmax()
        let odd = (tensor.shape.last ?? 0) % 2 == 1
        Parallel.forEachChunk(count, costPerItem: 2) { range in
            blocks.dequantize(range, absmax: absmax, oddLastDimension: odd, into: scratch + range.lowerBound)
        }
        return try body(scratch)
    }
}
