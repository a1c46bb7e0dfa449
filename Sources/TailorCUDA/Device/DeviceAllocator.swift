/// A caching allocator over a `CUDADevice`, in the manner of PyTorch's: freed blocks are kept
/// by rounded size and reused, so the training loop's per-step tensors cost no cuMemAlloc /
/// cuMemFree (which synchronise the device). One stream orders every use, so a block freed by
/// the host may be handed out again at once: later work on the stream runs after earlier work.
public final class DeviceAllocator: @unchecked Sendable {
    public let device: any CUDADevice
    private let lock = Mutex()
    private var cache: [Int: [UInt64]] = [:]
    /// Bytes handed out and not yet released (rounded sizes).
    public private(set) var allocatedBytes = 0
    /// The most `allocatedBytes` has been: the peak device memory the tensors needed.
    public private(set) var peakAllocatedBytes = 0
    /// Bytes held from the device, in use or cached.
    public private(set) var reservedBytes = 0
    public private(set) var peakReservedBytes = 0

    public init(device: any CUDADevice) { self.device = device }

    /// The size a request is served with: 512-byte steps below 1 MiB, 128 KiB steps below
    /// 64 MiB, 2 MiB steps above (waste at most 1/8 of a small block, 2 MiB of a large one).
    public static func roundedSize(_ byteCount: Int) -> Int {
        let step = byteCount < 1 << 20 ? 512 : byteCount < 64 << 20 ? 128 << 10 : 2 << 20
        return max(step, (byteCount + step - 1) / step * step)
    }

    /// A block of at least `byteCount` bytes: a cached one of the same rounded size, or a new one
    /// (after returning the whole cache to the device if the device is full).
    public func allocate(byteCount: Int) throws -> (address: UInt64, size: Int) {
        let size = Self.roundedSize(byteCount)
        if let reused: UInt64 = lock.withLock({
            guard let address = cache[size]?.popLast() else { return nil }
            allocatedBytes += size
            peakAllocatedBytes = max(peakAllocatedBytes, allocatedBytes)
            return address
        }) {
            return (reused, size)
        }
        let address: UInt64
        do {
            address = try device.allocate(byteCount: size)
        } catch {
            emptyCache()
            address = try device.allocate(byteCount: size)
        }
        lock.withLock {
            allocatedBytes += size
            reservedBytes += size
            peakAllocatedBytes = max(peakAllocatedBytes, allocatedBytes)
            peakReservedBytes = max(peakReservedBytes, reservedBytes)
        }
        return (address, size)
    }

    /// Returns a block to the cache.
    public func release(_ address: UInt64, size: Int) {
        lock.withLock {
            allocatedBytes -= size
            cache[size, default: []].append(address)
        }
    }

    /// Gives every cached block back to the device.
    public func emptyCache() {
        let blocks: [(UInt64, Int)] = lock.withLock {
            let all = cache.flatMap { size, addresses in addresses.map { ($0, size) } }
            cache.removeAll()
            reservedBytes -= all.reduce(0) { $0 + $1.1 }
            return all
        }
        for (address, _) in blocks { device.free(address) }
    }

    /// Forgets the peaks (for measuring one phase).
    public func resetPeaks() {
        lock.withLock {
            peakAllocatedBytes = allocatedBytes
            peakReservedBytes = reservedBytes
        }
    }
}
