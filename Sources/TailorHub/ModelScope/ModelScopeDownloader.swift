import Foundation
import TailorJSON

/// `snapshot_download` from ModelScope into its cache (`ModelScopeCache`), through the read API its client uses:
/// - `GET {endpoint}/api/v1/{models|datasets}/{owner}/{name}/repo/files?Revision={rev}&Recursive=True`: the files,
///   `{"Code": 200, "Data": {"Files": [{"Path", "Type": "blob"|"tree", "Size", "Sha256", ...}]}, "Success": true}`;
/// - `GET {endpoint}/api/v1/{models|datasets}/{owner}/{name}/repo?Revision={rev}&FilePath={path}`: a file's bytes,
///   often by a redirect to object storage (followed; the token is not sent there);
/// - the token as `Authorization: Bearer` and as the `m_session_id` cookie, as the client sends both;
/// - errors as JSON `{"Code", "Message", "Success": false}` with the HTTP status.
/// Each file is written as `<file>.incomplete` under its lock (continued with a Range request when a partial one is
/// there), checked against the listing's size and sha256, then renamed; a file already there with that size and
/// sha256 is kept, as the client keeps it.
public struct ModelScopeDownloader: Sendable {
    public let client: HubClient
    public var settings: HubSettings { client.settings }

    /// - Parameter settings: ModelScope's (`HubSettings.modelScope()`).
    public init(settings: HubSettings, transport: any HTTPTransport = URLSessionTransport(),
                events: @escaping @Sendable (HubEvent) -> Void = { _ in }) {
        client = HubClient(settings: settings, transport: transport, events: events)
    }

    var events: @Sendable (HubEvent) -> Void { client.events }

    /// One file of the listing.
    struct Entry: Sendable {
        var path: String
        var size: Int64
        var sha256: String?
    }

    /// Downloads (or, offline, finds) `repo` at `revision` (ModelScope's default branch is `master`).
    /// - Throws: `HubError.modelScope(...)`, whose description names ModelScope's variables.
    public func download(_ repo: RepoID, revision: String = "master", include: [String] = [], exclude: [String] = [],
                         requireConfig: Bool = false) async throws -> Snapshot {
        do { return try await fetchAll(repo, revision: revision, include: include, exclude: exclude, requireConfig: requireConfig) } catch let error as HubError {
            throw HubError.modelScope(error)
        }
    }

    func fetchAll(_ repo: RepoID, revision: String, include: [String], exclude: [String], requireConfig: Bool) async throws -> Snapshot {
        guard repo.kind == .model else {
            throw HubError.notBuilt("\(repo.id): ModelScope dataset repositories are not downloaded yet (they are listed through another, paged API); download the files with the modelscope client and pass their paths")
        }
        let cache = ModelScopeCache(root: settings.cacheDirectory, repo: repo)
        if settings.offline { return try cachedSnapshot(repo, revision: revision, include: include, exclude: exclude, requireConfig: requireConfig) }
        let listing: [Entry]
        do { listing = try await files(repo, revision: revision) } catch HubError.network(let url, let message, let attempts) {
            events(.usingCache(reason: "could not reach \(url) after \(attempts) attempts: \(message)"))
            return try cachedSnapshot(repo, revision: revision, include: include, exclude: exclude, requireConfig: requireConfig)
        }
        if requireConfig, repo.kind == .model, !listing.contains(where: { $0.path == "config.json" }) {
            throw HubError.noConfig(repo: repo.id, revision: revision)
        }
        let kept = Set(Glob.filter(listing.map(\.path), include: include, exclude: exclude))
        let wanted = listing.filter { kept.contains($0.path) }.sorted { $0.path < $1.path }
        if wanted.isEmpty { throw HubError.nothingMatched(repo: repo.id, revision: revision, include: include, exclude: exclude) }
        let folder = cache.files(revision)
        events(.resolved(repo: repo.id, revision: revision, commit: revision, files: wanted.count, bytes: wanted.reduce(Int64(0)) { $0 + $1.size },
                         cachedBytes: 0))
        let counter = ByteCounter()
        try await withThrowingTaskGroup(of: Void.self) { group in
            var pending = wanted.makeIterator()
            for _ in 0..<max(1, settings.parallelFiles) {
                guard let entry = pending.next() else { break }
                group.addTask { try await fetch(entry, repo: repo, revision: revision, cache: cache, folder: folder, counter: counter) }
            }
            while try await group.next() != nil {
                if let entry = pending.next() {
                    group.addTask { try await fetch(entry, repo: repo, revision: revision, cache: cache, folder: folder, counter: counter) }
                }
            }
        }
        return Snapshot(repo: repo, revision: revision, commit: revision, folder: folder, files: wanted.map(\.path))
    }

    /// The files of `repo` at `revision`, folders left out.
    func files(_ repo: RepoID, revision: String) async throws -> [Entry] {
        let address = try client.url("\(settings.endpoint)/api/v1/\(repo.kind.plural)/\(repo.id)/repo/files?Revision=\(HubClient.quote(revision))&Recursive=True")
        let collected = ByteSink()
        let (head, errorBody) = try await client.retrying(address) {
            collected.reset()
            return try await client.transport.get(address, headers: client.headers.merging(cookie) { $1 }, onHead: { _ in }, body: { collected.append($0) })
        }
        guard (200..<300).contains(head.status) else { throw Self.error(head.status, body: errorBody, url: address, repo: repo, revision: revision, hadToken: settings.token != nil) }
        let value: JSONValue
        do { value = try JSONValue(parsing: collected.bytes, file: address.absoluteString) } catch {
            throw HubError.badResponse(url: address.absoluteString, problem: "not JSON: \(error)")
        }
        if value["Success"]?.boolValue == false {
            throw HubError.badResponse(url: address.absoluteString, problem: value["Message"]?.stringValue ?? "Success is false")
        }
        guard let entries = value["Data"]?["Files"]?.arrayValue else {
            throw HubError.badResponse(url: address.absoluteString, problem: "no Data.Files list: is MODELSCOPE_ENDPOINT a ModelScope hub?")
        }
        return try entries.compactMap { entry in
            guard entry["Type"]?.stringValue != "tree" else { return nil }
            guard let path = entry["Path"]?.stringValue, let size = entry["Size"]?.integer(as: Int64.self) else {
                throw HubError.badResponse(url: address.absoluteString, problem: "a file entry without Path or Size: \(entry.text())")
            }
            guard !path.isEmpty, !path.hasPrefix("/"), !path.split(separator: "/").contains("..") else {
                throw HubError.badResponse(url: address.absoluteString, problem: "a file path outside the repository: \(path)")
            }
            let sha = entry["Sha256"]?.stringValue.flatMap { $0.isEmpty ? nil : $0.lowercased() }
            return Entry(path: path, size: size, sha256: sha)
        }
    }

    /// ModelScope's errors: the HTTP status, and a JSON body whose Message tells a missing revision from a missing repository.
    static func error(_ status: Int, body: Data, url: URL, repo: RepoID, revision: String, hadToken: Bool) -> HubError {
        let message = (try? JSONValue(parsing: [UInt8](body), file: url.absoluteString))?["Message"]?.stringValue
            ?? String(decoding: body.prefix(300), as: UTF8.self)
        switch status {
        case 401, 403: return .unauthorized(repo: repo.id, url: url.absoluteString, status: status, hadToken: hadToken)
        case 404 where message.lowercased().contains("revision"): return .revisionNotFound(repo: repo.id, revision: revision)
        case 404: return .repoNotFound(repo: repo.id, url: url.absoluteString, hadToken: hadToken)
        default: return .http(status: status, url: url.absoluteString, message: message)
        }
    }

    /// The token as the `m_session_id` cookie (beside `Authorization: Bearer`), as the modelscope client sends it.
    var cookie: [String: String] {
        settings.token.map { ["Cookie": "m_session_id=\($0)"] } ?? [:]
    }

    func fetch(_ entry: Entry, repo: RepoID, revision: String, cache: ModelScopeCache, folder: URL, counter: ByteCounter) async throws {
        let target = folder.appendingPathComponent(entry.path)
        if try Self.isCached(target, entry) { return events(.fileDone(path: entry.path, downloaded: false)) }
        do { try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true) } catch {
            throw HubError.fileSystem(path: target.deletingLastPathComponent().path, message: "cannot create the folder: \(error.localizedDescription)")
        }
        let lockURL = cache.lock(entry.path)
        let lock = try await FileLock.acquire(lockURL) { events(.waitingForLock(path: entry.path, lock: lockURL.path)) }
        defer { lock.unlock() }
        // The modelscope client (or another Tailor) may have written it while we waited.
        if try Self.isCached(target, entry) { return events(.fileDone(path: entry.path, downloaded: false)) }
        try? FileManager.default.removeItem(at: target)  // what is there failed the checks
        let partial = ModelScopeCache.incomplete(target)
        let location = try client.url("\(settings.endpoint)/api/v1/\(repo.kind.plural)/\(repo.id)/repo?Revision=\(HubClient.quote(revision))&FilePath=\(HubClient.quote(entry.path))")
        try await client.fetch(location, to: partial, size: entry.size, path: entry.path, repo: repo, revision: revision, extraHeaders: cookie, counter: counter)
        try HubDownloader.verify(partial, path: entry.path, size: entry.size, sha256: entry.sha256)
        try HubDownloader.moveIntoPlace(partial, target)
        events(.fileDone(path: entry.path, downloaded: true))
    }

    /// A file already in place with the listing's size (and sha256, when listed).
    static func isCached(_ target: URL, _ entry: Entry) throws -> Bool {
        guard let size = (try? FileManager.default.attributesOfItem(atPath: target.path))?[.size] as? NSNumber, size.int64Value == entry.size else { return false }
        guard let sha = entry.sha256 else { return true }
        return try HubDownloader.sha256(of: target) == sha
    }

    /// The repository as the cache holds it, without the network.
    public func cached(_ repo: RepoID, revision: String = "master", include: [String] = [], exclude: [String] = [],
                       requireConfig: Bool = false) throws -> Snapshot {
        do { return try cachedSnapshot(repo, revision: revision, include: include, exclude: exclude, requireConfig: requireConfig) } catch let error as HubError {
            throw HubError.modelScope(error)
        }
    }

    func cachedSnapshot(_ repo: RepoID, revision: String, include: [String], exclude: [String], requireConfig: Bool) throws -> Snapshot {
        let cache = ModelScopeCache(root: settings.cacheDirectory, repo: repo)
        let folder = cache.files(revision)
        let found = HubDownloader.files(under: folder).filter { !$0.hasSuffix(".incomplete") }
        guard !found.isEmpty else {
            throw HubError.notCached(repo: repo.id, revision: revision, cache: settings.cacheDirectory.path, missing: [])
        }
        if requireConfig, repo.kind == .model, !found.contains("config.json") { throw HubError.noConfig(repo: repo.id, revision: revision) }
        let wanted = Glob.filter(found, include: include, exclude: exclude).sorted()
        if wanted.isEmpty { throw HubError.nothingMatched(repo: repo.id, revision: revision, include: include, exclude: exclude) }
        return Snapshot(repo: repo, revision: revision, commit: revision, folder: folder, files: wanted)
    }
}
