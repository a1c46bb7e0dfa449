import Foundation
import TailorFormats
import TailorModels
import TailorTensor
import TailorTestSupport
import TailorTraining
import XCTest

/// Schedules against transformers.get_scheduler, AdamW against torch.optim.AdamW
/// (scripts/reference/make_optim_fixtures.py), and gradient accumulation's normalisation.
final class OptimizerReferenceTests: XCTestCase {
    func testEverySchedulesLearningRatesEqualTransformers() throws {
        let data = try Data(contentsOf: TestPaths.fixture("optim/schedules.json"))
        let cases = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [[String: Any]])
        XCTAssertEqual(cases.count, 21)
        for item in cases {
            let kindName = try XCTUnwrap(item["kind"] as? String)
            let kind = try XCTUnwrap(LRSchedule.Kind(rawValue: kindName))
            let warmup = try XCTUnwrap(item["warmup"] as? Int), total = try XCTUnwrap(item["total"] as? Int)
            let schedule = LRSchedule(kind: kind, baseLR: 3e-4, warmupSteps: warmup, totalSteps: total,
                                      cycles: item["num_cycles"] as? Double)
            let expected = try XCTUnwrap(item["lrs"] as? [Double])
            for (step, lr) in expected.enumerated() {
                XCTAssertEqual(schedule.lr(step: step), lr, accuracy: 1e-12, "\(kindName) warmup \(warmup) total \(total) step \(step)")
            }
        }
    }

    func testOneAdamWStepEqualsTorch() throws {
        let file = try SafetensorsFile(url: TestPaths.fixture("optim/adamw.safetensors"))
        for kernels in [CPUBackend.Kernels.reference, .fast] {
            let cpu = try CPUBackend(kernels: kernels)
            func load(_ name: String) throws -> Tensor {
                let values = try file.floats(name)
                return try cpu.upload(values, shape: [values.count], dtype: .f32)
            }
            let param = try load("param"), grad = try load("grad"), m = try load("m"), v = try load("v")
            try cpu.adamw(param: param, grad: grad, m: m, v: v,
                          hyper: AdamWHyper(lr: 1e-3, beta1: 0.9, beta2: 0.95, eps: 1e-6, weightDecay: 0.1), step: 3)
            assertClose(try cpu.download(param), try file.floats("param_after"), rtol: 1e-6, atol: 1e-7, "\(kernels) param")
            assertClose(try cpu.download(m), try file.floats("m_after"), rtol: 1e-6, atol: 1e-8, "\(kernels) exp_avg")
            assertClose(try cpu.download(v), try file.floats("v_after"), rtol: 1e-6, atol: 1e-9, "\(kernels) exp_avg_sq")
        }
    }

    /// A step of 4 micro-batches of one sequence gives the loss and gradients of one batch of 4:
    /// each micro-batch's loss is normalised by the label tokens of the whole step.
    func testGradientAccumulationEqualsTheWholeBatch() throws {
        let backend = try CPUBackend(kernels: .reference)
        let model = try CausalLM.load(folder: TestPaths.fixture("models/llama"), backend: backend)
        var rng = SeededRandom(seed: 3)
        let sequences: [(ids: [Int32], labels: [Int32])] = (0..<4).map { i in
            let ids = rng.ints(5 + 2 * i, in: 3..<96)
            var labels = ids
            for t in 0..<(1 + i) { labels[t] = -100 }  // different label counts per sequence
            return (ids, labels)
        }
        let names = model.parameterShapes
        let whole = GradientStore(), accumulated = GradientStore()
        for (name, shape) in names {
            try whole.add(name, shape: shape, backend: backend)
            try accumulated.add(name, shape: shape, backend: backend)
        }
        let batch = try TokenBatch(sequences: sequences)
        let wholeLoss = try model.forwardBackward(batch, gradients: whole)
        let micro = try sequences.map { try TokenBatch(sequences: [$0]) }
        let total = micro.reduce(0) { $0 + $1.shiftedTargets.filter { $0 != -100 }.count }
        XCTAssertEqual(total, wholeLoss.labelCount)
        var lossSum = 0.0
        for batch in micro { lossSum += try model.forwardBackward(batch, gradients: accumulated, lossNormalizer: total).lossSum }
        XCTAssertEqual(lossSum / Double(total), wholeLoss.loss, accuracy: 1e-6)
        for (name, _) in names {
            assertClose(try backend.download(accumulated[name]!), try backend.download(whole[name]!), rtol: 1e-5, atol: 1e-7, name)
        }
    }
}
