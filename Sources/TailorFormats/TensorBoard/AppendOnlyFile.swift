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

/// A file written only at its end, one complete record per `append` (TensorBoard event files, metrics.jsonl).
///
/// These streams are not written atomically as a whole: each record goes to the kernel in one `write(2)`
/// loop straight away (no user-space buffer), so a crashed or killed run leaves every record appended
/// before the crash complete, and at worst a torn last record after a power loss. Readers (TensorBoard,
/// `json.loads` per line) stop at or skip a torn tail. `sync()` forces the data to disk.
public final class AppendOnlyFile {
    public let path: String
    private var fd: Int32

    /// Opens `path` for appending, creating it (mode 0644) if absent.
    /// - Throws: `FormatError.cannotWrite` when the file cannot be opened or created.
    public init(path: String, truncate: Bool = false) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (truncate ? O_TRUNC : 0), 0o644)
        guard fd >= 0 else { throw FormatError.cannotWrite(path: path, reason: MappedFile.errnoText()) }
    }

    deinit { close() }

    /// Appends all of `bytes`, retrying short writes and EINTR.
    /// - Throws: `FormatError.cannotWrite` on an OS error or after `close()`.
    public func append(_ bytes: [UInt8]) throws {
        guard fd >= 0 else { throw FormatError.cannotWrite(path: path, reason: "the file was closed") }
        try bytes.withUnsafeBytes { buffer in
            guard var pointer = buffer.baseAddress else { return }
            var remaining = buffer.count
            while remaining > 0 {
                let written = Self.posixWrite(fd, pointer, remaining)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw FormatError.cannotWrite(path: path, reason: MappedFile.errnoText())
                }
                pointer += written
                remaining -= written
            }
        }
    }

    /// Flushes the file's data to the disk (`fsync`).
    public func sync() throws {
        guard fd >= 0 else { return }
        guard fsync(fd) == 0 else { throw FormatError.cannotWrite(path: path, reason: MappedFile.errnoText()) }
    }

    /// Closes the file; later appends throw. Calling it twice is harmless.
    public func close() {
        if fd >= 0 {
            _ = Self.posixClose(fd)
            fd = -1
        }
    }

    private static func posixWrite(_ fd: Int32, _ pointer: UnsafeRawPointer, _ count: Int) -> Int {
        write(fd, pointer, count)
    }

    private static func posixClose(_ fd: Int32) -> Int32 {
        #if canImport(Glibc)
        Glibc.close(fd)
        #elseif canImport(Musl)
        Musl.close(fd)
        #else
        Darwin.close(fd)
        #endif
    }
}
