import Foundation
import TailorModels
import TailorTensor
import TailorTestSupport
import XCTest

/// `tailor import gguf` and the cached import behind `--model x.gguf`, as library calls.
final class GGUFImportTests: XCTestCase {
    var root: URL!

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-gguf-import-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: root) }

    func testImportWritesTheFiveFilesAndSaysWhat() throws {
        let (file, config) = try GGUFModelTests.gguf("qwen3")
        let url = try file.write()
        let folder = root.appendingPathComponent("qwen3")
        let summary = try GGUFImport.run(file: url, output: folder, dtype: .bf16)
        for name in ["model.safetensors", "config.json", "tokenizer.json", "tokenizer_config.json", "generation_config.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent(name).path), name)
        }
        let model = try CausalLM.load(folder: folder, backend: try CPUBackend())
        XCTAssertEqual(model.config.layerCount, config.layerCount)
        XCTAssertEqual(model.embedTokens.dtype, .bf16)
        XCTAssertEqual(summary.folder, folder)
        let text = summary.description
        XCTAssertTrue(text.hasPrefix("imported model.gguf (qwen3, \(config.layerCount) layers, hidden \(config.hiddenSize), vocab \(config.vocabSize)"), text)
        XCTAssertTrue(text.contains("-> \(folder.path)\n  model.safetensors (bf16), config.json (Qwen3ForCausalLM, tied embeddings), "), text)
        XCTAssertTrue(text.contains("tokenizer.json (gpt2, pre smollm), tokenizer_config.json, generation_config.json\n"), text)
        XCTAssertTrue(text.hasSuffix(" s"), text)
    }

    func testModelFolderImportsOnceIntoTheCache() throws {
        let url = try GGUFModelTests.gguf("llama").file.write()
        let cache = root.appendingPathComponent("cache")
        var summaries: [GGUFImport.Summary] = []
        let folder = try GGUFImport.modelFolder(for: url.path, cache: cache) { summaries.append($0) }
        XCTAssertEqual(folder.deletingLastPathComponent(), cache.appendingPathComponent("imported"))
        XCTAssertTrue(folder.lastPathComponent.hasPrefix("model-"), folder.path)
        XCTAssertEqual(summaries.map(\.folder), [folder], "the summary names the cached folder, not the staging one")
        XCTAssertEqual(summaries.first?.dtype, .f32)
        XCTAssertEqual(try CausalLM.load(folder: folder, backend: try CPUBackend()).config.layerCount, 2)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.deletingLastPathComponent().path), [folder.lastPathComponent],
                       "no staging folder is left")

        XCTAssertEqual(try GGUFImport.modelFolder(for: url.path, cache: cache) { summaries.append($0) }.path, folder.path)
        XCTAssertEqual(summaries.count, 1, "the second call finds the import")
        let plain = TestPaths.fixture("models/llama")
        XCTAssertEqual(try GGUFImport.modelFolder(for: plain.path, cache: cache) { summaries.append($0) }.path, plain.path)
        XCTAssertEqual(summaries.count, 1, "a folder is its own model folder")
    }
}
