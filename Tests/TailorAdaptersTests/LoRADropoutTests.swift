import Foundation
import TailorAdapters
import TailorModels
import TailorTensor
import TailorTestSupport
import XCTest

/// lora_dropout: the mask statistics, and gradients of A, B and the input with a fixed mask
/// against finite differences.
final class LoRADropoutTests: XCTestCase {
    func testDropoutKernelKeepsTheRightShareAndIsReproducible() throws {
        let count = 200_000
        let values = [Float](repeating: 1, count: count)
        var outputs: [[Float]] = []
        for kernels in [CPUBackend.Kernels.reference, .fast] {
            let cpu = try CPUBackend(kernels: kernels)
            let x = try cpu.upload(values, shape: [count], dtype: .f32), out = try cpu.empty([count], dtype: .f32)
            try cpu.dropout(x, into: out, probability: 0.1, seed: 77)
            outputs.append(try cpu.download(out))
        }
        XCTAssertEqual(outputs[0], outputs[1], "reference and fast draw the same mask")
        let kept = outputs[0].filter { $0 != 0 }
        XCTAssertEqual(Double(kept.count) / Double(count), 0.9, accuracy: 0.005)
        XCTAssertTrue(kept.allSatisfy { abs($0 - 1 / 0.9) < 1e-6 }, "kept values are scaled by 1/(1-p)")
        let cpu = try CPUBackend()
        let other = try cpu.empty([count], dtype: .f32)
        try cpu.dropout(try cpu.upload(values, shape: [count], dtype: .f32), into: other, probability: 0.1, seed: 78)
        XCTAssertNotEqual(try cpu.download(other), outputs[0])
        XCTAssertThrowsError(try cpu.dropout(other, into: other, probability: 1, seed: 0))
    }

    func testGradientsWithAFixedMaskMatchFiniteDifferences() throws {
        let backend = try CPUBackend(kernels: .reference)
        let model = try CausalLM.load(folder: TestPaths.fixture("models/llama"), backend: backend)
        var rng = SeededRandom(seed: 4)
        let adapters = try LoRAAdapters.attach(to: model, config: LoRAConfig(r: 2, loraAlpha: 4, loraDropout: 0.3,
                                                                            targetModules: .names(["q_proj", "down_proj"]))) { _, shape in
            rng.floats(shape.reduce(1, *), scale: 0.5)
        }
        adapters.setDropoutKey(12345)
        let batch = try TokenBatch(sequences: [(ids: [5, 9, 33, 12, 70, 2], labels: [5, 9, 33, 12, 70, 2])])
        let gradients = GradientStore()
        for tensor in adapters.trainableTensors { try gradients.add(tensor.name, shape: tensor.value.shape, backend: backend) }
        try model.forwardBackward(batch, gradients: gradients)
        for parameter in adapters.trainableTensors.prefix(4) {
            let original = try backend.download(parameter.value)
            try GradientCheck.check(parameter.name, input: original, analytic: try backend.download(gradients[parameter.name]!),
                                    step: 2e-3, rtol: 3e-2, atol: 2e-4, samples: 12) { values in
                try backend.copy(try backend.upload(values, shape: parameter.value.shape, dtype: .f32), into: parameter.value)
                let loss = try model.loss(batch).loss
                try backend.copy(try backend.upload(original, shape: parameter.value.shape, dtype: .f32), into: parameter.value)
                return loss
            }
        }
    }
}
