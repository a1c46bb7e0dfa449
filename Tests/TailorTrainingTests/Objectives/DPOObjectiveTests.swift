import Foundation
import TailorAdapters
import TailorModels
import TailorTensor
import TailorTestSupport
import XCTest
@testable import TailorTraining

/// DPO's objective: each loss's derivative against finite differences, the whole step's gradient
/// against finite differences of the loss through the model, and a fresh LoRA's first step
/// (reference = the base with adapters disabled: z = 0, loss log 2, rewards 0).
final class DPOObjectiveTests: XCTestCase {
    /// An objective for the tests of its loss alone, whose reference is never asked for.
    func lossOnly(beta: Double = 0.1, _ lossType: DPOObjective.LossType = .sigmoid, labelSmoothing: Double = 0) -> DPOObjective {
        DPOObjective(beta: beta, lossType: lossType, labelSmoothing: labelSmoothing, reference: { _, _ in
            throw TrainingError.internalError("the loss-only objective has no reference")
        })
    }

    /// Two pairs, chosen first then rejected (TRL's concatenation); prompts masked.
    func preferenceBatch() throws -> TokenBatch {
        try TokenBatch(sequences: [
            ([5, 9, 14, 3, 21, 7], [-100, -100, -100, 3, 21, 7]),
            ([8, 2, 30, 11, 4], [-100, -100, 30, 11, 4]),
            ([5, 9, 14, 40, 2, 17, 6], [-100, -100, -100, 40, 2, 17, 6]),
            ([8, 2, 19, 25], [-100, -100, 19, 25]),
        ])
    }

    func testPairLossDerivatives() {
        for lossType in DPOObjective.LossType.allCases where lossType != .sft {
            for smoothing in lossType == .robust ? [0, 0.1] : lossType == .exoPair ? [1e-3, 0.2] : [0.0] {
                let objective = lossOnly(beta: 0.3, lossType, labelSmoothing: smoothing)
                for (u, v) in [(-3.0, 1.0), (-0.2, 0.3), (0.4, -1.1), (5, 2), (40, -3)] {
                    let at = objective.pairLoss(lossType, u: u, v: v, chosenTokens: 3, rejectedTokens: 5)
                    // hinge's kink at 1 − β(u − v) = 0 has no derivative
                    if lossType == .hinge && abs(1 - 0.3 * (u - v)) < 1e-3 { continue }
                    let h = 1e-5
                    func loss(_ u: Double, _ v: Double) -> Double {
                        objective.pairLoss(lossType, u: u, v: v, chosenTokens: 3, rejectedTokens: 5).loss
                    }
                    let du = (loss(u + h, v) - loss(u - h, v)) / (2 * h), dv = (loss(u, v + h) - loss(u, v - h)) / (2 * h)
                    XCTAssertEqual(at.du, du, accuracy: 1e-6 * max(1, abs(du)), "\(lossType) ε \(smoothing) ∂u at (\(u), \(v))")
                    XCTAssertEqual(at.dv, dv, accuracy: 1e-6 * max(1, abs(dv)), "\(lossType) ε \(smoothing) ∂v at (\(u), \(v))")
                }
            }
        }
        let sigmoid = lossOnly()
        XCTAssertEqual(sigmoid.pairLoss(.sigmoid, u: 0, v: 0, chosenTokens: 1, rejectedTokens: 1).loss, log(2), accuracy: 1e-12)
        XCTAssertEqual(sigmoid.pairLoss(.sigmoid, u: -1e4, v: 0, chosenTokens: 1, rejectedTokens: 1).loss, 1e3, accuracy: 1e-9,
                       "no overflow: −log σ(−1000) = 1000")
        XCTAssertEqual(lossOnly(beta: 0.5, .hinge).pairLoss(.hinge, u: 3, v: 0, chosenTokens: 1, rejectedTokens: 1).loss, 0)
        XCTAssertEqual(lossOnly(beta: 0.5, .ipo).pairLoss(.ipo, u: 2, v: 0, chosenTokens: 2, rejectedTokens: 4).loss, 0,
                       "IPO's target margin is 1/(2β) on per-token log-ratios")
    }

    /// LLaMA-Factory's pref_ftx: ftx × each pair's −log p(chosen) / chosen tokens, averaged over pairs
    /// (not TRL's token-weighted `sft` over the micro-batch; the two agree for one pair).
    func testPrefFtxAddsEachPairsPerTokenNLL() throws {
        let policy = SequenceLogProbs(sums: [-6, -2, -9, -5], counts: [3, 4, 4, 2])
        let reference = SequenceLogProbs(sums: [-6.5, -2.1, -8.7, -5.4], counts: [3, 4, 4, 2])
        let plain = try lossOnly(beta: 0.3).pairSums(policy: policy, reference: reference)
        var mixed = lossOnly(beta: 0.3)
        mixed.ftx = 0.5
        let sums = try mixed.pairSums(policy: policy, reference: reference)
        XCTAssertEqual(sums.loss - plain.loss, 0.5 * (6.0 / 3 + 2.0 / 4), accuracy: 1e-12, "Σ over pairs of ftx × per-token NLL")
        XCTAssertEqual(sums.gradients[0] - plain.gradients[0], -0.5 / 3, accuracy: 1e-12)
        XCTAssertEqual(sums.gradients[1] - plain.gradients[1], -0.5 / 4, accuracy: 1e-12)
        XCTAssertEqual(Array(sums.gradients[2...]), Array(plain.gradients[2...]), "the rejected replies are untouched")
        XCTAssertEqual(sums.metrics, plain.metrics, "rewards and log-probabilities are the policy's, whatever the loss")
        // One pair: the same as TRL's loss_type [sigmoid, sft] with loss_weights [1, ftx].
        let one = SequenceLogProbs(sums: [-6, -9], counts: [3, 4]), oneRef = SequenceLogProbs(sums: [-6.5, -8.7], counts: [3, 4])
        let trl = DPOObjective(beta: 0.3, losses: [.init(.sigmoid), .init(.sft, weight: 0.5)], reference: { _, _ in oneRef })
        let (a, b) = (try mixed.pairSums(policy: one, reference: oneRef), try trl.pairSums(policy: one, reference: oneRef))
        XCTAssertEqual(a.loss, b.loss, accuracy: 1e-12)
        for (x, y) in zip(a.gradients, b.gradients) { XCTAssertEqual(x, y, accuracy: 1e-12) }
    }

    /// The gradient `accumulate` leaves equals central differences of the loss it reports, for
    /// the largest gradient elements of a few parameters of the tiny Llama (all trained).
    func testStepGradientMatchesFiniteDifferences() throws {
        for lossType in DPOObjective.LossType.allCases {
            let smoothing = lossType == .exoPair ? 1e-3 : 0
            let backend = try CPUBackend()
            let model = try CausalLM.load(folder: TestPaths.fixture("models/llama"), backend: backend)
            let parameters = try FullFineTuning.prepare(model)
            let batch = try preferenceBatch()
            // A fixed reference away from the policy, so that z ≠ 0 and every loss type is off its kink.
            let start = try model.labelLogProbs(batch)
            let shifts = [0.7, -0.4, -0.9, 0.3]
            let reference = SequenceLogProbs(sums: zip(start.sums, shifts).map { $0 + $1 }, counts: start.counts)
            let objective = DPOObjective(beta: 0.5, lossType: lossType, labelSmoothing: smoothing, reference: { _, _ in reference })
            let gradients = GradientStore()
            for parameter in parameters { try gradients.add(parameter.name, shape: parameter.value.shape, backend: backend) }
            let loss = try objective.accumulate(batch, model: model, gradients: gradients, normalizer: 1).loss
            XCTAssertTrue(loss.isFinite && loss > 0, "\(lossType): \(loss)")

            func lossNow() throws -> Double {
                let scratch = GradientStore()
                return try objective.accumulate(batch, model: model, gradients: scratch, normalizer: 1).loss
            }
            for parameter in parameters where ["model.layers.0.self_attn.q_proj.weight", "model.layers.1.mlp.down_proj.weight",
                                                  "model.norm.weight", "model.embed_tokens.weight"].contains(parameter.name) {
                let grad = try backend.download(try XCTUnwrap(gradients[parameter.name]))
                var values = try backend.download(parameter.value)
                let k = grad.indices.max { abs(grad[$0]) < abs(grad[$1]) } ?? 0
                let h: Float = 1e-2 * max(1e-2, abs(values[k]))
                let original = values[k]
                values[k] = original + h
                try backend.copy(try backend.upload(values, shape: parameter.value.shape, dtype: .f32), into: parameter.value)
                let up = try lossNow()
                values[k] = original - h
                try backend.copy(try backend.upload(values, shape: parameter.value.shape, dtype: .f32), into: parameter.value)
                let down = try lossNow()
                values[k] = original
                try backend.copy(try backend.upload(values, shape: parameter.value.shape, dtype: .f32), into: parameter.value)
                let numeric = (up - down) / (2 * Double(h))
                XCTAssertEqual(Double(grad[k]), numeric, accuracy: 2e-2 * abs(numeric) + 1e-5, "\(lossType) \(parameter.name)[\(k)]")
            }
        }
    }

    /// A fresh LoRA adapter (B = 0) against the base with adapters disabled: z = 0 for every pair,
    /// so the loss is log 2, the rewards are exactly 0, and only B receives a gradient.
    func testFreshLoRAFirstStepAgainstTheDisabledAdapter() throws {
        let backend = try CPUBackend()
        let model = try CausalLM.load(folder: TestPaths.fixture("models/qwen2"), backend: backend)
        let set = LoRAAdapterSet(model: model)
        let adapter = try set.addAdapter("default", config: LoRAConfig(r: 4, loraAlpha: 8, targetModules: .names(["q_proj", "v_proj"]),
                                                                       initLoraWeights: .kaiming), seed: 3)
        try set.setAdapter("default")
        let runner = try StepRunner(model: model, parameters: adapter.parameters,
                                    schedule: LRSchedule(kind: .constant, baseLR: 1e-2, warmupSteps: 0, totalSteps: 2))
        // The set's own disable_adapter as the reference: the base model, then the adapter back.
        runner.objective = DPOObjective(beta: 0.1, reference: { model, batch in try set.withAdapterDisabled { try model.labelLogProbs(batch) } })
        let batch = try preferenceBatch()
        let first = try runner.step([batch])
        XCTAssertEqual(first.loss, log(2), accuracy: 1e-12)
        for name in ["rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies"] {
            XCTAssertEqual(first.metrics[name], 0, "\(name) at step 1")
        }
        XCTAssertGreaterThan(first.gradNorm, 0)
        XCTAssertLessThan(try XCTUnwrap(first.metrics["logps/chosen"]), 0)
        let second = try runner.step([batch])
        XCTAssertLessThan(second.loss, log(2), "one step of DPO moves the margin the right way")
        XCTAssertGreaterThan(try XCTUnwrap(second.metrics["rewards/margins"]), 0)
        XCTAssertNotNil(model.linear(module: "model.layers.0.self_attn.q_proj")?.adapter, "the adapter is back after the reference forward")
    }

    func testBatchesMustHoldPairs() throws {
        let odd = try TokenBatch(sequences: [([1, 2, 3], [-100, 2, 3])])
        XCTAssertThrowsError(try lossOnly().normalizer(of: [odd], step: 2)) { error in
            XCTAssertTrue("\(error)".contains("step 2, micro-batch 1: 1 sequences"), "\(error)")
        }
    }
}
