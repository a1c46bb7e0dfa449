import Foundation
import TailorDigest
import TailorHub
import TailorHubTestSupport
import XCTest

/// `ModelScopeDownloader` against the mock's ModelScope routes: the modelscope client's cache layout and lock names,
/// resume, checks, errors, offline, the older layout, and two downloads at once.
final class ModelScopeDownloadTests: XCTestCase {
    func downloader(_ fixture: HubFixture, token: String? = nil, offline: Bool = false, events: EventLog? = nil) -> ModelScopeDownloader {
        ModelScopeDownloader(settings: fixture.settings(token: token, offline: offline), events: { events?.append($0) })
    }

    /// What modelscope_hub 0.5 names a file's lock (checked against the client's own files in scripts/peers/modelscope_cache.sh).
    func lockName(_ repo: String, _ path: String) -> String {
        "file_" + SHA256.hex(Array(["modelscope-hub-download-lock-v2", "file", "model", repo, path].joined(separator: "\u{0}").utf8)) + ".lock"
    }

    func testDownloadWritesTheModelScopeClientsCacheLayout() async throws {
        let fixture = try await HubFixture.start()
        defer { Task { await fixture.stop() } }
        let snapshot = try await downloader(fixture).download(try RepoID(HubFixture.repo))
        XCTAssertEqual(snapshot.revision, "master")
        let folder = fixture.cache.appendingPathComponent("models/tiny-org--tiny-llama/snapshots/master")
        XCTAssertEqual(snapshot.folder.path, folder.path)
        XCTAssertEqual(snapshot.files, HubFixture.files.map(\.path).sorted())
        var expected = [".lock/", "models/", "models/tiny-org--tiny-llama/", "models/tiny-org--tiny-llama/snapshots/",
                        "models/tiny-org--tiny-llama/snapshots/master/", "models/tiny-org--tiny-llama/snapshots/master/original/"]
        for file in HubFixture.files {
            expected.append("models/tiny-org--tiny-llama/snapshots/master/\(file.path)")
            expected.append(".lock/" + lockName(HubFixture.repo, file.path))
            XCTAssertEqual(try [UInt8](Data(contentsOf: folder.appendingPathComponent(file.path))), file.bytes, file.path)
        }
        XCTAssertEqual(fixture.listing(), expected.sorted(), "plain files (no blobs or links), no partial file left")
        XCTAssertTrue(fixture.hub.requests.contains { $0.path == "/api/v1/models/tiny-org/tiny-llama/repo/files" })
        XCTAssertEqual(fixture.storageGETs.count, 1, "the LFS file through the storage redirect")

        // Again: every file is there with the listed size and sha256, so nothing is fetched.
        fixture.hub.resetRequests()
        _ = try await downloader(fixture).download(try RepoID(HubFixture.repo))
        XCTAssertEqual(fixture.hub.requests.map(\.path), ["/api/v1/models/tiny-org/tiny-llama/repo/files"])
    }

    func testTheTokenGoesToModelScopeOnlyAndAPrivateRepositoryNeedsIt() async throws {
        let fixture = try await HubFixture.start()
        defer { Task { await fixture.stop() } }
        let refused = await thrown { try await self.downloader(fixture).download(try RepoID("tiny-org/private-llama")) }
        XCTAssertTrue("\(refused!)".contains("ModelScope refused access (HTTP 401") && "\(refused!)".contains("set MODELSCOPE_API_TOKEN"), "\(refused!)")
        fixture.hub.resetRequests()
        _ = try await downloader(fixture, token: fixture.hub.token).download(try RepoID("tiny-org/private-llama"))
        let api = fixture.hub.requests.filter { $0.path.hasPrefix("/api/v1/models/tiny-org/private-llama") }
        XCTAssertFalse(api.isEmpty)
        XCTAssertTrue(api.allSatisfy { $0.authorization == "Bearer \(fixture.hub.token)" }, "\(api)")
        XCTAssertFalse(fixture.storageGETs.isEmpty)
        XCTAssertTrue(fixture.storageGETs.allSatisfy { $0.authorization == nil && $0.host?.hasPrefix("localhost") == true }, "\(fixture.storageGETs)")
    }

    func testADroppedConnectionIsResumedAndAWrongHashDeletesTheFile() async throws {
        let fixture = try await HubFixture.start()
        defer { Task { await fixture.stop() } }
        fixture.hub.drop("model.safetensors", after: [120_000])
        _ = try await downloader(fixture).download(try RepoID(HubFixture.repo))
        let gets = fixture.storageGETs
        XCTAssertEqual(gets.count, 2, "\(gets)")
        XCTAssertEqual(gets.last?.range, "bytes=120000-")
        let weights = fixture.cache.appendingPathComponent("models/tiny-org--tiny-llama/snapshots/master/model.safetensors")
        XCTAssertEqual(try [UInt8](Data(contentsOf: weights)), HubFixture.weights)

        try FileManager.default.removeItem(at: weights)
        fixture.hub.corrupt("model.safetensors")
        let error = await thrown { try await self.downloader(fixture).download(try RepoID(HubFixture.repo)) }
        XCTAssertTrue("\(error!)".contains("model.safetensors: sha256") && "\(error!)".contains("is not ModelScope's \(SHA256.hex(HubFixture.weights))"), "\(error!)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: weights.path), "nothing under the final name")
        XCTAssertFalse(FileManager.default.fileExists(atPath: weights.path + ".incomplete"), "the bad partial file is deleted")
    }

    func testMissingRepositoryAndRevisionAndBadInput() async throws {
        let fixture = try await HubFixture.start()
        defer { Task { await fixture.stop() } }
        let missing = await thrown { try await self.downloader(fixture).download(try RepoID("tiny-org/nothing-here")) }
        XCTAssertTrue("\(missing!)".contains("repository tiny-org/nothing-here not found on ModelScope"), "\(missing!)")
        let revision = await thrown { try await self.downloader(fixture).download(try RepoID(HubFixture.repo), revision: "v9.9") }
        XCTAssertTrue("\(revision!)".contains("has no revision 'v9.9'"), "\(revision!)")
        let noConfig = await thrown { try await self.downloader(fixture).download(try RepoID("tiny-org/no-config"), requireConfig: true) }
        XCTAssertTrue("\(noConfig!)".contains("has no config.json"), "\(noConfig!)")
        let dataset = await thrown { try await self.downloader(fixture).download(try RepoID("tiny-org/tiny-data", kind: .dataset)) }
        XCTAssertTrue("\(dataset!)".contains("ModelScope dataset repositories are not downloaded yet"), "\(dataset!)")
        XCTAssertEqual(fixture.listing().filter { !$0.hasSuffix("/") }, [], "nothing written for any of them")
    }

    func testOfflineUsesTheCacheOnlyAndAnOlderClientsFolderIsReused() async throws {
        let fixture = try await HubFixture.start()
        defer { Task { await fixture.stop() } }
        let absent = await thrown { try await self.downloader(fixture, offline: true).download(try RepoID(HubFixture.repo)) }
        XCTAssertTrue("\(absent!)".contains("is not in the cache") && "\(absent!)".contains("tailor download --source modelscope tiny-org/tiny-llama"), "\(absent!)")
        _ = try await downloader(fixture).download(try RepoID(HubFixture.repo))
        fixture.hub.resetRequests()
        let offline = try await downloader(fixture, offline: true).download(try RepoID(HubFixture.repo), include: ["*.json"])
        XCTAssertEqual(offline.files, ["config.json", "tokenizer.json"])
        XCTAssertEqual(fixture.hub.requests.count, 0)

        // modelscope <= 1.37 kept models/OWNER/NAME (a "." of the name as "___"): a repository found there stays there.
        let dotted = fixture.cache.appendingPathComponent("models/tiny-org/tiny___llama")
        try FileManager.default.createDirectory(at: dotted, withIntermediateDirectories: true)
        try Data("{}".utf8).write(to: dotted.appendingPathComponent("config.json"))
        XCTAssertEqual(try downloader(fixture, offline: true).cached(try RepoID("tiny-org/tiny.llama")).folder.path, dotted.path)
        let legacy = fixture.cache.appendingPathComponent("models/tiny-org/tiny-llama")
        try FileManager.default.createDirectory(at: legacy, withIntermediateDirectories: true)
        try Data("old".utf8).write(to: legacy.appendingPathComponent("README.md"))
        let reused = try await downloader(fixture).download(try RepoID(HubFixture.repo), include: ["config.json"])
        XCTAssertEqual(reused.folder.path, legacy.path)
        XCTAssertTrue(FileManager.default.fileExists(atPath: legacy.appendingPathComponent("config.json").path))
    }

    func testTwoDownloadsOfOneRepositoryAtOnce() async throws {
        let fixture = try await HubFixture.start()
        defer { Task { await fixture.stop() } }
        fixture.hub.delayStorage(0.3)
        let a = downloader(fixture), b = downloader(fixture), repo = try RepoID(HubFixture.repo)
        async let one = a.download(repo)
        async let two = b.download(repo)
        let (first, second) = try await (one, two)
        XCTAssertEqual(first.folder.path, second.folder.path)
        XCTAssertEqual(fixture.storageGETs.count, 1, "the second waited on the lock and found the file")
        let weights = first.folder.appendingPathComponent("model.safetensors")
        XCTAssertEqual(try [UInt8](Data(contentsOf: weights)), HubFixture.weights)
    }

    func testSettingsFromTheEnvironment() {
        let defaults = HubSettings.modelScope(["HOME": "/home/u"])
        XCTAssertEqual(defaults.endpoint, "https://modelscope.cn")
        XCTAssertEqual(defaults.cacheDirectory.path, "/home/u/.cache/modelscope")
        XCTAssertNil(defaults.token)
        let set = HubSettings.modelScope(["HOME": "/home/u", "MODELSCOPE_DOMAIN": "www.modelscope.ai/", "MODELSCOPE_API_TOKEN": "ms-1",
                                                      "MODELSCOPE_CACHE": "~/ms"])
        XCTAssertEqual(set.endpoint, "https://www.modelscope.ai")
        XCTAssertEqual(set.token, "ms-1")
        XCTAssertEqual(set.cacheDirectory.path, "/home/u/ms")
        XCTAssertEqual(HubSettings.modelScope(["MODELSCOPE_ENDPOINT": "http://127.0.0.1:9", "MODELSCOPE_DOMAIN": "x.cn"]).endpoint,
                       "http://127.0.0.1:9", "MODELSCOPE_ENDPOINT wins")
    }
}
