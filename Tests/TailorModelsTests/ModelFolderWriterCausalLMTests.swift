import Foundation
import TailorFormats
import TailorModels
import TailorTensor
import TailorTestSupport
import XCTest

/// A model's folder written tensor by tensor from the backend: byte for byte what the whole model
/// downloaded to floats and narrowed back wrote, for every dtype, in one file and in shards.
final class ModelFolderWriterCausalLMTests: XCTestCase {
    /// The tensors as the writer got them before it streamed: every parameter downloaded as floats.
    func downloaded(_ model: CausalLM) throws -> [SafetensorsWriter.Tensor] {
        try model.namedParameters.map { name, tensor in
            SafetensorsWriter.Tensor(name: name, shape: tensor.shape, floats: try model.backend.download(tensor),
                                     dtype: SafetensorsDType(tensor.dtype) ?? .f32)
        }
    }

    func testStreamedFolderIsTheDownloadedOne() throws {
        let backend = try CPUBackend()
        let base = TestPaths.fixture("models/qwen2")
        let config = try ModelConfig(contentsOf: base.appendingPathComponent("config.json"))
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-models-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        for dtype in [DType.f32, .bf16, .f16] {
            let model = try CausalLM.random(config: config, backend: backend, seed: 7, dtype: dtype)
            let largest = model.namedParameters.map { $0.tensor.byteCount }.max() ?? 0
            for limit in [ModelFolderWriter.defaultMaxShardBytes, largest / 2, largest + 1] {
                let label = "\(dtype), shards of \(limit) bytes"
                let expected = root.appendingPathComponent("downloaded-\(dtype)-\(limit)")
                let actual = root.appendingPathComponent("streamed-\(dtype)-\(limit)")
                try ModelFolderWriter.write(try downloaded(model), baseFolder: base, untieEmbeddings: false, to: expected,
                                            maxShardBytes: limit)
                try ModelFolderWriter.write(model, baseFolder: base, to: actual, maxShardBytes: limit)
                try assertSameFiles(expected, actual, label)
                let reloaded = try CausalLM.load(folder: actual, backend: backend)
                XCTAssertEqual(reloaded.embedTokens.dtype, dtype, label)
                if limit != ModelFolderWriter.defaultMaxShardBytes {
                    XCTAssertTrue(FileManager.default.fileExists(atPath: actual.appendingPathComponent("model.safetensors.index.json").path), label)
                }
            }
        }
    }
}
