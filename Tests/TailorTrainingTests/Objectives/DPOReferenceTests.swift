import Foundation
import TailorAdapters
import TailorFormats
import TailorModels
import TailorTensor
import TailorTestSupport
import XCTest
@testable import TailorTraining

/// DPO with LoRA against TRL's DPOTrainer + peft (Tests/Fixtures/dpo, scripts/reference/make_dpo_fixtures.py):
/// 10 steps of 2 micro-batches of 2 pairs, for sigmoid, hinge and ipo on two families; every step's
/// loss, grad norm, learning rate and TRL metric, and the trained adapter. The reference is the
/// base model with the adapter disabled, as TRL does with peft.
final class DPOReferenceTests: XCTestCase {
    /// What every pairwise trainer of TRL logs.
    static let pairMetrics = ["rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins", "logps/chosen", "logps/rejected"]
    /// DPOTrainer's, with the mean logit at the reply tokens (ORPO's and CPO's `logits/*` average their
    /// padded batch, padding included, which Tailor does not report).
    static let metrics = pairMetrics + ["logits/chosen", "logits/rejected"]

    /// The fixture's micro-batches: per micro-batch the prompt + chosen of its 2 pairs, then prompt + rejected.
    func microBatches(_ folder: URL) throws -> [TokenBatch] {
        let data = try SafetensorsFile(url: folder.appendingPathComponent("data.safetensors"))
        func split(_ key: String) throws -> [[Int32]] {
            let ids = try data.floats(key).map { Int32($0) }
            var offset = 0
            return try data.floats(key + "_lengths").map { length in
                defer { offset += Int(length) }
                return Array(ids[offset..<(offset + Int(length))])
            }
        }
        let prompts = try split("prompt_ids"), chosen = try split("chosen_ids"), rejected = try split("rejected_ids")
        func sequence(_ i: Int, _ reply: [[Int32]]) -> (ids: [Int32], labels: [Int32]) {
            (prompts[i] + reply[i], prompts[i].map { _ in -100 } + reply[i])
        }
        return try stride(from: 0, to: prompts.count, by: 2).map { i in
            try TokenBatch(sequences: [sequence(i, chosen), sequence(i + 1, chosen), sequence(i, rejected), sequence(i + 1, rejected)])
        }
    }

    func check(_ family: String, _ loss: DPOObjective.LossType) throws {
        let folder = TestPaths.fixture("dpo/\(family)-\(loss.rawValue)")
        let reference = try SafetensorsFile(url: folder.appendingPathComponent("reference.safetensors"))
        let backend = try CPUBackend()
        let model = try CausalLM.load(folder: TestPaths.fixture("models/\(family)"), backend: backend)
        let initial = try SafetensorsFile(url: folder.appendingPathComponent("init/adapter_model.safetensors"))
        let adapters = try LoRAAdapters.attach(to: model, config: LoRAConfig(r: 4, loraAlpha: 8, targetModules: .names(["q_proj", "v_proj"]))) { name, _ in
            try initial.floats("base_model.model." + name)
        }
        let batches = try microBatches(folder)
        let steps = try reference.floats("loss").count
        let runner = try StepRunner(model: model, parameters: adapters.parameters,
                                    schedule: LRSchedule(kind: .linear, baseLR: 5e-3, warmupSteps: 1, totalSteps: steps),
                                    weightDecay: 0, maxGradNorm: 1)
        runner.objective = DPOObjective(beta: try reference.floats("beta")[0].asDouble, lossType: loss,
                                        reference: DPOObjective.adaptersDisabled(adapters))
        let expectedLoss = try reference.floats("loss"), expectedNorm = try reference.floats("grad_norm"), expectedLR = try reference.floats("lr")
        let id = "\(family) \(loss)"
        for step in 0..<steps {
            let index = (2 * step) % batches.count
            let log = try runner.step([batches[index], batches[index + 1]])
            XCTAssertEqual(log.learningRate, Double(expectedLR[step]), accuracy: 1e-9, "\(id) lr at step \(step + 1)")
            // Trainer rounds logged losses to 4 decimals.
            XCTAssertEqual(log.loss, Double(expectedLoss[step]), accuracy: 6e-5 * max(1, Double(expectedLoss[step])), "\(id) loss at step \(step + 1)")
            XCTAssertEqual(log.gradNorm, Double(expectedNorm[step]), accuracy: 1e-4 * Double(expectedNorm[step]) + 1e-6, "\(id) grad norm at step \(step + 1)")
            for name in Self.metrics {
                let expected = Double(try reference.floats("metric." + name)[step])
                let actual = try XCTUnwrap(log.metrics[name], "\(id) \(name)")
                if name == "rewards/accuracies" {
                    // Only where the margins are clear of rounding: at steps 1-2 the adapter's B is 0 and every reward is exactly 0.
                    if abs(Double(try reference.floats("metric.rewards/margins")[step])) > 1e-4 { XCTAssertEqual(actual, expected, "\(id) \(name) at step \(step + 1)") }
                } else {
                    let accuracy = try PreferenceMetricTolerance.accuracy(name, expected: expected, beta: try reference.floats("beta")[0].asDouble,
                                                                          reference: reference, step: step)
                    XCTAssertEqual(actual, expected, accuracy: accuracy, "\(id) \(name) at step \(step + 1)")
                }
            }
        }
        for module in adapters.modules {
            for (name, tensor) in [(module.lora.aName, module.lora.a), (module.lora.bName, module.lora.b)] {
                assertClose(try backend.download(tensor), try reference.floats("final." + name), rtol: 1e-4, atol: 1e-5, "\(id) final \(name)")
            }
        }
    }

    func testSigmoidMatchesTRL() throws { for family in ["llama", "qwen2"] { try check(family, .sigmoid) } }
    func testHingeMatchesTRL() throws { for family in ["llama", "qwen2"] { try check(family, .hinge) } }
    func testIPOMatchesTRL() throws { for family in ["llama", "qwen2"] { try check(family, .ipo) } }
}

private extension Float {
    var asDouble: Double { Double(self) }
}
