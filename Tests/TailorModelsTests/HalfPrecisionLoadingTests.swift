import Foundation
import TailorFormats
import TailorModels
import TailorTensor
import TailorTestSupport
import XCTest

/// A bf16 checkpoint stays bf16 in memory (widened inside each kernel) and computes exactly what
/// the same values stored as f32 compute.
final class HalfPrecisionLoadingTests: XCTestCase {
    func testBF16WeightsStayBF16AndMatchTheirF32Widening() throws {
        let source = TestPaths.fixture("models/qwen2")
        let file = try SafetensorsFile(url: source.appendingPathComponent("model.safetensors"))
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-bf16-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let half = root.appendingPathComponent("bf16"), widened = root.appendingPathComponent("f32")
        for folder in [half, widened] {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: source.appendingPathComponent("config.json"), to: folder.appendingPathComponent("config.json"))
        }
        var bf16: [SafetensorsWriter.Tensor] = [], f32: [SafetensorsWriter.Tensor] = []
        for name in file.tensorNames {
            let shape = try XCTUnwrap(file.info(name)).shape
            let rounded = try file.floats(name).map { HalfPrecision.bf16ToFloat(HalfPrecision.floatToBF16($0)) }
            bf16.append(SafetensorsWriter.Tensor(name: name, shape: shape, floats: rounded, dtype: .bf16))
            f32.append(SafetensorsWriter.Tensor(name: name, shape: shape, floats: rounded))
        }
        try SafetensorsWriter.write(bf16, to: half.appendingPathComponent("model.safetensors"))
        try SafetensorsWriter.write(f32, to: widened.appendingPathComponent("model.safetensors"))

        let backend = try CPUBackend()
        let halfModel = try CausalLM.load(folder: half, backend: backend)
        XCTAssertEqual(halfModel.embedTokens.dtype, .bf16)
        XCTAssertEqual(halfModel.layers[1].downProj.weight.dtype, .bf16)
        XCTAssertEqual(halfModel.layers[0].qProj.bias?.dtype, .bf16)
        XCTAssertTrue(halfModel.namedParameters.allSatisfy { $0.tensor.dtype == .bf16 }, "no parameter was widened at load")
        let f32Model = try CausalLM.load(folder: widened, backend: backend)
        let batch = try TokenBatch(sequences: [(ids: [3, 17, 42, 8, 90, 11], labels: [Int32](repeating: -100, count: 6))])
        assertClose(try backend.download(halfModel.logits(batch)), try backend.download(f32Model.logits(batch)), rtol: 1e-6, atol: 1e-6)
    }
}
