import Foundation
import TailorFormats
import TailorModels
import TailorTensor
import TailorTestSupport
import TailorTraining
import TailorTrainingTestSupport
import XCTest

/// 20 LoRA steps against transformers.Trainer + peft (scripts/reference/make_lora_fixtures.py):
/// r 4, alpha 8, all-linear, batch 2, gradient accumulation 2, warmup 3 + cosine, weight decay,
/// clipping, adamw_torch, the same initial adapter and data order.
final class LoRATrainingReferenceTests: XCTestCase {
    /// Five steps of full fine-tuning of the tied-embedding Llama against Trainer: every
    /// parameter trained, weight decay on Trainer's groups only, linear schedule with warmup.
    func testFullFineTuningMatchesTrainer() throws {
        let folder = TestPaths.fixture("lora/full-llama-tied")
        let backend = try CPUBackend()
        let model = try CausalLM.load(folder: TestPaths.fixture("models/llama-tied"), backend: backend)
        let parameters = try FullFineTuning.prepare(model)
        let reference = try SafetensorsFile(url: folder.appendingPathComponent("reference.safetensors"))
        for parameter in parameters {
            XCTAssertEqual(parameter.weightDecay, try reference.floats("decay." + parameter.name)[0] == 1, "decay group of \(parameter.name)")
        }
        let batches = try PeftTrainerFixture.microBatches(folder)
        let runner = try StepRunner(model: model, parameters: parameters,
                                    schedule: LRSchedule(kind: .linear, baseLR: 1e-3, warmupSteps: 1, totalSteps: 5),
                                    weightDecay: 0.1, maxGradNorm: 1.0)
        try PeftTrainerFixture.assertStepsMatchTrainer(runner, batches: batches, reference: reference, steps: 5)
        for parameter in parameters {
            assertClose(try backend.download(parameter.value), try reference.floats("final." + parameter.name), rtol: 1e-4, atol: 1e-5,
                        "final \(parameter.name)")
        }
    }

    func testLlamaMatchesPeftTrainer() throws {
        try PeftTrainerFixture.assertLoRARunMatchesTrainer(family: "llama", backend: try CPUBackend(kernels: .fast))
    }
    func testQwen2MatchesPeftTrainer() throws {
        try PeftTrainerFixture.assertLoRARunMatchesTrainer(family: "qwen2", backend: try CPUBackend(kernels: .fast))
    }
    /// Keeping the MLP's gate/up activations as bf16 (what `tailor train` does on a GPU in bf16
    /// mode) stays within 0.5% of Trainer's f32 losses over the 20 steps, and really rounds them.
    func testBF16SavedActivationsStayCloseToTrainer() throws {
        let backend = try CPUBackend(kernels: .fast)
        let bf16 = try PeftTrainerFixture.loraRun(family: "llama", savedActivationDType: .bf16, backend: backend).logs
        let expected = try SafetensorsFile(url: TestPaths.fixture("lora/llama/reference.safetensors")).floats("loss")
        var worst = 0.0
        for (step, log) in bf16.enumerated() {
            let difference = abs(log.loss - Double(expected[step])) / Double(expected[step])
            worst = max(worst, difference)
            XCTAssertLessThan(difference, 0.005, "loss at step \(step + 1): \(log.loss) vs Trainer's \(expected[step])")
        }
        XCTAssertGreaterThan(worst, 1e-4, "bf16 gate/up must round something beyond Trainer's 4-decimal log")
    }

    func testReferenceKernelsToo() throws {
        try PeftTrainerFixture.assertLoRARunMatchesTrainer(family: "llama", backend: try CPUBackend(kernels: .reference))
    }
}
