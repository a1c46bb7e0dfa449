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
        var headers = client.headers
        // The token goes to the hub only, never to the storage host an LFS redirect points at.
        if metadata.location.host != URL(string: settings.endpoint)?.host { headers["Authorization"] = nil }
        do {
            var first = true
            let head = try await client.retrying(metadata.location) { () async throws -> HTTPHead in
                let writer = try BlobWriter(partial)
                defer { writer.close() }
                if writer.size > expected { try writer.restart() }
                if writer.size == expected && expected > 0 { return HTTPHead(status: 206, headers: [:], url: metadata.location) }
                var request = headers
                let offset = writer.size
                if offset > 0 { request["Range"] = "bytes=\(offset)-" }
                if first || offset > 0 { events(.fileStarted(path: file.path, size: expected, resumedAt: offset)) }
                first = false
                let (head, body) = try await client.transport.get(metadata.location, headers: request, onHead: { head in
                    if offset > 0 && head.status == 200 { try writer.restart() }
                    if head.status == 206, let range = head["content-range"], !range.hasPrefix("bytes \(offset)-") {
                        throw HubError.badResponse(url: metadata.location.absoluteString, problem: "asked for bytes from \(offset), got Content-Range \(range)")
                    }
                }, body: { data in
                    try writer.write(data)
                    events(.progress(received: counter.add(Int64(data.count))))  // allowed: a count widens
                })
                if !(200..<300).contains(head.status) && !HubClient.isRetryable(head.status) {
                    try client.check(head, body: body, url: metadata.location, repo: cache.repo, revision: metadata.commit, file: file.path)
                }
                return head
            }
            if !(200..<300).contains(head.status) {
                try client.check(head, body: Data(), url: metadata.location, repo: cache.repo, revision: metadata.commit, file: file.path)
            }
            try verify(partial, file: file, etag: metadata.etag, expected: expected)
        } catch {
            // A full disk or a failed check leaves nothing behind; a dropped connection keeps the partial file to resume.
            if case HubError.diskFull = error { try? FileManager.default.removeItem(at: partial) }
            throw error
        }
        _ = chmod(partial.path, 0o644)
        if rename(partial.path, cache.blob(metadata.etag).path) != 0 {
            throw HubError.fileSystem(path: cache.blob(metadata.etag).path, message: "cannot rename the finished download: \(String(cString: strerror(errno)))")
        }
    }

    /// Size against the hub's, and for LFS blobs (a 64-digit etag) the sha256; a mismatch deletes the partial file.
    func verify(_ partial: URL, file: RepoFile, etag: String, expected: Int64) throws {
        let size = ((try? FileManager.default.attributesOfItem(atPath: partial.path))?[.size] as? NSNumber)?.int64Value ?? -1
        if size != expected {
            try? FileManager.default.removeItem(at: partial)
            throw HubError.sizeMismatch(file: file.path, expected: expected, received: size, deleted: partial.path)
        }
        guard etag.utf8.count == 64, etag.utf8.allSatisfy({ ("0"..."9").contains(Character(UnicodeScalar($0))) || ("a"..."f").contains(Character(UnicodeScalar($0))) }) else { return }
        let actual = try Self.sha256(of: partial)
        if actual != etag {
            try? FileManager.default.removeItem(at: partial)
            throw HubError.hashMismatch(file: file.path, expected: etag, actual: actual, deleted: partial.path)
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
