import Foundation
import TailorFormats
import TailorModels
import TailorTensor
import TailorTestSupport
import TailorTraining
import XCTest

/// 20 LoRA steps against transformers.Trainer + peft (scripts/reference/make_lora_fixtures.py):
/// r 4, alpha 8, all-linear, batch 2, gradient accumulation 2, warmup 3 + cosine, weight decay,
/// clipping, adamw_torch, the same initial adapter and data order.
final class LoRATrainingReferenceTests: XCTestCase {
    func run(_ family: String, kernels: CPUBackend.Kernels) throws {
        let folder = TestPaths.fixture("lora/\(family)")
        let backend = try CPUBackend(kernels: kernels)
        let model = try CausalLM.load(folder: TestPaths.fixture("models/\(family)"), backend: backend)
        let initial = try SafetensorsFile(url: folder.appendingPathComponent("init/adapter_model.safetensors"))
        let config = LoRAConfig(r: 4, loraAlpha: 8, targetModules: .allLinear)
        let adapters = try LoRAAdapters.attach(to: model, config: config) { name, _ in
            try initial.floats("base_model.model." + name)
        }
        XCTAssertEqual(adapters.modules.count, 14, "all-linear: 7 linears × 2 layers, lm_head excluded")

        let microBatches = try Self.microBatches(folder)

        let reference = try SafetensorsFile(url: folder.appendingPathComponent("reference.safetensors"))
        let expectedLoss = try reference.floats("loss"), expectedNorm = try reference.floats("grad_norm"), expectedLR = try reference.floats("lr")
        let runner = try StepRunner(model: model, parameters: adapters.parameters,
                                    schedule: LRSchedule(kind: .cosine, baseLR: 2e-3, warmupSteps: 3, totalSteps: 20),
                                    weightDecay: 0.01, maxGradNorm: 0.5)
        for step in 0..<20 {
            let log = try runner.step([microBatches[2 * step], microBatches[2 * step + 1]])
            XCTAssertEqual(log.learningRate, Double(expectedLR[step]), accuracy: 1e-9, "\(family) lr at step \(step + 1)")
            // Trainer rounds logged losses to 4 decimals.
            XCTAssertEqual(log.loss, Double(expectedLoss[step]), accuracy: 6e-5, "\(family) loss at step \(step + 1)")
            XCTAssertEqual(log.gradNorm, Double(expectedNorm[step]), accuracy: 1e-4 * Double(expectedNorm[step]), "\(family) grad norm at step \(step + 1)")
        }
        for module in adapters.modules {
            for (name, tensor) in [(module.lora.aName, module.lora.a), (module.lora.bName, module.lora.b)] {
                assertClose(try backend.download(tensor), try reference.floats("final." + name), rtol: 1e-4, atol: 1e-5,
                            "\(family) final \(name)")
            }
        }
    }

    /// The fixture's samples, two per micro-batch, in Trainer's order.
    static func microBatches(_ folder: URL) throws -> [TokenBatch] {
        let data = try SafetensorsFile(url: folder.appendingPathComponent("data.safetensors"))
        let ids = try data.floats("input_ids").map { Int32($0) }, labels = try data.floats("labels").map { Int32($0) }
        var samples: [(ids: [Int32], labels: [Int32])] = []
        var offset = 0
        for length in try data.floats("lengths").map({ Int($0) }) {
            samples.append((Array(ids[offset..<(offset + length)]), Array(labels[offset..<(offset + length)])))
            offset += length
        }
        return try stride(from: 0, to: samples.count, by: 2).map { try TokenBatch(sequences: Array(samples[$0..<($0 + 2)])) }
    }

    /// Runs `steps` optimizer steps of two micro-batches each and checks every step's loss and
    /// gradient norm against Trainer's log (1e-4 relative), and the learning rate too when a
    /// relative tolerance for it is given.
    static func assertStepsMatchTrainer(_ runner: StepRunner, batches: [TokenBatch], reference: SafetensorsFile, steps: Int,
                                        lrTolerance: Double? = nil, label: String = "",
                                        file: StaticString = #filePath, line: UInt = #line) throws {
        let expectedLoss = try reference.floats("loss"), expectedNorm = try reference.floats("grad_norm")
        let expectedLR = lrTolerance == nil ? [] : try reference.floats("lr")
        let prefix = label.isEmpty ? "" : label + " "
        for step in 0..<steps {
            let log = try runner.step([batches[2 * step], batches[2 * step + 1]])
            if let lrTolerance {
                XCTAssertEqual(log.learningRate, Double(expectedLR[step]), accuracy: lrTolerance * Double(expectedLR[step]),
                               "\(prefix)lr at step \(step + 1)", file: file, line: line)
            }
            XCTAssertEqual(log.loss, Double(expectedLoss[step]), accuracy: 1e-4 * Double(expectedLoss[step]),
                           "\(prefix)loss at step \(step + 1)", file: file, line: line)
            XCTAssertEqual(log.gradNorm, Double(expectedNorm[step]), accuracy: 1e-4 * Double(expectedNorm[step]),
                           "\(prefix)grad norm at step \(step + 1)", file: file, line: line)
        }
    }

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
        let batches = try Self.microBatches(folder)
        let runner = try StepRunner(model: model, parameters: parameters,
                                    schedule: LRSchedule(kind: .linear, baseLR: 1e-3, warmupSteps: 1, totalSteps: 5),
                                    weightDecay: 0.1, maxGradNorm: 1.0)
        try Self.assertStepsMatchTrainer(runner, batches: batches, reference: reference, steps: 5)
        for parameter in parameters {
            assertClose(try backend.download(parameter.value), try reference.floats("final." + parameter.name), rtol: 1e-4, atol: 1e-5,
                        "final \(parameter.name)")
        }
    }

    func testLlamaMatchesPeftTrainer() throws { try run("llama", kernels: .fast) }
    func testQwen2MatchesPeftTrainer() throws { try run("qwen2", kernels: .fast) }
    func testReferenceKernelsToo() throws { try run("llama", kernels: .reference) }
}
