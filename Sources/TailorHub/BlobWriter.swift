import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Appends to a `.incomplete` blob with write(2), so a full disk is told apart (ENOSPC) from other failures.
final class BlobWriter: @unchecked Sendable {
    let url: URL
    private var descriptor: Int32
    private(set) var size: Int64

    init(_ url: URL) throws {
        self.url = url
        descriptor = open(url.path, O_WRONLY | O_CREAT, 0o644)
        guard descriptor >= 0 else { throw Self.error(url, errno, needed: nil) }
        let end = lseek(descriptor, 0, SEEK_END)
        size = Int64(end)  // allowed: off_t is Int64 on Linux
    }

    /// Drops what was written (the server ignored the Range request and sends the whole file).
    func restart() throws {
        guard ftruncate(descriptor, 0) == 0, lseek(descriptor, 0, SEEK_SET) == 0 else { throw Self.error(url, errno, needed: nil) }
        size = 0
    }

    func write(_ data: Data) throws {
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            var done = 0
            while done < raw.count {
                let n = Glibc.write(descriptor, raw.baseAddress! + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw Self.error(url, errno, needed: Int64(raw.count - done))  // allowed: a count widens
                }
                done += n
            }
        }
        size += Int64(data.count)  // allowed: a count widens
    }

    func close() {
        guard descriptor >= 0 else { return }
        _ = Glibc.close(descriptor)
        descriptor = -1
    }

    deinit { close() }

    static func error(_ url: URL, _ code: Int32, needed: Int64?) -> HubError {
        if code == ENOSPC || code == EDQUOT { return .diskFull(path: url.path, needed: needed) }
        return .fileSystem(path: url.path, message: String(cString: strerror(code)))
    }
}
