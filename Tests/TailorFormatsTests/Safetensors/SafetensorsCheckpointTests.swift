import Foundation
import XCTest
@testable import TailorFormats
import TailorTestSupport

final class SafetensorsCheckpointTests: XCTestCase {
    private let reference = TestPaths.fixture("formats/safetensors/sharded")

    /// A writable copy of the sharded fixture.
    private func copyOfShardedFixture() throws -> URL {
        let folder = try makeTemporaryFolder(self).appendingPathComponent("model")
        try FileManager.default.copyItem(at: reference, to: folder)
        return folder
    }

    func testReadsShardedCheckpointExactly() throws {
        struct Sharded: Decodable { var order: [String]; var tensors: [String: ExpectedTensor] }
        let expected = try loadJSON(Sharded.self, "formats/safetensors/sharded.json")
        let checkpoint = try SafetensorsCheckpoint(folder: reference)
        XCTAssertEqual(checkpoint.files.count, 2)
        XCTAssertNotNil(checkpoint.indexURL)
        XCTAssertEqual(checkpoint.tensorNames, expected.order.sorted())
        XCTAssertEqual(checkpoint.metadata, ["format": "pt"])
        for (name, entry) in expected.tensors {
            XCTAssertEqual(checkpoint.info(name)?.shape, entry.shape, name)
            assertExactlyEqual(try checkpoint.floats(name), entry.floats, name)
            XCTAssertEqual(try checkpoint.bytes(name).count, checkpoint.info(name)?.byteCount)
        }
        XCTAssertEqual(checkpoint.info("model.layers.0.self_attn.q_proj.weight")?.dtype, .bf16)
        XCTAssertEqual(checkpoint.file(containing: "lm_head.weight")?.url.lastPathComponent, "model-00002-of-00002.safetensors")
        guard case .tensorNotFound? = expectFormatError({ try checkpoint.floats("nope") }) else { return XCTFail() }
        // Opening the index file directly works the same.
        let viaIndex = try SafetensorsCheckpoint(reference.appendingPathComponent("model.safetensors.index.json"))
        XCTAssertEqual(viaIndex.tensorNames, checkpoint.tensorNames)
    }

    func testSingleFileAndArbitraryFile() throws {
        let url = TestPaths.fixture("formats/safetensors/basic.safetensors")
        let checkpoint = try SafetensorsCheckpoint(url)
        XCTAssertNil(checkpoint.indexURL)
        XCTAssertEqual(checkpoint.tensorNames, try SafetensorsFile(url: url).tensorNames)
        XCTAssertEqual(try checkpoint.floats("scalar"), [1.5])

        let folder = try makeTemporaryFolder(self)
        try FileManager.default.copyItem(at: url, to: folder.appendingPathComponent("model.safetensors"))
        XCTAssertEqual(try SafetensorsCheckpoint(folder: folder).floats("scalar"), [1.5])
    }

    func testMissingShardNamesShardAndIndex() throws {
        let folder = try copyOfShardedFixture()
        try FileManager.default.removeItem(at: folder.appendingPathComponent("model-00002-of-00002.safetensors"))
        let error = expectFormatError { try SafetensorsCheckpoint(folder: folder) }
        guard case let .missingShard(index, shard)? = error else { return XCTFail("\(String(describing: error))") }
        XCTAssertTrue(index.hasSuffix("model.safetensors.index.json"))
        XCTAssertTrue(shard.hasSuffix("model-00002-of-00002.safetensors"))
        XCTAssertTrue(error!.description.contains("model-00002-of-00002.safetensors"))
    }

    func testTensorListedButAbsentFromItsShard() throws {
        let folder = try copyOfShardedFixture()
        let indexURL = folder.appendingPathComponent("model.safetensors.index.json")
        var text = try String(contentsOf: indexURL, encoding: .utf8)
        text = text.replacingOccurrences(
            of: #""lm_head.weight": "model-00002-of-00002.safetensors""#,
            with: #""lm_head.weight": "model-00001-of-00002.safetensors""#)
        try text.write(to: indexURL, atomically: true, encoding: .utf8)
        guard case .tensorMissingFromShard(_, "model-00001-of-00002.safetensors", "lm_head.weight")? =
            expectFormatError({ try SafetensorsCheckpoint(folder: folder) }) else { return XCTFail() }
    }

    func testInvalidIndex() throws {
        let folder = try copyOfShardedFixture()
        let indexURL = folder.appendingPathComponent("model.safetensors.index.json")
        for text in ["{", "[]", #"{"metadata": {}}"#, #"{"weight_map": []}"#, #"{"weight_map": {"a": 3}}"#] {
            try text.write(to: indexURL, atomically: true, encoding: .utf8)
            guard case .invalidIndex? = expectFormatError({ try SafetensorsCheckpoint(folder: folder) }) else {
                return XCTFail(text)
            }
        }
    }

    func testMalformedIndexNamesFileLineAndColumn() throws {
        let folder = try copyOfShardedFixture()
        let indexURL = folder.appendingPathComponent("model.safetensors.index.json")
        try Data(MalformedJSON.text.utf8).write(to: indexURL)
        MalformedJSON.assertNamesPosition(indexURL.path + ": invalid safetensors index: ") {
            _ = try SafetensorsCheckpoint(folder: folder)
        }
        // A tensor named twice in weight_map is an error at the second name, as before.
        try "{\"weight_map\": {\"a\": \"x.safetensors\",\n  \"a\": \"y.safetensors\"}}".write(to: indexURL, atomically: true, encoding: .utf8)
        guard case .invalidIndex(_, let detail)? = expectFormatError({ try SafetensorsCheckpoint(folder: folder) }) else {
            return XCTFail()
        }
        XCTAssertEqual(detail, "not valid JSON at line 2, column 3: the key \"a\" appears twice in this object")
    }

    func testIndexIsWrittenAsTransformersWritesIt() {
        // json.dumps({"metadata": ..., "weight_map": ...}, indent=2, sort_keys=True) + "\n"
        let text = String(decoding: SafetensorsWriter.indexJSON(weightMap: [("b.weight", "model-00002-of-00002.safetensors"),
                                                                            ("a.weight", "model-00001-of-00002.safetensors")],
                                                                totalSize: 64, totalParameters: 16), as: UTF8.self)
        XCTAssertEqual(text, """
        {
          "metadata": {
            "total_parameters": 16,
            "total_size": 64
          },
          "weight_map": {
            "a.weight": "model-00001-of-00002.safetensors",
            "b.weight": "model-00002-of-00002.safetensors"
          }
        }

        """)
        XCTAssertEqual(String(decoding: SafetensorsWriter.indexJSON(weightMap: [], totalSize: 0, totalParameters: 0), as: UTF8.self),
                       "{\n  \"metadata\": {\n    \"total_parameters\": 0,\n    \"total_size\": 0\n  },\n  \"weight_map\": {}\n}\n")
    }

    func testFolderWithoutWeights() throws {
        let folder = try makeTemporaryFolder(self)
        try Data().write(to: folder.appendingPathComponent("adapter_model.safetensors"))
        guard case .noSafetensors(_, let found)? = expectFormatError({ try SafetensorsCheckpoint(folder: folder) }) else {
            return XCTFail()
        }
        XCTAssertEqual(found, ["adapter_model.safetensors"])
    }
}
