import Foundation
@testable import tailor
import TailorHub
import TailorHubTestSupport
import TailorTestSupport
import XCTest

/// `tailor download` and hub ids in `--model` / `model_name_or_path`, through the real binary against the mock hub.
final class DownloadCommandTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-download-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func startHub() async throws -> MockHub {
        let hub = MockHub(repos: [
            try MockHub.Repo(id: "tiny-org/chat-llama", folder: TestPaths.fixture("generation/chat-llama")),
            try MockHub.Repo(id: "tiny-org/llama", folder: TestPaths.fixture("models/llama")),
            MockHub.Repo(id: "tiny-org/no-config", files: [MockHub.File(path: "README.md", bytes: Array("# none\n".utf8))]),
        ])
        try await hub.start()
        return hub
    }

    func environment(_ hub: MockHub, home: String = "home", offline: Bool = false) -> [String: String] {
        ["HF_ENDPOINT": hub.endpoint, "HF_HOME": folder.appendingPathComponent(home).path, "HF_HUB_OFFLINE": offline ? "1" : "0", "HF_TOKEN": "",
         "HF_HUB_CACHE": folder.appendingPathComponent(home).appendingPathComponent("hub").path]
    }

    /// --source modelscope writes the modelscope client's cache; USE_MODELSCOPE_HUB=1 makes --model ids come from it.
    func testModelScopeDownloadsAndModelIdsFromModelScope() async throws {
        guard let binary = TestPaths.tailorBinary else { throw XCTSkip("the tailor executable is not built beside the tests") }
        let hub = try await startHub()
        defer { Task { await hub.stop() } }
        let cache = folder.appendingPathComponent("ms")
        let env = ["MODELSCOPE_ENDPOINT": hub.endpoint, "MODELSCOPE_CACHE": cache.path, "MODELSCOPE_API_TOKEN": "", "HF_HUB_OFFLINE": "0"]
        let downloaded = try TestPaths.run(binary, ["download", "tiny-org/chat-llama", "--source", "modelscope"], environment: env)
        XCTAssertEqual(downloaded.status, 0, downloaded.output)
        let snapshot = cache.appendingPathComponent("models/tiny-org--chat-llama/snapshots/master").path
        XCTAssertEqual(downloaded.output.split(separator: "\n").last.map(String.init), snapshot, downloaded.output)
        XCTAssertTrue(downloaded.output.contains("tiny-org/chat-llama at master, 5 files"), downloaded.output)
        XCTAssertTrue(hub.requests.allSatisfy { $0.path.hasPrefix("/api/v1/") || $0.path.hasPrefix("/lfs-storage/") }, "ModelScope's API only")

        hub.resetRequests()
        let generated = try TestPaths.run(binary, ["generate", "--model", "tiny-org/chat-llama", "--offline", "--prompt", "hi", "--max-new-tokens", "2", "--greedy"],
                                          environment: env.merging(["USE_MODELSCOPE_HUB": "1"]) { $1 })
        XCTAssertEqual(generated.status, 0, generated.output)
        XCTAssertTrue(generated.output.contains("model: tiny-org/chat-llama at revision master (\(snapshot))"), generated.output)
        XCTAssertEqual(hub.requests.count, 0)
        let missing = try TestPaths.run(binary, ["download", "tiny-org/llama", "--source", "modelscope", "--offline"], environment: env)
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.output.contains("tailor download --source modelscope tiny-org/llama"), missing.output)
        let dataset = try TestPaths.run(binary, ["download", "tiny-org/llama", "--source", "modelscope", "--repo-type", "dataset"], environment: env)
        XCTAssertNotEqual(dataset.status, 0)
        XCTAssertTrue(dataset.output.contains("ModelScope dataset repositories are not downloaded yet"), dataset.output)
    }

    func testDownloadThenEveryModelOptionTakesTheIdOffline() async throws {
        guard let binary = TestPaths.tailorBinary else { throw XCTSkip("the tailor executable is not built beside the tests") }
        let hub = try await startHub()
        defer { Task { await hub.stop() } }
        let downloaded = try TestPaths.run(binary, ["download", "tiny-org/chat-llama"], environment: environment(hub))
        XCTAssertEqual(downloaded.status, 0, downloaded.output)
        let snapshot = try XCTUnwrap(downloaded.output.split(separator: "\n").last.map(String.init))
        XCTAssertTrue(snapshot.hasPrefix(folder.appendingPathComponent("home/hub/models--tiny-org--chat-llama/snapshots/").path), snapshot)
        XCTAssertTrue(downloaded.output.contains("tiny-org/chat-llama at main: commit"), downloaded.output)
        XCTAssertTrue(FileManager.default.fileExists(atPath: snapshot + "/model.safetensors"))

        hub.resetRequests()
        let generated = try TestPaths.run(binary, ["generate", "--model", "tiny-org/chat-llama", "--prompt", "hi", "--max-new-tokens", "2", "--greedy"],
                                          environment: environment(hub, offline: true))
        XCTAssertEqual(generated.status, 0, generated.output)
        XCTAssertTrue(generated.output.contains("model: tiny-org/chat-llama at commit"), generated.output)
        let offline = try TestPaths.run(binary, ["download", "tiny-org/chat-llama", "--offline"], environment: environment(hub))
        XCTAssertEqual(offline.output.split(separator: "\n").last.map(String.init), snapshot)
        XCTAssertEqual(hub.requests.count, 0, "offline runs asked the hub: \(hub.requests.map(\.path))")

        let missing = try TestPaths.run(binary, ["generate", "--model", "tiny-org/chat-llama", "--prompt", "hi"], environment: environment(hub, home: "empty", offline: true))
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.output.contains("offline (--offline or HF_HUB_OFFLINE=1) and tiny-org/chat-llama at main is not in the cache"), missing.output)
        XCTAssertEqual(hub.requests.count, 0)
    }

    func testTrainingFromAHubIdRecordsTheIdInTheAdapter() async throws {
        guard let binary = TestPaths.tailorBinary else { throw XCTSkip("the tailor executable is not built beside the tests") }
        let hub = try await startHub()
        defer { Task { await hub.stop() } }
        let records = (0..<4).map { i in #"{"input_ids": [1, \#(10 + i), \#(20 + i), 2], "labels": [-100, \#(10 + i), \#(20 + i), 2]}"# }
        try (records.joined(separator: "\n") + "\n").write(to: folder.appendingPathComponent("train.jsonl"), atomically: true, encoding: .utf8)
        let out = folder.appendingPathComponent("out")
        let trained = try TestPaths.run(binary, ["train", "--model_name_or_path", "tiny-org/llama", "--dataset", folder.appendingPathComponent("train.jsonl").path,
                                                "--output_dir", out.path, "--max_steps", "1", "--r", "2", "--target_modules", "q_proj", "--save_strategy", "no"],
                                        environment: environment(hub))
        XCTAssertEqual(trained.status, 0, trained.output)
        let config = try String(contentsOf: out.appendingPathComponent("adapter_config.json"), encoding: .utf8)
        XCTAssertTrue(config.contains("\"base_model_name_or_path\": \"tiny-org/llama\""), config)
    }

    func testBadIdsAndRepositoriesAreClearErrors() async throws {
        guard let binary = TestPaths.tailorBinary else { throw XCTSkip("the tailor executable is not built beside the tests") }
        let hub = try await startHub()
        defer { Task { await hub.stop() } }
        let notAnID = try TestPaths.run(binary, ["download", "just-a-name"], environment: environment(hub))
        XCTAssertNotEqual(notAnID.status, 0)
        XCTAssertTrue(notAnID.output.contains("'just-a-name' is not a hub id: expected ORG/NAME"), notAnID.output)
        let noConfig = try TestPaths.run(binary, ["download", "tiny-org/no-config"], environment: environment(hub))
        XCTAssertNotEqual(noConfig.status, 0)
        XCTAssertTrue(noConfig.output.contains("tiny-org/no-config at main has no config.json"), noConfig.output)
        let revision = try TestPaths.run(binary, ["download", "tiny-org/chat-llama", "--revision", "v2"], environment: environment(hub))
        XCTAssertNotEqual(revision.status, 0)
        XCTAssertTrue(revision.output.contains("repository tiny-org/chat-llama has no revision 'v2'"), revision.output)
        let absent = try TestPaths.run(binary, ["generate", "--model", "tiny-org/absent", "--prompt", "hi"], environment: environment(hub))
        XCTAssertNotEqual(absent.status, 0)
        XCTAssertTrue(absent.output.contains("repository tiny-org/absent not found on the hub"), absent.output)
        let source = try TestPaths.run(binary, ["download", "tiny-org/chat-llama", "--source", "gitee"], environment: environment(hub))
        XCTAssertNotEqual(source.status, 0)
        XCTAssertTrue(source.output.contains("--source must be hf or modelscope, not 'gitee'"), source.output)
    }

    func testALocalPathWinsOverAnIdOfTheSameSpelling() async throws {
        let previous = FileManager.default.currentDirectoryPath
        defer { _ = FileManager.default.changeCurrentDirectoryPath(previous) }
        _ = FileManager.default.changeCurrentDirectoryPath(folder.path)
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("tiny-org/local"), withIntermediateDirectories: true)
        let local = try await ModelArgument.hubFolder(for: "tiny-org/local")
        XCTAssertNil(local)
        XCTAssertTrue(ModelArgument.looksLikeHubID("Qwen/Qwen2.5-0.5B-Instruct"))
        for path in ["./x", "../x/y", "~/x", "/abs/path", "model.gguf", "a/b.gguf", "a/b/c", "name"] { XCTAssertFalse(ModelArgument.looksLikeHubID(path), path) }
    }

    func testProgressBarUnits() {
        XCTAssertEqual(DownloadProgress.size(999), "999 B")
        XCTAssertEqual(DownloadProgress.size(1_500_000), "1.5 MB")
        XCTAssertEqual(DownloadProgress.size(2_750_000_000), "2.8 GB")
        XCTAssertEqual(DownloadProgress.clock(75), "1:15")
        XCTAssertEqual(DownloadProgress.clock(3725), "1:02:05")
    }
}
