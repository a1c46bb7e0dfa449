#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole file mapped read-only (`PROT_READ`, `MAP_PRIVATE`) into memory.
///
/// The mapping lives exactly as long as this object; every buffer handed out by `bytes(at:count:)` is
/// valid only while the `MappedFile` is alive. An empty file maps to an empty buffer. If another process
/// truncates the file while it is mapped, reading the lost pages raises SIGBUS — the usual mmap caveat.
final class MappedFile: @unchecked Sendable {
    // @unchecked: the mapping is immutable after init and unmapped only in deinit.
    let path: String
    let size: Int
    private let base: UnsafeRawPointer?

    init(url: URL) throws {
        let path = url.path
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FormatError.cannotOpen(path: path, reason: MappedFile.errnoText()) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw FormatError.cannotOpen(path: path, reason: MappedFile.errnoText()) }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw FormatError.cannotOpen(path: path, reason: "not a regular file")
        }
        let size = Int(info.st_size)  // allowed: off_t is Int64, as wide as Int on the 64-bit platforms Tailor builds for
        self.size = size
        if size == 0 {
            base = nil
            return
        }
        guard let pointer = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), pointer != MAP_FAILED else {
            throw FormatError.cannotOpen(path: path, reason: "mmap failed: " + MappedFile.errnoText())
        }
        base = UnsafeRawPointer(pointer)
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), size) }
    }

    /// The whole file.
    var all: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: base == nil ? 0 : size) }

    /// `count` bytes from `offset`, or nil when the range does not lie inside the file.
    func bytes(at offset: Int, count: Int) -> UnsafeRawBufferPointer? {
        guard offset >= 0, count >= 0, offset <= size, count <= size - offset else { return nil }
        guard let base else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: base + offset, count: count)
    }

    /// Tells the kernel this process is done with `buffer`'s pages (madvise MADV_DONTNEED on the whole pages
    /// inside it): they leave the resident set, and a later read faults them in again from the file.
    func dropPages(_ buffer: UnsafeRawBufferPointer) {
        guard let start = buffer.baseAddress, buffer.count > 0 else { return }
        let page = max(sysconf(Int32(_SC_PAGESIZE)), 1)  // allowed: a small libc constant
        let first = (Int(bitPattern: start) + page - 1) / page * page, end = (Int(bitPattern: start) + buffer.count) / page * page
        guard end > first, let pointer = UnsafeMutableRawPointer(bitPattern: first) else { return }
        _ = madvise(pointer, end - first, Int32(MADV_DONTNEED))  // allowed: a small libc constant
    }

    static func errnoText() -> String {
        let code = errno
        if let text = strerror(code) { return String(cString: text) + " (errno \(code))" }
        return "errno \(code)"
    }
}
