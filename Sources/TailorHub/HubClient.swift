import Foundation
import TailorJSON

/// The hub's read API, as huggingface_hub calls it:
/// - `GET {endpoint}/api/{models|datasets}/{repo}/revision/{revision}`: the commit (`sha`) a revision names;
/// - `GET {endpoint}/api/{models|datasets}/{repo}/tree/{commit}?recursive=true&expand=false`: the files, paged by
///   `Link: <...>; rel="next"`;
/// - `HEAD {endpoint}/{datasets/}{repo}/resolve/{revision}/{file}` (not following absolute redirects): `X-Repo-Commit`,
///   the blob's name in `X-Linked-Etag` (LFS) or `ETag`, its size in `X-Linked-Size` or `Content-Length`, and for
///   LFS files a `Location` on the storage host; relative redirects (a renamed repository) are followed.
/// Errors follow `X-Error-Code` (RepoNotFound, RevisionNotFound, EntryNotFound, GatedRepo) and the status.
public struct HubClient: Sendable {
    public let settings: HubSettings
    public let transport: any HTTPTransport
    let events: @Sendable (HubEvent) -> Void

    public init(settings: HubSettings, transport: any HTTPTransport = URLSessionTransport(), events: @escaping @Sendable (HubEvent) -> Void = { _ in }) {
        self.settings = settings
        self.transport = transport
        self.events = events
    }

    /// What a HEAD on the resolve URL tells about one file.
    public struct FileMetadata: Sendable {
        public var commit: String
        public var etag: String
        public var size: Int64?
        /// Where the bytes are: the storage URL of an LFS redirect, else the resolve URL itself.
        public var location: URL
    }

    var headers: [String: String] {
        var headers = ["User-Agent": "tailor/0.1.0; hf_hub-compatible", "Accept-Encoding": "identity"]
        if let token = settings.token { headers["Authorization"] = "Bearer \(token)" }
        return headers
    }

    static func quote(_ text: String, keepSlash: Bool = false) -> String {
        var allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
        if keepSlash { allowed.insert("/") }
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    func url(_ text: String) throws -> URL {
        guard let url = URL(string: text) else { throw HubError.badResponse(url: text, problem: "not a URL (check HF_ENDPOINT)") }
        return url
    }

    public func resolveURL(_ repo: RepoID, revision: String, file: String) throws -> URL {
        try url("\(settings.endpoint)/\(repo.kind.urlPrefix)\(repo.id)/resolve/\(Self.quote(revision))/\(Self.quote(file, keepSlash: true))")
    }

    /// The commit `revision` names on the hub.
    public func commit(_ repo: RepoID, revision: String) async throws -> String {
        let address = try url("\(settings.endpoint)/api/\(repo.kind.plural)/\(repo.id)/revision/\(Self.quote(revision))")
        let value = try await json(address, repo: repo, revision: revision)
        guard let sha = value["sha"]?.stringValue, HubCache.isCommitHash(sha) else {
            throw HubError.badResponse(url: address.absoluteString, problem: "no 40-digit commit id in \"sha\"")
        }
        return sha
    }

    /// Every file of the repository at `commit`, folders walked (the tree API with `recursive=true`).
    public func files(_ repo: RepoID, commit: String) async throws -> [RepoFile] {
        var next: URL? = try url("\(settings.endpoint)/api/\(repo.kind.plural)/\(repo.id)/tree/\(Self.quote(commit))?recursive=true&expand=false")
        var files: [RepoFile] = []
        while let address = next {
            let (value, head) = try await jsonAndHead(address, repo: repo, revision: commit)
            guard let entries = value.arrayValue else { throw HubError.badResponse(url: address.absoluteString, problem: "the tree listing is not a JSON array") }
            for entry in entries { if let file = try RepoFile(treeEntry: entry, url: address.absoluteString) { files.append(file) } }
            next = head["link"].flatMap(Self.nextLink)
        }
        return files
    }

    /// The `rel="next"` target of a `Link` header.
    static func nextLink(_ header: String) -> URL? {
        for part in header.split(separator: ",") where part.contains("rel=\"next\"") {
            guard let open = part.firstIndex(of: "<"), let close = part.firstIndex(of: ">"), open < close else { continue }
            return URL(string: String(part[part.index(after: open)..<close]))
        }
        return nil
    }

    /// HEAD on the resolve URL, following relative redirects only (as `get_hf_file_metadata`).
    public func metadata(_ repo: RepoID, revision: String, file: String) async throws -> FileMetadata {
        var address = try resolveURL(repo, revision: revision, file: file)
        for _ in 0..<5 {
            let head = try await retrying(address) { try await transport.head(address, headers: headers) }
            if (300..<400).contains(head.status), let location = head["location"] {
                if location.hasPrefix("/"), let relative = URL(string: location, relativeTo: address)?.absoluteURL {
                    address = relative
                    continue
                }
                return try Self.fileMetadata(head, location: try url(location), address: address)
            }
            try check(head, body: Data(), url: address, repo: repo, revision: revision, file: file)
            return try Self.fileMetadata(head, location: address, address: address)
        }
        throw HubError.badResponse(url: address.absoluteString, problem: "more than 5 redirects")
    }

    static func fileMetadata(_ head: HTTPHead, location: URL, address: URL) throws -> FileMetadata {
        guard let commit = head["x-repo-commit"] else {
            throw HubError.badResponse(url: address.absoluteString, problem: "no X-Repo-Commit header: is HF_ENDPOINT a Hugging Face hub?")
        }
        guard let etag = (head["x-linked-etag"] ?? head["etag"]).map(normalizeETag), !etag.isEmpty else {
            throw HubError.badResponse(url: address.absoluteString, problem: "no ETag header")
        }
        let size = (head["x-linked-size"] ?? head["content-length"]).flatMap { Int64($0) }  // allowed: parses text (nil when not a number), cannot trap
        return FileMetadata(commit: commit, etag: etag, size: size, location: location)
    }

    /// `_normalize_etag`: drops a weak `W/` prefix and the quotes.
    static func normalizeETag(_ etag: String) -> String {
        var text = Substring(etag)
        if text.hasPrefix("W/") { text = text.dropFirst(2) }
        return text.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
    }

    func json(_ address: URL, repo: RepoID, revision: String) async throws -> JSONValue { try await jsonAndHead(address, repo: repo, revision: revision).0 }

    func jsonAndHead(_ address: URL, repo: RepoID, revision: String) async throws -> (JSONValue, HTTPHead) {
        let collected = ByteSink()
        let (head, errorBody) = try await retrying(address) {
            collected.reset()
            return try await transport.get(address, headers: headers, onHead: { _ in }, body: { collected.append($0) })
        }
        try check(head, body: errorBody, url: address, repo: repo, revision: revision, file: nil)
        do { return (try JSONValue(parsing: collected.bytes, file: address.absoluteString), head) } catch {
            throw HubError.badResponse(url: address.absoluteString, problem: "not JSON: \(error)")
        }
    }

    /// Turns a non-2xx answer into the error it means (huggingface_hub's `hf_raise_for_status`).
    func check(_ head: HTTPHead, body: Data, url address: URL, repo: RepoID, revision: String, file: String?) throws {
        guard !(200..<300).contains(head.status) else { return }
        let code = head["x-error-code"]
        let hadToken = settings.token != nil
        switch (code, head.status) {
        case ("RevisionNotFound", _): throw HubError.revisionNotFound(repo: repo.id, revision: revision)
        case ("EntryNotFound", _): throw HubError.entryNotFound(repo: repo.id, revision: revision, file: file ?? "")
        case ("GatedRepo", _): throw HubError.unauthorized(repo: repo.id, url: address.absoluteString, status: head.status, hadToken: hadToken)
        case ("RepoNotFound", _), (nil, 401):
            throw HubError.repoNotFound(repo: repo.id, url: address.absoluteString, hadToken: hadToken)
        case (_, 403): throw HubError.unauthorized(repo: repo.id, url: address.absoluteString, status: head.status, hadToken: hadToken)
        case (_, 404):
            if let file { throw HubError.entryNotFound(repo: repo.id, revision: revision, file: file) }
            throw HubError.repoNotFound(repo: repo.id, url: address.absoluteString, hadToken: hadToken)
        default:
            let message = head["x-error-message"] ?? String(decoding: body.prefix(300), as: UTF8.self)
            throw HubError.http(status: head.status, url: address.absoluteString, message: message)
        }
    }

    /// Runs `request` until it neither drops the connection nor answers 5xx / 408 / 429, at most `settings.attempts`
    /// times, waiting `retryDelay`, twice that, ... (at most 30 s) in between.
    func retrying<T>(_ address: URL, _ request: () async throws -> T) async throws -> T where T: Sendable {
        var attempt = 1
        while true {
            do {
                let result = try await request()
                if let status = Self.status(of: result), Self.isRetryable(status), attempt < settings.attempts {
                    try await backOff(address, attempt: attempt, reason: "HTTP \(status)")
                    attempt += 1
                    continue
                }
                return result
            } catch let error as HTTPTransportError {
                guard attempt < settings.attempts else { throw HubError.network(url: error.url, message: error.message, attempts: attempt) }
                try await backOff(address, attempt: attempt, reason: error.message)
                attempt += 1
            }
        }
    }

    static func status(of result: some Sendable) -> Int? {
        if let head = result as? HTTPHead { return head.status }
        if let (head, _) = result as? (HTTPHead, Data) { return head.status }
        return nil
    }

    static func isRetryable(_ status: Int) -> Bool { status >= 500 || status == 408 || status == 429 }

    func backOff(_ address: URL, attempt: Int, reason: String) async throws {
        let delay = min(settings.retryDelay * pow(2, Double(attempt - 1)), 30)  // allowed: a small count
        events(.retrying(url: address.absoluteString, attempt: attempt, delay: delay, reason: reason))
        try await Task.sleep(nanoseconds: UInt64(delay * 1e9))  // allowed: a delay of at most 30 s
    }
}

/// Bytes collected from a transport's callbacks.
final class ByteSink: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [UInt8] = []
    func append(_ data: Data) { lock.lock(); storage.append(contentsOf: data); lock.unlock() }
    func reset() { lock.lock(); storage.removeAll(); lock.unlock() }
    var bytes: [UInt8] { lock.lock(); defer { lock.unlock() }; return storage }
}
