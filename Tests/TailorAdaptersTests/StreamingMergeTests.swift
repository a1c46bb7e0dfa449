import Foundation
import TailorAdapters
import TailorFormats
import TailorModels
import TailorTensor
import TailorTestSupport
import XCTest

/// `writeMerged`, the merge `tailor merge` streams tensor by tensor: the folder it writes is byte
/// for byte the one `mergeAndUnload` + `ModelFolderWriter.write` write (every merged tensor
/// bit-identical), on f32 and bf16 bases, with biases, `modules_to_save` copies and untied output
/// layers, in one file and in shards, and the model is left as it was.
final class StreamingMergeTests: XCTestCase {
    static let extras = [("qwen2-bias-all", "qwen2"), ("qwen2-bias-lora-only", "qwen2"), ("qwen2-embed-head", "qwen2"),
                         ("llama-tied-embed", "llama-tied"), ("llama-tied-head", "llama-tied"), ("llama-tied-ensure", "llama-tied")]

    var root: URL!

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-stream-merge-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: root) }

    /// The fixture model folder `family`, its weights stored in `dtype` (bf16: narrowed).
    func baseFolder(_ family: String, _ dtype: SafetensorsDType) throws -> URL {
        let fixture = TestPaths.fixture("models/\(family)")
        guard dtype != .f32 else { return fixture }
        let folder = root.appendingPathComponent("\(family)-\(dtype)")
        guard !FileManager.default.fileExists(atPath: folder.path) else { return folder }
        let file = try SafetensorsFile(url: fixture.appendingPathComponent("model.safetensors"))
        let tensors = try file.tensorInfos.map { info in
            SafetensorsWriter.Tensor(name: info.name, shape: info.shape, floats: try file.floats(info.name), dtype: dtype)
        }
        try ModelFolderWriter.write(tensors, baseFolder: fixture, untieEmbeddings: false, to: folder)
        return folder
    }

    /// Merges the adapter in `adapterFolder` into `base` both ways and compares the folders.
    func assertStreamedMergeIsMergeAndUnload(base: URL, adapterFolder: URL, maxShardBytes: Int = ModelFolderWriter.defaultMaxShardBytes,
                                             attached: Bool = false, _ label: String) throws {
        let backend = try CPUBackend()
        let expected = root.appendingPathComponent("\(label)-unloaded"), actual = root.appendingPathComponent("\(label)-streamed")

        let merging = try CausalLM.load(folder: base, backend: backend)
        try PeftAdapterFolder.load(folder: adapterFolder, for: merging).mergeAndUnload(into: merging)
        try ModelFolderWriter.write(merging, baseFolder: base, to: expected, maxShardBytes: maxShardBytes)

        let model = try CausalLM.load(folder: base, backend: backend)
        let adapters = try PeftAdapterFolder.load(folder: adapterFolder, for: model)
        if attached { try adapters.attach(to: model) }
        let batch = try TokenBatch(sequences: [(ids: [3, 14, 15, 9, 2, 6], labels: [Int32](repeating: -100, count: 6))])
        let names = model.namedParameters.map(\.name), head = model.lmHead.name
        let logits = try backend.download(model.logits(batch))
        try adapters.writeMerged(model, baseFolder: base, to: actual, maxShardBytes: maxShardBytes)
        try assertSameFiles(expected, actual, label)
        XCTAssertEqual(model.namedParameters.map(\.name), names, "\(label): the model keeps its parameters")
        XCTAssertEqual(model.lmHead.name, head, "\(label): the model keeps its output layer")
        XCTAssertEqual(try backend.download(model.logits(batch)), logits, "\(label): the model computes as before")
    }

    func testExtrasFixturesOnF32AndBF16Bases() throws {
        for (name, family) in Self.extras {
            let adapter = TestPaths.fixture("lora-extras/\(name)/final")
            for dtype in [SafetensorsDType.f32, .bf16] {
                try assertStreamedMergeIsMergeAndUnload(base: try baseFolder(family, dtype), adapterFolder: adapter, "\(name)-\(dtype)")
            }
        }
    }

    /// DoRA's merge (each row scaled by magnitude / norm) and rank_pattern's ranks, streamed.
    func testLoRAVariantFixturesOnF32AndBF16Bases() throws {
        for (name, family) in [("dora-llama", "llama"), ("dora-qwen2", "qwen2"), ("patterns-qwen2", "qwen2")] {
            let adapter = TestPaths.fixture("lora-variants/\(name)/final")
            for dtype in [SafetensorsDType.f32, .bf16] {
                try assertStreamedMergeIsMergeAndUnload(base: try baseFolder(family, dtype), adapterFolder: adapter, "\(name)-\(dtype)")
            }
        }
    }

    func testAttachedAdaptersStayAttached() throws {
        let adapter = TestPaths.fixture("lora-extras/llama-tied-head/final")
        try assertStreamedMergeIsMergeAndUnload(base: try baseFolder("llama-tied", .bf16), adapterFolder: adapter, attached: true,
                                                "llama-tied-head-attached")
    }

    /// A random adapter with rsLoRA's scale, nonzero A and B, merged into shards smaller than the
    /// embedding table (which gets a shard of its own).
    func testRandomRsLoRAAdapterInShards() throws {
        let backend = try CPUBackend()
        for dtype in [SafetensorsDType.f32, .bf16] {
            let base = try baseFolder("qwen2", dtype)
            let model = try CausalLM.load(folder: base, backend: backend)
            var rng = SeededRandom(seed: 11)
            let adapters = try LoRAAdapters.make(for: model, config: LoRAConfig(r: 4, loraAlpha: 8, targetModules: .allLinear, useRslora: true)) { _, shape in
                rng.floats(shape.reduce(1, *), scale: 0.2)
            }
            let folder = root.appendingPathComponent("rslora-\(dtype)")
            try PeftAdapterWriter.write(adapters, backend: backend, to: folder, baseModel: "qwen2")
            let embedBytes = model.embedTokens.byteCount
            try assertStreamedMergeIsMergeAndUnload(base: base, adapterFolder: folder, maxShardBytes: embedBytes / 2, "rslora-\(dtype)")
            let written = root.appendingPathComponent("rslora-\(dtype)-streamed")
            let index = try SafetensorsCheckpoint(written)
            XCTAssertGreaterThan(index.files.count, 2, "rslora-\(dtype): sharded")
            XCTAssertEqual(index.info(CausalLM.embedName)?.dtype, dtype, "rslora-\(dtype): the base dtype is kept")
        }
    }

    func testAnAdapterTensorOfTheWrongShapeIsNamed() throws {
        let backend = try CPUBackend()
        let base = TestPaths.fixture("models/qwen2")
        let model = try CausalLM.load(folder: base, backend: backend)
        let source = TestPaths.fixture("lora-extras/qwen2-bias-all/final")
        let folder = root.appendingPathComponent("bad-adapter")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: source.appendingPathComponent("adapter_config.json"),
                                         to: folder.appendingPathComponent("adapter_config.json"))
        let file = try SafetensorsFile(url: source.appendingPathComponent("adapter_model.safetensors"))
        let bad = try XCTUnwrap(file.tensorNames.first { $0.hasSuffix("q_proj.lora_A.weight") })
        let tensors = try file.tensorInfos.map { info in
            info.name == bad
                ? SafetensorsWriter.Tensor(name: info.name, shape: [info.shape[0], info.shape[1] + 1],
                                           floats: [Float](repeating: 0, count: info.shape[0] * (info.shape[1] + 1)))
                : SafetensorsWriter.Tensor(name: info.name, shape: info.shape, floats: try file.floats(info.name))
        }
        try SafetensorsWriter.write(tensors, metadata: ["format": "pt"], to: folder.appendingPathComponent("adapter_model.safetensors"))
        XCTAssertThrowsError(try PeftAdapterFolder.load(folder: folder, for: model).writeMerged(model, baseFolder: base, to: root.appendingPathComponent("out"))) { error in
            guard case let AdapterError.adapterWeight(name, _, problem) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(name, bad)
            XCTAssertTrue(problem.contains("shape"), problem)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: root.appendingPathComponent("out").path), "nothing is written")
    }
}
