import Foundation
import TailorAdapters
import TailorModels
import TailorTensor
import TailorTestSupport
import XCTest

/// DoRA's backward against finite differences of the loss, with and without lora_dropout.
///
/// Only the magnitudes can be checked this way: peft's DoRA (and Tailor's) holds the norm
/// ‖W + s·B·A‖ constant in the backward, so the gradients of A and B are on purpose not those of
/// the loss (which sees the norm move); LoRAVariantsReferenceTests checks them against peft. The
/// magnitudes of layer 0 also check the input gradient through layer 1's DoRA modules (with the
/// forward's dropout mask).
final class DoRATests: XCTestCase {
    func check(dropout: Double, seed: UInt64) throws {
        let backend = try CPUBackend(kernels: .reference)
        let model = try CausalLM.load(folder: TestPaths.fixture("models/qwen2"), backend: backend)
        var rng = SeededRandom(seed: seed)
        let config = LoRAConfig(r: 2, loraAlpha: 4, loraDropout: dropout, targetModules: .names(["q_proj", "v_proj", "down_proj"]),
                                useDora: true)
        let adapters = try LoRAAdapters.attach(to: model, config: config) { name, shape in
            // A magnitude of its own (not ‖W + s·B·A‖), so the scale v differs from 1.
            name.hasSuffix("lora_magnitude_vector") ? rng.floats(shape.reduce(1, *), scale: 0.5).map { 1 + $0 } : rng.floats(shape.reduce(1, *), scale: 0.5)
        }
        XCTAssertEqual(adapters.trainableTensors.count, 3 * 3 * 2, "A, B and the magnitude of three modules in two layers")
        if dropout > 0 { adapters.setDropoutKey(777) }
        let batch = try TokenBatch(sequences: [(ids: [5, 9, 33, 12, 70, 2], labels: [5, 9, 33, 12, 70, 2])])
        let gradients = GradientStore()
        for tensor in adapters.trainableTensors { try gradients.add(tensor.name, shape: tensor.value.shape, backend: backend) }
        try model.forwardBackward(batch, gradients: gradients)
        for parameter in adapters.trainableTensors where parameter.name.hasSuffix("lora_magnitude_vector") {
            let original = try backend.download(parameter.value)
            try GradientCheck.check(parameter.name, input: original, analytic: try backend.download(gradients[parameter.name]!),
                                    step: 2e-3, rtol: 3e-2, atol: 2e-4, samples: 8) { values in
                try backend.copy(try backend.upload(values, shape: parameter.value.shape, dtype: .f32), into: parameter.value)
                let loss = try model.loss(batch).loss
                try backend.copy(try backend.upload(original, shape: parameter.value.shape, dtype: .f32), into: parameter.value)
                return loss
            }
        }
    }

    func testGradientsMatchFiniteDifferences() throws { try check(dropout: 0, seed: 5) }

    func testGradientsWithAFixedDropoutMaskMatchFiniteDifferences() throws { try check(dropout: 0.3, seed: 6) }

    /// Detached, the model is the base again; merged, it computes what the attached adapter did.
    func testDetachAndMerge() throws {
        let backend = try CPUBackend()
        let model = try CausalLM.load(folder: TestPaths.fixture("models/llama"), backend: backend)
        let batch = try TokenBatch(sequences: [(ids: [5, 9, 33, 12], labels: [-100, -100, -100, -100])])
        let base = try backend.download(model.logits(batch))
        var rng = SeededRandom(seed: 9)
        let adapters = try LoRAAdapters.attach(to: model, config: LoRAConfig(r: 2, loraAlpha: 4, targetModules: .allLinear, useDora: true)) { name, shape in
            name.hasSuffix("lora_magnitude_vector") ? nil : rng.floats(shape.reduce(1, *), scale: 0.3)
        }
        let adapted = try backend.download(model.logits(batch))
        XCTAssertNotEqual(adapted, base)
        try adapters.detach(from: model)
        XCTAssertEqual(try backend.download(model.logits(batch)), base)
        try adapters.mergeAndUnload(into: model)
        assertClose(try backend.download(model.logits(batch)), adapted, rtol: 1e-4, atol: 1e-5, "merged DoRA")
    }
}
