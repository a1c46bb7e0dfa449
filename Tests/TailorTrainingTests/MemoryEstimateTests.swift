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
        XCTAssertEqual(lora.activations, model.config.activationBytes(tokens: 64, checkpointing: false))
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
}
