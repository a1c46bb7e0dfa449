#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Host memory for the CPU backend: either an aligned allocation it owns, or an alias of bytes
/// owned by someone else (a memory-mapped file), kept alive through `owner`.
public final class CPUStorage: TensorStorage, @unchecked Sendable {
    public let pointer: UnsafeMutableRawPointer
    public let byteCount: Int
    private let owns: Bool
    private let owner: AnyObject?

    /// Allocations of at least this many bytes are aligned to 2 MiB and offered huge pages.
    static let hugePageBytes = 2 << 20

    /// Allocates `byteCount` bytes aligned to 64 bytes (contents undefined). Large ones (weights,
    /// activations) are aligned to 2 MiB and marked for transparent huge pages, which spares the
    /// TLB when decoding streams every weight once per token; the kernel may ignore the hint.
    init(byteCount: Int) throws {
        var raw: UnsafeMutableRawPointer?
        let size = max(byteCount, 64)
        let large = size >= Self.hugePageBytes
        guard posix_memalign(&raw, large ? Self.hugePageBytes : 64, size) == 0, let raw else {
            throw TensorError.allocationFailed(bytes: byteCount)
        }
        #if os(Linux)
        if large { _ = madvise(raw, size / Self.hugePageBytes * Self.hugePageBytes, MADV_HUGEPAGE) }
        #endif
        self.pointer = raw
        self.byteCount = byteCount
        self.owns = true
        self.owner = nil
    }

    /// Aliases `bytes` without copying; `owner` is retained as long as this storage lives.
    init(aliasing bytes: UnsafeRawBufferPointer, owner: AnyObject?) {
        // The backend never writes through aliased storage of frozen weights.
        self.pointer = UnsafeMutableRawPointer(mutating: bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 64)!)
        self.byteCount = bytes.count
        self.owns = false
        self.owner = owner
    }

    deinit {
        if owns { free(pointer) }
    }
}
