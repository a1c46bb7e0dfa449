import Foundation
import TailorAdapters
import TailorCUDA
import TailorModels
import TailorTensor
import TailorTestSupport
import TailorTraining
import TailorTrainingTestSupport
import XCTest

/// Whole training steps on the CUDA backend (host emulator): the fused residual-add norms, the
/// chunked cross-entropy, the one-sync gradient norm and the multi-tensor AdamW together.
final class CUDATrainingTests: XCTestCase {
    /// The 20 LoRA steps of make_lora_fixtures.py, as the CPU backend runs them in
    /// LoRATrainingReferenceTests: every step's loss, gradient norm and the trained adapter
    /// equal transformers.Trainer + peft's.
    func testLoRAStepsMatchPeftTrainer() throws {
        let backends = try EmulatedBackends()
        try PeftTrainerFixture.assertLoRARunMatchesTrainer(family: "qwen2", backend: backends.cuda)
    }

    /// Gradient checkpointing (the recompute with fused norms), LoRA dropout (the CPU's mask),
    /// loss chunks of a few rows and weight decay: the CUDA backend's steps and weights equal the
    /// CPU reference backend's.
    func testCheckpointedDropoutStepsMatchTheCPU() throws {
        let backends = try EmulatedBackends()
        let folder = TestPaths.fixture("lora/llama")
        let batches = try PeftTrainerFixture.microBatches(folder)
        func train(_ backend: any Backend) throws -> (logs: [StepLog], weights: [[Float]]) {
            let model = try CausalLM.load(folder: TestPaths.fixture("models/llama"), backend: backend)
            model.gradientCheckpointing = true
            model.lossChunkRows = 5
            let config = LoRAConfig(r: 4, loraAlpha: 8, loraDropout: 0.1, targetModules: .allLinear)
            let adapters = try LoRAAdapters.attach(to: model, config: config, seed: 7)
            let runner = try StepRunner(model: model, parameters: adapters.parameters,
                                        schedule: LRSchedule(kind: .constant, baseLR: 5e-3, warmupSteps: 0, totalSteps: 4),
                                        weightDecay: 0.1, maxGradNorm: 0.3)
            let logs = try (0..<4).map { try runner.step([batches[2 * $0], batches[2 * $0 + 1]]) }
            return (logs, try adapters.parameters.map { try backend.download($0.value) })
        }
        let gpu = try train(backends.cuda), cpu = try train(backends.reference)
        for (step, (g, c)) in zip(gpu.logs, cpu.logs).enumerated() {
            XCTAssertEqual(g.loss, c.loss, accuracy: 1e-4 * c.loss, "loss at step \(step + 1)")
            XCTAssertEqual(g.gradNorm, c.gradNorm, accuracy: 1e-4 * c.gradNorm, "grad norm at step \(step + 1)")
        }
        XCTAssertGreaterThan(cpu.logs[0].gradNorm, 0.3, "clipping must take part")
        XCTAssertNotEqual(cpu.logs[3].loss, cpu.logs[0].loss, "the steps must train")
        for (index, (g, c)) in zip(gpu.weights, cpu.weights).enumerated() {
            assertClose(g, c, rtol: 1e-4, atol: 1e-5, "trainable tensor \(index)")
        }
    }

    /// The bf16 mode on bf16 weights with bf16 gate/up activations, as `tailor train --device cuda`
    /// runs a bf16 checkpoint: the 20 fixture steps' losses stay within 1% of the CPU's on the same
    /// weights and saved-activation dtype (the CPU widens the weights and multiplies in f32), the
    /// bound issue #9 sets at 2% against peft's bf16 run, and the rounding shows (not equal).
    func testBF16ModeStepsStayWithinOnePercentOfTheCPU() throws {
        let backends = try EmulatedBackends(matmul: .halfInputs)
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-cuda-bf16-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let folder = try PeftTrainerFixture.bf16Copy(of: "qwen2", under: root)
        let gpu = try PeftTrainerFixture.loraRun(family: "qwen2", modelFolder: folder, savedActivationDType: .bf16,
                                                 backend: backends.cuda).logs
        let cpu = try PeftTrainerFixture.loraRun(family: "qwen2", modelFolder: folder, savedActivationDType: .bf16,
                                                 backend: backends.reference).logs
        var worst = 0.0
        for (step, (g, c)) in zip(gpu, cpu).enumerated() {
            let difference = abs(g.loss - c.loss) / c.loss
            worst = max(worst, difference)
            XCTAssertLessThan(difference, 0.01, "loss at step \(step + 1): bf16 mode \(g.loss), CPU \(c.loss)")
        }
        XCTAssertGreaterThan(worst, 1e-6, "bf16 inputs must round something")
    }
}
