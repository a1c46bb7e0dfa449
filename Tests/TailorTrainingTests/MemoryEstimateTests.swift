import Foundation
import TailorAdapters
import TailorModels
import TailorTensor
import TailorTestSupport
import TailorTraining
import XCTest

/// The peak-memory estimate `tailor train --dry-run` prints, part by part.
final class MemoryEstimateTests: XCTestCase {
    func testPartsOfALoRAAndAFullRun() throws {
        let backend = try CPUBackend()
        let model = try CausalLM.load(folder: TestPaths.fixture("models/llama"), backend: backend)
        let weights = model.namedParameters.reduce(0) { $0 + $1.tensor.byteCount }
        let adapters = try LoRAAdapters.attach(to: model, config: LoRAConfig(r: 4, targetModules: .allLinear))
        let lora = MemoryEstimate(model: model, trainable: .lora(adapters), tokens: 64, checkpointing: false, optimizerStates: 2)
        XCTAssertEqual(lora.weights, weights, "the adapters are not model parameters")
        XCTAssertEqual(lora.trainable, adapters.parameterCount * 4 * (1 + 2 + 1), "gradient, exp_avg, exp_avg_sq and the adapter's values")
        // Each module keeps x · Aᵀ [64, 4]; the shared workspace holds dOut · B [64, 4] (no dropout here).
        XCTAssertEqual(lora.activations, model.config.activationBytes(tokens: 64, checkpointing: false) + 4 * 64 * 4 * (adapters.modules.count + 1))
        XCTAssertEqual(lora.loss, model.config.lossBytes(rows: min(64, model.lossChunkRows)))
        XCTAssertEqual(lora.total, lora.weights + lora.trainable + lora.activations + lora.loss)

        try adapters.detach(from: model)
        let parameters = try FullFineTuning.prepare(model)
        let full = MemoryEstimate(model: model, trainable: .full(parameters), tokens: 64, checkpointing: true, optimizerStates: 1)
        XCTAssertEqual(full.trainable, parameters.reduce(0) { $0 + $1.value.count } * 4 * 2, "gradient and SGD's momentum; the values are the weights")
        XCTAssertEqual(full.activations, model.config.activationBytes(tokens: 64, checkpointing: true))
    }

    func testSummaryInGigabytes() throws {
        let model = try CausalLM.load(folder: TestPaths.fixture("models/llama"), backend: try CPUBackend())
        let estimate = MemoryEstimate(model: model, trainable: .full(try FullFineTuning.prepare(model)), tokens: 1 << 20,
                                      checkpointing: false, optimizerStates: 2)
        let gb = { (bytes: Int) in String(format: "%.2f GB", Double(bytes) / 1e9) }
        XCTAssertEqual(estimate.summary, "\(gb(estimate.total)) (weights \(gb(estimate.weights)), trainable state \(gb(estimate.trainable)), "
                       + "activations \(gb(estimate.activations)), loss chunk \(gb(estimate.loss)))")
        XCTAssertGreaterThan(estimate.activations, 1_000_000_000, "a million tokens make gigabytes of activations")
    }

    /// What LoRA holds after a real forward and backward is what the estimate counts for it.
    func testLoRABuffersAfterAStepAreTheEstimatesShare() throws {
        let backend = try CPUBackend()
        let model = try CausalLM.load(folder: TestPaths.fixture("models/llama"), backend: backend)
        let config = LoRAConfig(r: 4, loraDropout: 0.1, targetModules: .allLinear)
        let adapters = try LoRAAdapters.attach(to: model, config: config)
        for module in adapters.modules { module.lora.dropoutSeed = 7 }
        let ids: [Int32] = (0..<16).map { Int32($0 % 7 + 1) }
        let batch = try TokenBatch(sequences: [(ids, ids)])
        let gradients = GradientStore()
        for parameter in adapters.parameters { try gradients.add(parameter.name, shape: parameter.value.shape, backend: backend) }
        _ = try model.forwardBackward(batch, gradients: gradients)
        let kept = adapters.modules.reduce(0) { $0 + $1.lora.savedByteCount }
        let workspace = adapters.modules[0].lora.workspace
        XCTAssertTrue(adapters.modules.allSatisfy { $0.lora.workspace === workspace }, "one workspace per adapter set")
        XCTAssertEqual(kept, 4 * 16 * 4 * adapters.modules.count, "x · Aᵀ [16, 4] per module")
        XCTAssertGreaterThan(workspace.byteCount, 4 * 16 * 4, "dOut · B and, with dropout, the dropped input")
        let estimate = MemoryEstimate(model: model, trainable: .lora(adapters), tokens: 16, checkpointing: false, optimizerStates: 2)
        // The estimate sizes both dropout buffers for the widest input (64, down_proj's); the step
        // needed the input gradient's only for inputs of 32: an upper bound, by at most that buffer.
        let share = estimate.activations - model.config.activationBytes(tokens: 16, checkpointing: false)
        XCTAssertLessThanOrEqual(kept + workspace.byteCount, share, "the estimate's LoRA share bounds what the step held")
        XCTAssertGreaterThanOrEqual(kept + workspace.byteCount, share - 4 * 16 * 64, "and by no more than one [16, 64] buffer")
    }
}
