import Foundation
import TailorFormats
import TailorTensor
import TailorTestSupport
import TailorTrainingTestSupport
import XCTest

/// `bf16: true` on a CPU with bf16 products: the 20 LoRA steps of make_lora_fixtures.py on a
/// bf16 copy of the fixture model stay within 1% of transformers.Trainer's fp32 losses (the
/// bound the CUDA bf16 mode uses), and the rounding shows.
final class BF16ProductsTrainingTests: XCTestCase {
    func testBF16ProductStepsStayWithinOnePercentOfTrainersFP32Losses() throws {
        let backend = try CPUBackend(kernels: .fast, matmul: .halfInputs)
        if let why = backend.matmulFallback { throw XCTSkip("bf16 products run in fp32 on this machine: \(why.reason)") }
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-cpu-bf16-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        for family in ["llama", "qwen2"] {
            let folder = try PeftTrainerFixture.bf16Copy(of: family, under: root)
            let logs = try PeftTrainerFixture.loraRun(family: family, modelFolder: folder, backend: backend).logs
            // The same bf16 weights with fp32 products: what the rounding of activations alone changes.
            let fp32 = try PeftTrainerFixture.loraRun(family: family, modelFolder: folder, backend: try CPUBackend(kernels: .fast)).logs
            let reference = try SafetensorsFile(url: TestPaths.fixture("lora/\(family)").appendingPathComponent("reference.safetensors"))
            let trainer = try reference.floats("loss")
            var worst = 0.0, rounding = 0.0
            for (step, log) in logs.enumerated() {
                let difference = abs(log.loss - Double(trainer[step])) / Double(trainer[step])
                worst = max(worst, difference)
                rounding = max(rounding, abs(log.loss - fp32[step].loss))
                XCTAssertLessThan(difference, 0.01, "\(family) loss at step \(step + 1): bf16 products \(log.loss), Trainer fp32 \(trainer[step])")
            }
            XCTAssertGreaterThan(rounding, 1e-6, "\(family): bf16 activations must round something")
        }
    }
}
