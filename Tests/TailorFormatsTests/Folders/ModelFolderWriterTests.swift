import Foundation
import TailorFormats
import TailorTestSupport
import XCTest

/// A Hugging Face model folder from tensors: the weights, the base folder's companion files, and
/// tie_word_embeddings turned off when the output layer has a weight of its own.
final class ModelFolderWriterTests: XCTestCase {
    func testWritesWeightsCopiesCompanionsAndUnties() throws {
        let root = try makeTemporaryFolder(self)
        let base = root.appendingPathComponent("base")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        try Data(#"{"model_type": "llama", "tie_word_embeddings": true}"#.utf8).write(to: base.appendingPathComponent("config.json"))
        try Data(#"{"model": {}}"#.utf8).write(to: base.appendingPathComponent("tokenizer.json"))
        try Data("not copied".utf8).write(to: base.appendingPathComponent("notes.txt"))
        let tensors = [SafetensorsWriter.Tensor(name: "lm_head.weight", shape: [2, 2], floats: [1, 2, 3, 4]),
                       SafetensorsWriter.Tensor(name: "model.norm.weight", shape: [2], floats: [1, 1], dtype: .bf16)]

        let tied = root.appendingPathComponent("tied")
        try ModelFolderWriter.write(tensors, baseFolder: base, untieEmbeddings: false, to: tied)
        let weights = try SafetensorsFile(url: tied.appendingPathComponent("model.safetensors"))
        XCTAssertEqual(try weights.floats("lm_head.weight"), [1, 2, 3, 4])
        XCTAssertEqual(weights.info("model.norm.weight")?.dtype, .bf16, "each tensor keeps its dtype")
        XCTAssertEqual(try Data(contentsOf: tied.appendingPathComponent("config.json")), try Data(contentsOf: base.appendingPathComponent("config.json")))
        XCTAssertTrue(FileManager.default.fileExists(atPath: tied.appendingPathComponent("tokenizer.json").path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: tied.appendingPathComponent("notes.txt").path), "only the companion files")

        let untied = root.appendingPathComponent("untied")
        try ModelFolderWriter.write(tensors, baseFolder: base, untieEmbeddings: true, to: untied)
        let config = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: untied.appendingPathComponent("config.json"))) as? [String: Any])
        XCTAssertEqual(config["tie_word_embeddings"] as? Bool, false)
        XCTAssertEqual(config["model_type"] as? String, "llama")

        let alone = root.appendingPathComponent("alone")
        try ModelFolderWriter.write(tensors, baseFolder: nil, untieEmbeddings: true, to: alone)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: alone.path), ["model.safetensors"])
    }

    func testAFolderThatCannotBeCreatedIsNamed() throws {
        let root = try makeTemporaryFolder(self)
        let file = root.appendingPathComponent("file")
        try Data().write(to: file)
        XCTAssertThrowsError(try ModelFolderWriter.write([], baseFolder: nil, untieEmbeddings: false, to: file.appendingPathComponent("out"))) { error in
            guard case let FormatError.cannotWrite(path, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(path, file.appendingPathComponent("out").path)
        }
    }
}
