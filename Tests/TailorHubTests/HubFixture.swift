import Foundation
import TailorHub
import TailorHubTestSupport
import XCTest

/// A mock hub with a tiny model repository (git files, an LFS weight file, a nested file), a private copy, a repository
/// without config.json and a dataset; and a fresh cache folder.
struct HubFixture {
    static let weights: [UInt8] = (0..<300_000).map { UInt8(truncatingIfNeeded: ($0 &* 2654435761) >> 13) }
    static let files = [
        MockHub.File(path: "config.json", bytes: Array(#"{"architectures": ["LlamaForCausalLM"], "model_type": "llama"}"#.utf8)),
        MockHub.File(path: "tokenizer.json", bytes: Array(#"{"version": "1.0", "model": {"type": "BPE"}}"#.utf8)),
        MockHub.File(path: "model.safetensors", bytes: weights),
        MockHub.File(path: "original/params.txt", bytes: Array("nested\n".utf8)),
    ]
    static let repo = "tiny-org/tiny-llama"

    let hub: MockHub
    let cache: URL

    static func start() async throws -> HubFixture {
        let hub = MockHub(repos: [
            MockHub.Repo(id: repo, files: files),
            MockHub.Repo(id: "tiny-org/private-llama", files: files, isPrivate: true),
            MockHub.Repo(id: "tiny-org/no-config", files: [MockHub.File(path: "README.md", bytes: Array("# no config\n".utf8))]),
            MockHub.Repo(id: "tiny-org/tiny-data", kind: "dataset", files: [MockHub.File(path: "train.jsonl", bytes: Array("{\"text\": \"hi\"}\n".utf8))]),
        ])
        try await hub.start()
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-hub-\(UUID().uuidString)/hub", isDirectory: true)
        return HubFixture(hub: hub, cache: cache)
    }

    func settings(token: String? = nil, offline: Bool = false, attempts: Int = 4) -> HubSettings {
        var settings = HubSettings(endpoint: hub.endpoint, token: token, offline: offline, cacheDirectory: cache)
        settings.attempts = attempts
        settings.retryDelay = 0.02
        return settings
    }

    func downloader(token: String? = nil, offline: Bool = false, attempts: Int = 4, events: EventLog? = nil) -> HubDownloader {
        HubDownloader(settings: settings(token: token, offline: offline, attempts: attempts), events: { events?.append($0) })
    }

    func stop() async {
        await hub.stop()
        try? FileManager.default.removeItem(at: cache.deletingLastPathComponent())
    }

    var repoFolder: URL { cache.appendingPathComponent("models--tiny-org--tiny-llama") }

    /// Every path under the cache, relative, sorted; folders end in `/`.
    func listing() -> [String] {
        var found: [String] = []
        let walker = FileManager.default.enumerator(atPath: cache.path)
        while let path = walker?.nextObject() as? String {
            var isFolder: ObjCBool = false
            let url = cache.appendingPathComponent(path)
            let isLink = (try? FileManager.default.destinationOfSymbolicLink(atPath: url.path)) != nil
            _ = FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder)
            found.append(path + (isFolder.boolValue && !isLink ? "/" : ""))
        }
        return found.sorted()
    }

    var storageGETs: [MockHub.Seen] { hub.requests.filter { $0.method == "GET" && $0.path.hasPrefix("/lfs-storage/") } }
}

final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [HubEvent] = []
    func append(_ event: HubEvent) { lock.lock(); storage.append(event); lock.unlock() }
    var events: [HubEvent] { lock.lock(); defer { lock.unlock() }; return storage }
}

/// The error an async expression throws, or a failure when it throws none.
func thrown<T>(_ body: () async throws -> T, file: StaticString = #filePath, line: UInt = #line) async -> Error? {
    do {
        _ = try await body()
        XCTFail("no error thrown", file: file, line: line)
        return nil
    } catch { return error }
}
