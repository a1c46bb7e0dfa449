import Foundation
import Hummingbird
import TailorDigest

/// A stand-in for huggingface.co on 127.0.0.1, answering as the real hub does (the headers huggingface_hub 2.4 reads):
/// - `GET /api/{models|datasets}/ORG/NAME/revision/REV`: `{"id", "sha", "siblings": [{"rfilename"}], ...}`;
/// - `GET /api/{models|datasets}/ORG/NAME/tree/REV?recursive=true`: `[{"type", "oid", "size", "path", "lfs"}]`;
/// - `HEAD|GET /[datasets/]ORG/NAME/resolve/REV/PATH`: a git file answers 200 with `ETag`, `X-Repo-Commit`; an LFS file
///   answers 302 with `Location` on the storage host (`localhost`, not `127.0.0.1`: another host, so a client must not
///   send its token there), `X-Linked-Etag` (its sha256), `X-Linked-Size`, `X-Repo-Commit`;
/// - `GET /lfs-storage/SHA256`: the bytes, honouring `Range: bytes=N-` with 206;
/// - errors with `X-Error-Code` RepoNotFound (404, or 401 for a private repository without the token), RevisionNotFound,
///   EntryNotFound.
/// Faults for the tests: drop the connection part-way through a file, serve wrong bytes, answer 5xx a few times.
/// Git blob ids are stand-ins (the first 40 hex digits of sha256("blob N\0" + bytes)): nothing checks them against git.
public final class MockHub: @unchecked Sendable {
    public struct File: Sendable {
        public var path: String
        public var bytes: [UInt8]
        public var lfs: Bool
        public var sha256: String
        public var blobID: String

        public init(path: String, bytes: [UInt8], lfs: Bool? = nil) {
            self.path = path
            self.bytes = bytes
            self.lfs = lfs ?? (path.hasSuffix(".safetensors") || path.hasSuffix(".bin") || path.hasSuffix(".gguf") || bytes.count > 10 << 20)
            sha256 = SHA256.hex(bytes)
            blobID = String(SHA256.hex(Array("blob \(bytes.count)\u{0}".utf8) + bytes).prefix(40))
        }
    }

    public struct Repo: Sendable {
        public var kind: String
        public var id: String
        public var commit: String
        public var branches: [String: String]
        public var files: [File]
        public var isPrivate: Bool

        public init(id: String, kind: String = "model", files: [File], isPrivate: Bool = false, commit: String? = nil) {
            self.id = id
            self.kind = kind
            self.files = files
            self.isPrivate = isPrivate
            self.commit = commit ?? String(SHA256.hex(Array(id.utf8) + files.flatMap { Array($0.path.utf8) + $0.bytes }).prefix(40))
            branches = ["main": self.commit]
        }

        /// A repository of the files in `folder` (recursively).
        public init(id: String, kind: String = "model", folder: URL, isPrivate: Bool = false) throws {
            var files: [File] = []
            let walker = FileManager.default.enumerator(atPath: folder.path)
            while let path = walker?.nextObject() as? String {
                var isFolder: ObjCBool = false
                let url = folder.appendingPathComponent(path)
                guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder), !isFolder.boolValue else { continue }
                files.append(File(path: path, bytes: [UInt8](try Data(contentsOf: url))))
            }
            self.init(id: id, kind: kind, files: files.sorted { $0.path < $1.path }, isPrivate: isPrivate)
        }
    }

    /// One request as the mock saw it.
    public struct Seen: Sendable {
        public var method: String
        public var path: String
        public var range: String?
        public var authorization: String?
        public var host: String?
    }

    let lock = NSLock()
    var repos: [String: Repo] = [:]
    public let token: String
    var seen: [Seen] = []
    var dropAfter: [String: [Int]] = [:]
    var corrupt: Set<String> = []
    var failures: [String: [Int]] = [:]
    var holdStorage: Double = 0
    var observer: (@Sendable (Seen) -> Void)?
    private var task: Task<Void, Error>?
    public private(set) var port = 0

    public init(repos: [Repo], token: String = "hf_mock_token") {
        for repo in repos { self.repos["\(repo.kind)s/\(repo.id)"] = repo }
        self.token = token
    }

    public var endpoint: String { "http://127.0.0.1:\(port)" }
    public var requests: [Seen] { lock.withLock { seen } }
    public func resetRequests() { lock.withLock { seen = [] } }

    /// The next GETs of `path`'s bytes send only `bytes` bytes each (one entry per GET) and then drop the connection.
    public func drop(_ path: String, after bytes: [Int]) { lock.withLock { dropAfter[path] = bytes } }
    /// `path`'s bytes are served with their first byte changed (the same size, the wrong sha256).
    public func corrupt(_ path: String) { lock.withLock { _ = corrupt.insert(path) } }
    /// The next requests whose path ends in `suffix` get these statuses instead of their answer.
    public func fail(_ suffix: String, with statuses: [Int]) { lock.withLock { failures[suffix] = statuses } }
    /// Called with each request as it arrives.
    public func onRequest(_ observe: @escaping @Sendable (Seen) -> Void) { lock.withLock { observer = observe } }
    /// Each storage GET waits this many seconds before answering (two clients then overlap).
    public func delayStorage(_ seconds: Double) { lock.withLock { holdStorage = seconds } }

    public func start(port wanted: Int = 0) async throws {
        let router = Router()
        router.on("**", method: .get) { [self] request, _ in try await respond(request, head: false) }
        router.on("**", method: .head) { [self] request, _ in try await respond(request, head: true) }
        let box = PortBox()
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: wanted), serverName: "mock-hub"),
                              onServerRunning: { channel in box.set(channel.localAddress?.port ?? 0) })
        task = Task { try await app.run() }
        let deadline = Date().addingTimeInterval(30)
        while box.port == 0 && Date() < deadline { try await Task.sleep(nanoseconds: 10_000_000) }
        port = box.port
        guard port != 0 else { throw MockHubError.notListening }
    }

    public func stop() async {
        task?.cancel()
        _ = await task?.result
    }

    /// Runs until the process is stopped (the MockHub executable).
    public func runForever() async throws {
        while true { try await Task.sleep(nanoseconds: 3_600_000_000_000) }
    }
}

public enum MockHubError: Error { case notListening, dropped }

final class PortBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    var port: Int { lock.withLock { value } }
    func set(_ port: Int) { lock.withLock { value = port } }
}
