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

/// Writes a file atomically: bytes go to a temporary file in the destination folder, which is synced
/// and renamed over the destination by `commit()`. Readers see the old file or the complete new one,
/// never a partial one. Without `commit()` the temporary file is removed.
final class AtomicFile {
    let destination: String
    let temporary: String
    private var fd: Int32
    private var committed = false

    init(url: URL) throws {
        destination = url.path
        let folder = url.deletingLastPathComponent().path
        let name = url.lastPathComponent
        temporary = (folder.isEmpty ? "." : folder) + "/." + name + ".tmp-\(getpid())-\(String(UInt64.random(in: 0...UInt64.max), radix: 36))"
        fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FormatError.cannotWrite(path: destination, reason: MappedFile.errnoText()) }
    }

    deinit {
        if fd >= 0 { close(fd) }
        if !committed { unlink(temporary) }
    }

    /// Appends all of `bytes`, retrying short writes and EINTR.
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard var pointer = bytes.baseAddress else { return }
        var remaining = bytes.count
        while remaining > 0 {
            let written = posixWrite(fd, pointer, min(remaining, 1 << 30))
            if written < 0 {
                if errno == EINTR { continue }
                throw FormatError.cannotWrite(path: destination, reason: MappedFile.errnoText())
            }
            pointer += written
            remaining -= written
        }
    }

    func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Syncs the data, renames the temporary file over the destination and syncs the folder.
    func commit() throws {
        guard fsync(fd) == 0 else { throw FormatError.cannotWrite(path: destination, reason: MappedFile.errnoText()) }
        let status = close(fd)
        fd = -1
        guard status == 0 else { throw FormatError.cannotWrite(path: destination, reason: MappedFile.errnoText()) }
        guard rename(temporary, destination) == 0 else {
            throw FormatError.cannotWrite(path: destination, reason: MappedFile.errnoText())
        }
        committed = true
        // Make the rename durable; failure here leaves a complete file, so it is not reported.
        let folder = URL(fileURLWithPath: destination).deletingLastPathComponent().path
        let dirfd = open(folder.isEmpty ? "." : folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirfd >= 0 {
            _ = fsync(dirfd)
            close(dirfd)
        }
    }

    /// Writes `bytes` to `url` atomically.
    static func write(_ bytes: [UInt8], to url: URL) throws {
        let file = try AtomicFile(url: url)
        try file.write(bytes)
        try file.commit()
    }
}

private func posixWrite(_ fd: Int32, _ pointer: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, pointer, count)
}
