import TailorTensor

/// Device memory from the backend's caching allocator; returned to the cache when the last
/// tensor viewing it goes away.
final class CUDAStorage: TensorStorage, @unchecked Sendable {
    let address: UInt64
    let byteCount: Int
    private let blockSize: Int
    private let allocator: DeviceAllocator

    init(byteCount: Int, allocator: DeviceAllocator) throws {
        let block = try allocator.allocate(byteCount: max(byteCount, 1))
        (address, blockSize, self.byteCount, self.allocator) = (block.address, block.size, byteCount, allocator)
    }

    deinit { allocator.release(address, size: blockSize) }
}
