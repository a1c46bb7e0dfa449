import Foundation
import TailorDigest

/// A repository snapshot in the cache: `folder` is `<cache>/models--org--name/snapshots/<commit>`.
public struct Snapshot: Sendable, Equatable {
    public var repo: RepoID
    public var revision: String
    public var commit: String
    public var folder: URL
    /// The files asked for (after --include / --exclude), paths inside the repository.
    public var files: [String]
}

/// `snapshot_download` into huggingface_hub's cache: resolves the revision to a commit, lists its files, and fetches
/// the wanted ones `settings.parallelFiles` at a time. Each blob is written under its lock as `<etag>.incomplete`
/// (continued with `Range: bytes=N-` when a partial one is there), checked against the hub's size and, for LFS
/// files, the sha256 that is its ETag, then renamed to its final name and linked from the snapshot.
public struct HubDownloader: Sendable {
    public let client: HubClient
    public var settings: HubSettings { client.settings }

    public init(settings: HubSettings, transport: any HTTPTransport = URLSessionTransport(), events: @escaping @Sendable (HubEvent) -> Void = { _ in }) {
        client = HubClient(settings: settings, transport: transport, events: events)
    }

    var events: @Sendable (HubEvent) -> Void { client.events }

    /// Downloads (or, offline, finds) `repo` at `revision`. `requireConfig`: a model repository must have config.json.
    public func download(_ repo: RepoID, revision: String = "main", include: [String] = [], exclude: [String] = [],
                         requireConfig: Bool = false) async throws -> Snapshot {
        let cache = HubCache(root: settings.cacheDirectory, repo: repo)
        if settings.offline {
            return try cached(repo, revision: revision, include: include, exclude: exclude, requireConfig: requireConfig, reason: nil)
        }
        if HubCache.isCommitHash(revision), let snapshot = try? cached(repo, revision: revision, include: include, exclude: exclude,
                                                                          requireConfig: requireConfig, reason: nil) {
            return snapshot
        }
        let commit: String
        do { commit = HubCache.isCommitHash(revision) ? revision : try await client.commit(repo, revision: revision) } catch HubError.network(let url, let message, let attempts) {
            let reason = "could not reach \(url) after \(attempts) attempts: \(message)"
            events(.usingCache(reason: reason))
            return try cached(repo, revision: revision, include: include, exclude: exclude, requireConfig: requireConfig, reason: reason)
        }
        let files: [RepoFile]
        if let recorded = cache.recordedTree(commit) { files = recorded } else {
            files = try await client.files(repo, commit: commit)
            try cache.recordTree(files, commit: commit)
        }
        let wanted = try select(files, repo: repo, revision: revision, include: include, exclude: exclude, requireConfig: requireConfig)
        cache.tagCacheDirectory()
        try cache.recordRef(revision, commit: commit)
        let cachedBytes = wanted.filter { FileManager.default.fileExists(atPath: cache.pointer(commit, $0.path).path) }.reduce(Int64(0)) { $0 + $1.size }
        events(.resolved(repo: repo.id, revision: revision, commit: commit, files: wanted.count, bytes: wanted.reduce(Int64(0)) { $0 + $1.size },
                         cachedBytes: cachedBytes))
        let counter = ByteCounter()
        try await withThrowingTaskGroup(of: Void.self) { group in
            var pending = wanted.makeIterator()
            for _ in 0..<max(1, settings.parallelFiles) {
                guard let file = pending.next() else { break }
                group.addTask { try await fetch(file, commit: commit, cache: cache, counter: counter) }
            }
            while try await group.next() != nil {
                if let file = pending.next() { group.addTask { try await fetch(file, commit: commit, cache: cache, counter: counter) } }
            }
        }
        return Snapshot(repo: repo, revision: revision, commit: commit, folder: cache.snapshot(commit), files: wanted.map(\.path))
    }

    func select(_ files: [RepoFile], repo: RepoID, revision: String, include: [String], exclude: [String], requireConfig: Bool) throws -> [RepoFile] {
        if requireConfig, repo.kind == .model, !files.contains(where: { $0.path == "config.json" }) {
            throw HubError.noConfig(repo: repo.id, revision: revision)
        }
        let kept = Set(Glob.filter(files.map(\.path), include: include, exclude: exclude))
        let wanted = files.filter { kept.contains($0.path) }.sorted { $0.path < $1.path }
        if wanted.isEmpty { throw HubError.nothingMatched(repo: repo.id, revision: revision, include: include, exclude: exclude) }
        return wanted
    }

    /// The snapshot already in the cache, without the network: every wanted file of the recorded listing must be
    /// there (without a listing, the snapshot folder's files are taken as they are, as huggingface_hub does).
    public func cached(_ repo: RepoID, revision: String, include: [String] = [], exclude: [String] = [], requireConfig: Bool = false,
                       reason: String?) throws -> Snapshot {
        let cache = HubCache(root: settings.cacheDirectory, repo: repo)
        guard let commit = cache.commit(for: revision), FileManager.default.fileExists(atPath: cache.snapshot(commit).path) else {
            throw HubError.notCached(repo: repo.id, revision: revision, cache: settings.cacheDirectory.path, missing: [])
        }
        let listed = cache.recordedTree(commit) ?? Self.files(under: cache.snapshot(commit)).map { RepoFile(path: $0, size: 0, blobID: "") }
        let wanted = try select(listed, repo: repo, revision: revision, include: include, exclude: exclude, requireConfig: requireConfig)
        let missing = wanted.map(\.path).filter { !FileManager.default.fileExists(atPath: cache.pointer(commit, $0).path) }
        if !missing.isEmpty { throw HubError.notCached(repo: repo.id, revision: revision, cache: settings.cacheDirectory.path, missing: missing) }
        return Snapshot(repo: repo, revision: revision, commit: commit, folder: cache.snapshot(commit), files: wanted.map(\.path))
    }

    /// Paths of the files (and links to files) under `folder`, relative to it.
    static func files(under folder: URL) -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: folder.path) else { return [] }
        var found: [String] = []
        while let path = walker.nextObject() as? String {
            var isFolder: ObjCBool = false
            if FileManager.default.fileExists(atPath: folder.appendingPathComponent(path).path, isDirectory: &isFolder), !isFolder.boolValue { found.append(path) }
        }
        return found.sorted()
    }
}

/// Bytes received across the parallel files of one download.
final class ByteCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var total: Int64 = 0
    func add(_ n: Int64) -> Int64 { lock.lock(); defer { lock.unlock() }; total += n; return total }
}
