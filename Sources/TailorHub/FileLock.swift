import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An exclusive `flock(2)` on a lock file: the lock Python's `filelock` (and so huggingface_hub's
/// `WeakFileLock`) takes on `<cache>/.locks/<repo folder>/<etag>.lock`, so Tailor and huggingface_hub never
/// write one blob at once. Released by `unlock()` or when the process ends.
final class FileLock: @unchecked Sendable {
    private var descriptor: Int32

    private init(descriptor: Int32) { self.descriptor = descriptor }

    /// Waits (polling, without blocking a thread) until the lock is ours.
    static func acquire(_ url: URL, onWait: () -> Void = {}) async throws -> FileLock {
        do { try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true) } catch {
            throw HubError.fileSystem(path: url.deletingLastPathComponent().path, message: "cannot create the lock folder: \(error.localizedDescription)")
        }
        let fd = open(url.path, O_RDWR | O_CREAT, 0o664)
        guard fd >= 0 else { throw HubError.fileSystem(path: url.path, message: "cannot open the lock file: \(String(cString: strerror(errno)))") }
        var waited = false
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            if !waited { onWait(); waited = true }
            guard errno == EWOULDBLOCK || errno == EINTR else {
                let message = String(cString: strerror(errno))
                close(fd)
                throw HubError.fileSystem(path: url.path, message: "cannot lock: \(message)")
            }
            do { try await Task.sleep(nanoseconds: 50_000_000) } catch {
                close(fd)
                throw error
            }
        }
        return FileLock(descriptor: fd)
    }

    func unlock() {
        guard descriptor >= 0 else { return }
        _ = flock(descriptor, LOCK_UN)
        close(descriptor)
        descriptor = -1
    }

    deinit { unlock() }
}
