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
}
