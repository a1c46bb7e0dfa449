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

    /// Allocates `byteCount` bytes aligned to 64 bytes (contents undefined).
    init(byteCount: Int) throws {
        var raw: UnsafeMutableRawPointer?
        let size = max(byteCount, 64)
        guard posix_memalign(&raw, 64, size) == 0, let raw else {
            throw TensorError.allocationFailed(bytes: byteCount)
        }
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
