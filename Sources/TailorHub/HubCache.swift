import Foundation
import TailorJSON

/// huggingface_hub's cache, file for file (huggingface_hub 2.4's `file_download.py`, `_tree_cache.py`):
///
///     <cache>/CACHEDIR.TAG
///     <cache>/.locks/models--org--name/<etag>.lock          flock'd while a blob is written
///     <cache>/models--org--name/blobs/<etag>                 the file's bytes; etag = sha256 (LFS) or git sha1
///     <cache>/models--org--name/blobs/<etag>.incomplete      a blob being written (resumed with a Range request)
///     <cache>/models--org--name/refs/<revision>              the commit a branch or tag pointed at (no newline)
///     <cache>/models--org--name/snapshots/<commit>/<path>    relative symlink ../../blobs/<etag> (one more ../ per folder)
///     <cache>/models--org--name/.no_exist/<commit>/<path>    empty: the hub said 404 for this file at this commit
///     <cache>/models--org--name/trees/<commit>.json          the commit's file listing (format_version 1)
///
/// A blob only ever gets its final name by a rename of a complete, verified `.incomplete` file.
public struct HubCache: Sendable {
    public let root: URL
    public let repo: RepoID

    public init(root: URL, repo: RepoID) {
        self.root = root
        self.repo = repo
    }

    public var repoFolder: URL { root.appendingPathComponent(repo.folderName, isDirectory: true) }
    public func blob(_ etag: String) -> URL { repoFolder.appendingPathComponent("blobs/\(etag)") }
    public func incompleteBlob(_ etag: String) -> URL { repoFolder.appendingPathComponent("blobs/\(etag).incomplete") }
    public func snapshot(_ commit: String) -> URL { repoFolder.appendingPathComponent("snapshots/\(commit)", isDirectory: true) }
    public func pointer(_ commit: String, _ file: String) -> URL { snapshot(commit).appendingPathComponent(file) }
    public func ref(_ revision: String) -> URL { repoFolder.appendingPathComponent("refs/\(revision)") }
    public func noExist(_ commit: String, _ file: String) -> URL { repoFolder.appendingPathComponent(".no_exist/\(commit)/\(file)") }
    public func tree(_ commit: String) -> URL { repoFolder.appendingPathComponent("trees/\(commit).json") }
    public func lock(_ etag: String) -> URL { root.appendingPathComponent(".locks/\(repo.folderName)/\(etag).lock") }

    /// A full 40-hex-digit commit id (huggingface_hub's `REGEX_COMMIT_HASH`).
    public static func isCommitHash(_ revision: String) -> Bool {
        revision.utf8.count == 40 && revision.utf8.allSatisfy { ("0"..."9").contains(Character(UnicodeScalar($0))) || ("a"..."f").contains(Character(UnicodeScalar($0))) }
    }

    /// The commit `revision` names in the cache: itself when it is a commit hash, else `refs/<revision>`.
    public func commit(for revision: String) -> String? {
        if Self.isCommitHash(revision) { return revision }
        guard let text = try? String(contentsOf: ref(revision), encoding: .utf8) else { return nil }
        return text.isEmpty ? nil : text
    }

    /// `_cache_commit_hash_for_specific_revision`: refs/<revision> holds `commit`, written by rename.
    public func recordRef(_ revision: String, commit: String) throws {
        guard revision != commit, self.commit(for: revision) != commit else { return }
        try writeAtomically(Array(commit.utf8), to: ref(revision))
    }

    /// The CACHEDIR.TAG huggingface_hub writes at the cache's root (the Cache Directory Tagging Standard).
    public func tagCacheDirectory() {
        let tag = root.appendingPathComponent("CACHEDIR.TAG")
        guard !FileManager.default.fileExists(atPath: tag.path) else { return }
        let text = "Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag created by huggingface_hub.\n"
            + "# For information about cache directory tags, see:\n#\thttps://bford.info/cachedir/\n"
        try? Data(text.utf8).write(to: tag)
    }

    /// snapshots/<commit>/<file> -> blobs/<etag>, relative, replacing what was there.
    public func link(_ file: String, commit: String, etag: String) throws {
        let pointerURL = pointer(commit, file)
        try makeFolder(pointerURL.deletingLastPathComponent())
        let depth = file.split(separator: "/").count + 1
        let target = String(repeating: "../", count: depth) + "blobs/" + etag
        if let existing = try? FileManager.default.destinationOfSymbolicLink(atPath: pointerURL.path), existing == target { return }
        try? FileManager.default.removeItem(at: pointerURL)
        do { try FileManager.default.createSymbolicLink(atPath: pointerURL.path, withDestinationPath: target) } catch {
            // Another process linked it between the remove and here: fine if it points at the same blob.
            if (try? FileManager.default.destinationOfSymbolicLink(atPath: pointerURL.path)) == target { return }
            throw HubError.fileSystem(path: pointerURL.path, message: "cannot create the snapshot link: \(error.localizedDescription)")
        }
    }

    /// The empty `.no_exist` marker huggingface_hub leaves for a file the hub does not have at `commit`.
    public func markMissing(_ file: String, commit: String) {
        let marker = noExist(commit, file)
        try? makeFolder(marker.deletingLastPathComponent())
        if !FileManager.default.fileExists(atPath: marker.path) { _ = FileManager.default.createFile(atPath: marker.path, contents: Data()) }
    }

    public func isMarkedMissing(_ file: String, commit: String) -> Bool { FileManager.default.fileExists(atPath: noExist(commit, file).path) }

    func makeFolder(_ url: URL) throws {
        do { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) } catch {
            throw HubError.fileSystem(path: url.path, message: "cannot create the folder: \(error.localizedDescription)")
        }
    }

    /// Writes `bytes` to a unique temporary name beside `url`, then renames it over `url`.
    func writeAtomically(_ bytes: [UInt8], to url: URL) throws {
        try makeFolder(url.deletingLastPathComponent())
        let temporary = url.deletingLastPathComponent().appendingPathComponent("\(url.lastPathComponent).\(UUID().uuidString.prefix(8).lowercased()).tmp")
        do {
            try Data(bytes).write(to: temporary)
            if rename(temporary.path, url.path) != 0 { throw HubError.fileSystem(path: url.path, message: String(cString: strerror(errno))) }
        } catch let error as HubError {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            if (error as NSError).code == NSFileWriteOutOfSpaceError { throw HubError.diskFull(path: url.path, needed: Int64(bytes.count)) }  // allowed: a count widens
            throw HubError.fileSystem(path: url.path, message: error.localizedDescription)
        }
    }
}
