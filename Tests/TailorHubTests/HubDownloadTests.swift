import Foundation
import TailorDigest
import TailorHub
import TailorHubTestSupport
import XCTest

/// `HubDownloader` against the mock hub: huggingface_hub's cache layout, resume, checks, errors, offline, concurrency.
final class HubDownloadTests: XCTestCase {
    func testDownloadWritesHuggingFaceHubsCacheLayout() async throws {
        let fixture = try await HubFixture.start()
        defer { Task { await fixture.stop() } }
        let log = EventLog()
        let snapshot = try await fixture.downloader(events: log).download(try RepoID(HubFixture.repo))
        let commit = snapshot.commit
        XCTAssertEqual(snapshot.folder.path, fixture.repoFolder.appendingPathComponent("snapshots/\(commit)").path)
        let sha = SHA256.hex(HubFixture.weights)
        let files = Dictionary(uniqueKeysWithValues: HubFixture.files.map { ($0.path, $0) })
        let config = try XCTUnwrap(files["config.json"]), nested = try XCTUnwrap(files["original/params.txt"])
        XCTAssertEqual(fixture.listing(), [
            ".locks/", ".locks/models--tiny-org--tiny-llama/",
            ".locks/models--tiny-org--tiny-llama/\(config.blobID).lock",
            ".locks/models--tiny-org--tiny-llama/\(nested.blobID).lock",
            ".locks/models--tiny-org--tiny-llama/\(sha).lock",
            ".locks/models--tiny-org--tiny-llama/\(try XCTUnwrap(files["tokenizer.json"]).blobID).lock",
            "CACHEDIR.TAG",
            "models--tiny-org--tiny-llama/", "models--tiny-org--tiny-llama/blobs/",
            "models--tiny-org--tiny-llama/blobs/\(config.blobID)",
            "models--tiny-org--tiny-llama/blobs/\(nested.blobID)",
            "models--tiny-org--tiny-llama/blobs/\(sha)",
            "models--tiny-org--tiny-llama/blobs/\(try XCTUnwrap(files["tokenizer.json"]).blobID)",
            "models--tiny-org--tiny-llama/refs/", "models--tiny-org--tiny-llama/refs/main",
            "models--tiny-org--tiny-llama/snapshots/", "models--tiny-org--tiny-llama/snapshots/\(commit)/",
            "models--tiny-org--tiny-llama/snapshots/\(commit)/config.json",
            "models--tiny-org--tiny-llama/snapshots/\(commit)/model.safetensors",
            "models--tiny-org--tiny-llama/snapshots/\(commit)/original/",
            "models--tiny-org--tiny-llama/snapshots/\(commit)/original/params.txt",
            "models--tiny-org--tiny-llama/snapshots/\(commit)/tokenizer.json",
            "models--tiny-org--tiny-llama/trees/", "models--tiny-org--tiny-llama/trees/\(commit).json",
        ].sorted())
        XCTAssertEqual(try String(contentsOf: fixture.repoFolder.appendingPathComponent("refs/main"), encoding: .utf8), commit, "refs/main: the commit, no newline")
        let links = fixture.repoFolder.appendingPathComponent("snapshots/\(commit)")
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: links.appendingPathComponent("model.safetensors").path), "../../blobs/\(sha)")
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: links.appendingPathComponent("original/params.txt").path),
                       "../../../blobs/\(nested.blobID)")
        XCTAssertEqual([UInt8](try Data(contentsOf: links.appendingPathComponent("model.safetensors"))), HubFixture.weights)
        // The LFS bytes came from the storage host without the token; the metadata from HEADs on resolve URLs.
        XCTAssertEqual(fixture.storageGETs.count, 1)
        XCTAssertTrue(fixture.hub.requests.contains { $0.method == "HEAD" && $0.path == "/\(HubFixture.repo)/resolve/\(commit)/model.safetensors" })
        XCTAssertTrue(log.events.contains(.fileDone(path: "model.safetensors", downloaded: true)))
        guard case .resolved(_, "main", commit, 4, let bytes, 0)? = log.events.first else { return XCTFail("first event: \(String(describing: log.events.first))") }
        XCTAssertEqual(bytes, Int64(HubFixture.files.reduce(0) { $0 + $1.bytes.count }))

        // Again: everything is cached; only the revision is asked.
        fixture.hub.resetRequests()
        let again = try await fixture.downloader().download(try RepoID(HubFixture.repo))
        XCTAssertEqual(again, snapshot)
        XCTAssertEqual(fixture.hub.requests.map(\.path), ["/api/models/\(HubFixture.repo)/revision/main"])
    }

    func testADroppedConnectionIsResumedWithARangeRequest() async throws {
        let fixture = try await HubFixture.start()
        defer { Task { await fixture.stop() } }
        fixture.hub.drop("model.safetensors", after: [100_000])
        let snapshot = try await fixture.downloader().download(try RepoID(HubFixture.repo))
        XCTAssertEqual([UInt8](try Data(contentsOf: snapshot.folder.appendingPathComponent("model.safetensors"))), HubFixture.weights)
        // The second GET continues where the received bytes end (all 100000 the mock sent, unless the socket lost some).
        let ranges = fixture.storageGETs.map(\.range)
        XCTAssertEqual(ranges.count, 2, "\(ranges)")
        let resumedAt = ranges.last.flatMap { $0 }.flatMap { Int($0.dropFirst(6).dropLast()) } ?? -1
        XCTAssertTrue(ranges.first == .some(nil) && (1...100_000).contains(resumedAt), "\(ranges)")
    }

    func testAPartialFileFromAnEarlierRunIsResumedAndNeverGetsTheFinalName() async throws {
        let fixture = try await HubFixture.start()
        defer { Task { await fixture.stop() } }
        let sha = SHA256.hex(HubFixture.weights)
        fixture.hub.drop("model.safetensors", after: [120_000])
        let error = await thrown { try await fixture.downloader(attempts: 1).download(try RepoID(HubFixture.repo)) }
        guard case HubError.network? = error as? HubError else { return XCTFail("\(String(describing: error))") }
        let blobs = fixture.repoFolder.appendingPathComponent("blobs")
        XCTAssertFalse(FileManager.default.fileExists(atPath: blobs.appendingPathComponent(sha).path), "a partial blob under its final name")
        let partial = try Data(contentsOf: blobs.appendingPathComponent("\(sha).incomplete"))
        XCTAssertTrue((1...120_000).contains(partial.count), "\(partial.count) bytes kept")
        XCTAssertFalse(fixture.listing().contains { $0.hasSuffix("model.safetensors") }, "no snapshot link to an unfinished blob")

        let snapshot = try await fixture.downloader().download(try RepoID(HubFixture.repo))
        XCTAssertEqual([UInt8](try Data(contentsOf: snapshot.folder.appendingPathComponent("model.safetensors"))), HubFixture.weights)
        XCTAssertEqual(fixture.storageGETs.map(\.range), [nil, "bytes=\(partial.count)-"])
        XCTAssertFalse(fixture.listing().contains { $0.hasSuffix(".incomplete") })
    }

    func testAWrongHashDeletesTheBlobAndSaysSo() async throws {
        let fixture = try await HubFixture.start()
        defer { Task { await fixture.stop() } }
        fixture.hub.corrupt("model.safetensors")
        let error = await thrown { try await fixture.downloader().download(try RepoID(HubFixture.repo)) }
        guard case .hashMismatch(let file, let expected, _, let deleted)? = error as? HubError else { return XCTFail("\(String(describing: error))") }
        XCTAssertEqual(file, "model.safetensors")
        XCTAssertEqual(expected, SHA256.hex(HubFixture.weights))
        XCTAssertTrue(deleted.hasSuffix(".incomplete"))
        XCTAssertTrue("\(error!)".contains("deleted"), "\(error!)")
        XCTAssertFalse(fixture.listing().contains { $0.contains(expected) && !$0.hasSuffix(".lock") }, "\(fixture.listing())")
    }

    func testMissingRepositoryRevisionAndFile() async throws {
        let fixture = try await HubFixture.start()
        defer { Task { await fixture.stop() } }
        let missing = await thrown { try await fixture.downloader().download(try RepoID("tiny-org/absent")) }
        XCTAssertEqual(missing as? HubError, .repoNotFound(repo: "tiny-org/absent", url: "\(fixture.hub.endpoint)/api/models/tiny-org/absent/revision/main", hadToken: false))
        let revision = await thrown { try await fixture.downloader().download(try RepoID(HubFixture.repo), revision: "v9") }
        XCTAssertEqual(revision as? HubError, .revisionNotFound(repo: HubFixture.repo, revision: "v9"))
        XCTAssertTrue("\(revision!)".contains("--revision"))
        let client = HubClient(settings: fixture.settings())
        let file = await thrown { try await client.metadata(try RepoID(HubFixture.repo), revision: "main", file: "absent.bin") }
        XCTAssertEqual(file as? HubError, .entryNotFound(repo: HubFixture.repo, revision: "main", file: "absent.bin"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: fixture.repoFolder.path), "nothing written for failed look-ups")
    }

    func testAPrivateRepositoryNeedsTheToken() async throws {
        let fixture = try await HubFixture.start()
        defer { Task { await fixture.stop() } }
        let repo = try RepoID("tiny-org/private-llama")
        let refused = await thrown { try await fixture.downloader().download(repo) }
        guard case .repoNotFound(_, _, false)? = refused as? HubError else { return XCTFail("\(String(describing: refused))") }
        XCTAssertTrue("\(refused!)".contains("HF_TOKEN"))
        let wrong = await thrown { try await fixture.downloader(token: "hf_wrong").download(repo) }
        guard case .repoNotFound(_, _, true)? = wrong as? HubError else { return XCTFail("\(String(describing: wrong))") }
        fixture.hub.resetRequests()
        let snapshot = try await fixture.downloader(token: fixture.hub.token).download(repo)
        XCTAssertEqual(snapshot.files.count, 4)
        let requests = fixture.hub.requests
        XCTAssertTrue(requests.filter { !$0.path.hasPrefix("/lfs-storage/") }.allSatisfy { $0.authorization == "Bearer \(fixture.hub.token)" })
        XCTAssertEqual(fixture.storageGETs.count, 1)
        XCTAssertTrue(fixture.storageGETs.allSatisfy { $0.authorization == nil }, "the token went to the storage host")
    }

    func testOfflineUsesTheCacheAndNeverTheNetwork() async throws {
        let fixture = try await HubFixture.start()
        defer { Task { await fixture.stop() } }
        let repo = try RepoID(HubFixture.repo)
        let absent = await thrown { try await fixture.downloader(offline: true).download(repo) }
        guard case .notCached(HubFixture.repo, "main", _, [])? = absent as? HubError else { return XCTFail("\(String(describing: absent))") }
        XCTAssertTrue("\(absent!)".contains("HF_HUB_OFFLINE"))
        XCTAssertEqual(fixture.hub.requests.count, 0)

        let online = try await fixture.downloader().download(repo, include: ["*.json"])
        fixture.hub.resetRequests()
        let offline = try await fixture.downloader(offline: true).download(repo, include: ["*.json"])
        XCTAssertEqual(offline, online)
        // The listing recorded in trees/<commit>.json tells that the weights are not there yet.
        let partial = await thrown { try await fixture.downloader(offline: true).download(repo) }
        guard case .notCached(_, _, _, let missing)? = partial as? HubError else { return XCTFail("\(String(describing: partial))") }
        XCTAssertEqual(missing, ["model.safetensors", "original/params.txt"])
        XCTAssertEqual(fixture.hub.requests.count, 0)
        // By commit, too.
        let byCommit = try await fixture.downloader(offline: true).download(repo, revision: online.commit, include: ["*.json"])
        XCTAssertEqual(byCommit.folder, online.folder)
    }

    func testTwoDownloadsOfOneRepositoryAtOnce() async throws {
        let fixture = try await HubFixture.start()
        defer { Task { await fixture.stop() } }
        fixture.hub.delayStorage(0.5)
        let repo = try RepoID(HubFixture.repo)
        async let first = fixture.downloader().download(repo)
        async let second = fixture.downloader().download(repo)
        let (a, b) = try await (first, second)
        XCTAssertEqual(a, b)
        XCTAssertEqual([UInt8](try Data(contentsOf: a.folder.appendingPathComponent("model.safetensors"))), HubFixture.weights)
        XCTAssertEqual(fixture.storageGETs.count, 1, "the blob's lock lets one of them download it")
        XCTAssertFalse(fixture.listing().contains { $0.hasSuffix(".incomplete") || $0.hasSuffix(".tmp") })
    }

    func testServerErrorsAreRetriedWithBackoff() async throws {
        let fixture = try await HubFixture.start()
        defer { Task { await fixture.stop() } }
        fixture.hub.fail("/revision/main", with: [503, 502])
        fixture.hub.fail("/lfs-storage/\(SHA256.hex(HubFixture.weights))", with: [500])
        let log = EventLog()
        _ = try await fixture.downloader(events: log).download(try RepoID(HubFixture.repo))
        let retries = log.events.compactMap { event -> String? in if case .retrying(_, _, _, let reason) = event { return reason } else { return nil } }
        XCTAssertEqual(retries, ["HTTP 503", "HTTP 502", "HTTP 500"])
        fixture.hub.fail("/revision/main", with: [503, 503, 503, 503])
        try FileManager.default.removeItem(at: fixture.cache)
        let error = await thrown { try await fixture.downloader(attempts: 3).download(try RepoID(HubFixture.repo)) }
        guard case .http(503, _, _)? = error as? HubError else { return XCTFail("\(String(describing: error))") }
    }

    func testBadInput() async throws {
        for id in ["tiny-llama", "a/b/c", "/name", "org/", "org/na me", "org--x/name", "org/..", ""] {
            XCTAssertThrowsError(try RepoID(id), id) { XCTAssertEqual($0 as? HubError, .invalidRepoID(id)) }
        }
        XCTAssertTrue("\(HubError.invalidRepoID("x"))".contains("ORG/NAME"))
        let fixture = try await HubFixture.start()
        defer { Task { await fixture.stop() } }
        let noConfig = await thrown { try await fixture.downloader().download(try RepoID("tiny-org/no-config"), requireConfig: true) }
        XCTAssertEqual(noConfig as? HubError, .noConfig(repo: "tiny-org/no-config", revision: "main"))
        let nothing = await thrown { try await fixture.downloader().download(try RepoID(HubFixture.repo), include: ["*.gguf"]) }
        XCTAssertEqual(nothing as? HubError, .nothingMatched(repo: HubFixture.repo, revision: "main", include: ["*.gguf"], exclude: []))
    }

    func testDatasetRepositories() async throws {
        let fixture = try await HubFixture.start()
        defer { Task { await fixture.stop() } }
        let snapshot = try await fixture.downloader().download(try RepoID("tiny-org/tiny-data", kind: .dataset))
        XCTAssertTrue(snapshot.folder.path.contains("/datasets--tiny-org--tiny-data/snapshots/"))
        XCTAssertEqual(try String(contentsOf: snapshot.folder.appendingPathComponent("train.jsonl"), encoding: .utf8), "{\"text\": \"hi\"}\n")
        XCTAssertTrue(fixture.hub.requests.contains { $0.path.hasPrefix("/datasets/tiny-org/tiny-data/resolve/") })
    }
}
