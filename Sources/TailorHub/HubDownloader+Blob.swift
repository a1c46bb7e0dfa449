import Foundation
import TailorDigest

extension HubDownloader {
    /// One file into the cache: nothing to do when its snapshot link exists; else its blob, then the link.
    func fetch(_ file: RepoFile, commit: String, cache: HubCache, counter: ByteCounter) async throws {
        let repo = cache.repo
        if FileManager.default.fileExists(atPath: cache.pointer(commit, file.path).path) { return events(.fileDone(path: file.path, downloaded: false)) }
        let metadata: HubClient.FileMetadata
        do { metadata = try await client.metadata(repo, revision: commit, file: file.path) } catch let error as HubError {
            if case .entryNotFound = error { cache.markMissing(file.path, commit: commit) }
            throw error
        }
        let blob = cache.blob(metadata.etag)
        if FileManager.default.fileExists(atPath: blob.path) {
            try cache.link(file.path, commit: commit, etag: metadata.etag)
            return events(.fileDone(path: file.path, downloaded: false))
        }
        try cache.makeFolder(blob.deletingLastPathComponent())
        let lockURL = cache.lock(metadata.etag)
        let lock = try await FileLock.acquire(lockURL) { events(.waitingForLock(path: file.path, lock: lockURL.path)) }
        defer { lock.unlock() }
        // Another process (Tailor or huggingface_hub) may have written it while we waited.
        var downloaded = false
        if !FileManager.default.fileExists(atPath: blob.path) {
            try await fetchBlob(file, metadata: metadata, cache: cache, counter: counter)
            downloaded = true
        }
        try cache.link(file.path, commit: commit, etag: metadata.etag)
        events(.fileDone(path: file.path, downloaded: downloaded))
    }

    /// Writes blobs/<etag>.incomplete (continuing a partial one), verifies it, renames it to blobs/<etag>.
    func fetchBlob(_ file: RepoFile, metadata: HubClient.FileMetadata, cache: HubCache, counter: ByteCounter) async throws {
        let partial = cache.incompleteBlob(metadata.etag)
        let expected = metadata.size ?? file.size
        try await client.fetch(metadata.location, to: partial, size: expected, path: file.path, repo: cache.repo, revision: metadata.commit,
                               counter: counter)
        // LFS blobs are named by their sha256 (a 64-digit etag); git blobs by their git id, which is not checked.
        let isSHA256 = metadata.etag.utf8.count == 64
            && metadata.etag.utf8.allSatisfy { ("0"..."9").contains(Character(UnicodeScalar($0))) || ("a"..."f").contains(Character(UnicodeScalar($0))) }
        try Self.verify(partial, path: file.path, size: expected, sha256: isSHA256 ? metadata.etag : nil)
        try Self.moveIntoPlace(partial, cache.blob(metadata.etag))
    }

    /// The finished partial file's size against `size`, and its sha256 against `sha256` when given; a mismatch deletes it.
    static func verify(_ partial: URL, path: String, size expected: Int64, sha256: String?) throws {
        let size = ((try? FileManager.default.attributesOfItem(atPath: partial.path))?[.size] as? NSNumber)?.int64Value ?? -1
        if size != expected {
            try? FileManager.default.removeItem(at: partial)
            throw HubError.sizeMismatch(file: path, expected: expected, received: size, deleted: partial.path)
        }
        guard let sha256 else { return }
        let actual = try Self.sha256(of: partial)
        if actual != sha256.lowercased() {
            try? FileManager.default.removeItem(at: partial)
            throw HubError.hashMismatch(file: path, expected: sha256, actual: actual, deleted: partial.path)
        }
    }

    /// Renames a verified partial file to its final name (readable by all, as huggingface_hub leaves blobs).
    static func moveIntoPlace(_ partial: URL, _ final: URL) throws {
        _ = chmod(partial.path, 0o644)
        if rename(partial.path, final.path) != 0 {
            throw HubError.fileSystem(path: final.path, message: "cannot rename the finished download: \(String(cString: strerror(errno)))")
        }
    }

    static func sha256(of url: URL) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: url.path) else { throw HubError.fileSystem(path: url.path, message: "cannot read it back") }
        defer { try? handle.close() }
        var hasher = SHA256()
        while true {
            let chunk = handle.readData(ofLength: 4 << 20)
            if chunk.isEmpty { break }
            chunk.withUnsafeBytes { hasher.update($0) }
        }
        return hasher.hexDigest()
    }
}
