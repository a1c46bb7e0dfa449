import Foundation
import TailorFormats
import TailorModels
import TailorTensor
import TailorTestSupport
import TailorTraining
import XCTest

/// A full fine-tuning save: written tensor by tensor, one file below transformers' default
/// shard size, and read back whole or sharded.
final class TrainableSetTests: XCTestCase {
    func testFullSaveLoadsBackWholeAndSharded() throws {
        let backend = try CPUBackend()
        let base = TestPaths.fixture("models/qwen2")
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-trainable-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let model = try CausalLM.load(folder: base, backend: backend)
        let trainable = TrainableSet.full(try FullFineTuning.prepare(model))
        var rng = SeededRandom(seed: 9)
        for parameter in trainable.parameters {
            try backend.copy(try backend.upload(rng.floats(parameter.value.count), shape: parameter.value.shape, dtype: .f32),
                             into: parameter.value)
        }
        let saved = try trainable.parameters.map { try backend.download($0.value) }

        let whole = root.appendingPathComponent("whole")
        try trainable.save(model: model, baseFolder: base, baseName: "qwen2", to: whole)
        XCTAssertTrue(FileManager.default.fileExists(atPath: whole.appendingPathComponent("model.safetensors").path), "one file")
        let sharded = root.appendingPathComponent("sharded")
        try ModelFolderWriter.write(model, baseFolder: base, to: sharded, maxShardBytes: model.embedTokens.byteCount / 2)
        XCTAssertTrue(FileManager.default.fileExists(atPath: sharded.appendingPathComponent("model.safetensors.index.json").path))

        for folder in [whole, sharded] {
            let fresh = try CausalLM.load(folder: base, backend: backend)
            let reloaded = TrainableSet.full(try FullFineTuning.prepare(fresh))
            try reloaded.load(from: folder, backend: backend)
            XCTAssertEqual(try reloaded.parameters.map { try backend.download($0.value) }, saved, folder.lastPathComponent)
        }
    }
}
