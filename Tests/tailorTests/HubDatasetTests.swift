import Foundation
@testable import tailor
import TailorHubTestSupport
import TailorTestSupport
import XCTest

/// Hub ids beyond `--model`: `--dataset ORG/NAME` (a dataset repository's JSON Lines files), `model_revision`
/// recorded in the adapter, and `--offline` on tailor train, through the real binary against the mock hub.
final class HubDatasetTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-hub-data-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func lines(_ count: Int, offset: Int) -> [UInt8] {
        let records = (0..<count).map { i in #"{"input_ids": [1, \#(10 + offset + i), \#(20 + i), 2], "labels": [-100, \#(10 + offset + i), \#(20 + i), 2]}"# }
        return Array((records.joined(separator: "\n") + "\n").utf8)
    }

    func startHub() async throws -> MockHub {
        var llama = try MockHub.Repo(id: "tiny-org/llama", folder: TestPaths.fixture("models/llama"))
        llama.branches["v1"] = llama.commit
        let hub = MockHub(repos: [
            llama,
            MockHub.Repo(id: "tiny-org/tokens", kind: "dataset", files: [
                MockHub.File(path: "README.md", bytes: Array("# tokens\n".utf8)),
                MockHub.File(path: "data/train.jsonl", bytes: lines(6, offset: 0)),
                MockHub.File(path: "data/test.jsonl", bytes: lines(2, offset: 50)),
            ]),
            MockHub.Repo(id: "tiny-org/parquet-only", kind: "dataset", files: [
                MockHub.File(path: "data/train-00000-of-00001.parquet", bytes: Array("PAR1".utf8), lfs: true),
            ]),
        ])
        try await hub.start()
        return hub
    }

    func environment(_ hub: MockHub, home: String = "home") -> [String: String] {
        ["HF_ENDPOINT": hub.endpoint, "HF_HOME": folder.appendingPathComponent(home).path, "HF_HUB_OFFLINE": "0", "HF_TOKEN": "",
         "HF_HUB_CACHE": folder.appendingPathComponent(home).appendingPathComponent("hub").path]
    }

    func testADatasetIdTrainsOnItsTrainSplitAndTheRevisionIsRecorded() async throws {
        guard let binary = TestPaths.tailorBinary else { throw XCTSkip("the tailor executable is not built beside the tests") }
        let hub = try await startHub()
        defer { Task { await hub.stop() } }
        let out = folder.appendingPathComponent("out")
        let trained = try TestPaths.run(binary, ["train", "--model_name_or_path", "tiny-org/llama", "--model_revision", "v1", "--dataset", "tiny-org/tokens",
                                                "--output_dir", out.path, "--max_steps", "1", "--r", "2", "--target_modules", "q_proj", "--save_strategy", "no"],
                                        environment: environment(hub))
        XCTAssertEqual(trained.status, 0, trained.output)
        XCTAssertTrue(trained.output.contains("dataset: tiny-org/tokens at commit "), trained.output)
        XCTAssertTrue(trained.output.contains(": data/train.jsonl\n"), "the train split only, not data/test.jsonl\n\(trained.output)")
        XCTAssertTrue(trained.output.contains("data: 6 training rows"), trained.output)
        let config = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("adapter_config.json"))) as? [String: Any])
        XCTAssertEqual(config["base_model_name_or_path"] as? String, "tiny-org/llama")
        XCTAssertEqual(config["revision"] as? String, "v1")
        XCTAssertTrue(hub.requests.contains { $0.path.contains("/api/datasets/tiny-org/tokens") }, "\(hub.requests.map(\.path))")

        // --offline: the cached dataset and model serve again without one request; an id not cached is a clear error.
        hub.resetRequests()
        let again = try TestPaths.run(binary, ["train", "--offline", "--model_name_or_path", "tiny-org/llama", "--model_revision", "v1",
                                              "--dataset", "tiny-org/tokens", "--output_dir", folder.appendingPathComponent("again").path,
                                              "--max_steps", "1", "--r", "2", "--target_modules", "q_proj", "--save_strategy", "no", "--dry-run"],
                                      environment: environment(hub))
        XCTAssertEqual(again.status, 0, again.output)
        XCTAssertEqual(hub.requests.count, 0, "\(hub.requests.map(\.path))")
        let missing = try TestPaths.run(binary, ["train", "--offline", "--model_name_or_path", "tiny-org/llama", "--dataset", "tiny-org/tokens",
                                                "--output_dir", folder.appendingPathComponent("missing").path, "--dry-run"],
                                        environment: environment(hub, home: "empty"))
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.output.contains("tiny-org/tokens at main is not in the cache"), missing.output)
        XCTAssertEqual(hub.requests.count, 0)
    }

    /// A sweep takes hub ids as tailor train does: every run trains on the dataset repository's train split.
    func testASweepOverAHubDatasetTrainsEachRunOnIt() async throws {
        guard let binary = TestPaths.tailorBinary else { throw XCTSkip("the tailor executable is not built beside the tests") }
        let hub = try await startHub()
        defer { Task { await hub.stop() } }
        let out = folder.appendingPathComponent("sweep")
        let swept = try TestPaths.run(binary, ["sweep", "--model_name_or_path", "tiny-org/llama", "--dataset", "tiny-org/tokens",
                                              "--output_dir", out.path, "--max_steps", "1", "--target_modules", "q_proj", "--save_strategy", "no",
                                              "--grid", "r=2,4"], environment: environment(hub))
        XCTAssertEqual(swept.status, 0, swept.output)
        for name in ["r-2", "r-4"] {
            let config = try String(contentsOf: out.appendingPathComponent("\(name)/tailor_config.yaml"), encoding: .utf8)
            XCTAssertTrue(config.contains("datasets--tiny-org--tokens"), "the snapshot's file, not the id\n\(config)")
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("\(name)/adapter_model.safetensors").path), name)
        }
        XCTAssertEqual(swept.output.components(separatedBy: "data: 6 training rows").count - 1, 2, swept.output)
    }

    func testARepositoryWithoutFilesTailorReadsSaysSo() async throws {
        guard let binary = TestPaths.tailorBinary else { throw XCTSkip("the tailor executable is not built beside the tests") }
        let hub = try await startHub()
        defer { Task { await hub.stop() } }
        let result = try TestPaths.run(binary, ["train", "--model_name_or_path", TestPaths.fixture("models/llama").path, "--dataset", "tiny-org/parquet-only",
                                               "--output_dir", folder.appendingPathComponent("out").path, "--dry-run"], environment: environment(hub))
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.output.contains("dataset tiny-org/parquet-only: the repository has no .json, .jsonl, .csv or .tsv file"), result.output)
        XCTAssertTrue(result.output.contains("parquet are not read yet"), result.output)
        XCTAssertEqual(ModelArgument.trainingSplit(["a.jsonl", "b.jsonl"]), ["a.jsonl", "b.jsonl"])
        XCTAssertEqual(ModelArgument.trainingSplit(["data/train-0.jsonl", "data/train-1.jsonl", "data/validation.jsonl"]),
                       ["data/train-0.jsonl", "data/train-1.jsonl"])
    }
}
