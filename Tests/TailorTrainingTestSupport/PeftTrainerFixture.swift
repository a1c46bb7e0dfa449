import Foundation
import TailorAdapters
import TailorFormats
import TailorModels
import TailorTensor
import TailorTestSupport
import TailorTraining
import XCTest

/// The training fixtures of scripts/reference/make_lora_fixtures.py (and the scripts built on it):
/// transformers.Trainer + peft runs on the tiny models, with their data, initial adapter and log.
public enum PeftTrainerFixture {
    /// The fixture's samples, two per micro-batch, in Trainer's order.
    public static func microBatches(_ folder: URL) throws -> [TokenBatch] {
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
    public static func assertStepsMatchTrainer(_ runner: StepRunner, batches: [TokenBatch], reference: SafetensorsFile, steps: Int,
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

    /// The 20 LoRA steps of make_lora_fixtures.py on `backend` (r 4, alpha 8, all-linear, batch 2,
    /// gradient accumulation 2, warmup 3 + cosine, weight decay 0.01, clipping 0.5, adamw_torch,
    /// peft's initial adapter, Trainer's data order), on the fixture model or the one in `modelFolder`
    /// (e.g. a bf16 copy of it), keeping the MLP's gate/up activations in `savedActivationDType`.
    public static func loraRun(family: String, modelFolder: URL? = nil, savedActivationDType: DType = .f32,
                               backend: any Backend) throws -> (logs: [StepLog], adapters: LoRAAdapters)
    {
        let folder = TestPaths.fixture("lora/\(family)")
        let model = try CausalLM.load(folder: modelFolder ?? TestPaths.fixture("models/\(family)"), backend: backend)
        model.savedActivationDType = savedActivationDType
        let initial = try SafetensorsFile(url: folder.appendingPathComponent("init/adapter_model.safetensors"))
        let config = LoRAConfig(r: 4, loraAlpha: 8, targetModules: .allLinear)
        let adapters = try LoRAAdapters.attach(to: model, config: config) { name, _ in
            try initial.floats("base_model.model." + name)
        }
        let microBatches = try microBatches(folder)
        let runner = try StepRunner(model: model, parameters: adapters.parameters,
                                    schedule: LRSchedule(kind: .cosine, baseLR: 2e-3, warmupSteps: 3, totalSteps: 20),
                                    weightDecay: 0.01, maxGradNorm: 0.5)
        let logs = try (0..<20).map { step in try runner.step([microBatches[2 * step], microBatches[2 * step + 1]]) }
        return (logs, adapters)
    }

    /// `loraRun` against Trainer's log and adapter: every step's lr, loss and gradient norm, and
    /// the trained A and B.
    public static func assertLoRARunMatchesTrainer(family: String, backend: any Backend,
                                                   file: StaticString = #filePath, line: UInt = #line) throws {
        let (logs, adapters) = try loraRun(family: family, backend: backend)
        XCTAssertEqual(adapters.modules.count, 14, "all-linear: 7 linears × 2 layers, lm_head excluded", file: file, line: line)
        let reference = try SafetensorsFile(url: TestPaths.fixture("lora/\(family)").appendingPathComponent("reference.safetensors"))
        let expectedLoss = try reference.floats("loss"), expectedNorm = try reference.floats("grad_norm"), expectedLR = try reference.floats("lr")
        for (step, log) in logs.enumerated() {
            XCTAssertEqual(log.learningRate, Double(expectedLR[step]), accuracy: 1e-9, "\(family) lr at step \(step + 1)", file: file, line: line)
            // Trainer rounds logged losses to 4 decimals.
            XCTAssertEqual(log.loss, Double(expectedLoss[step]), accuracy: 6e-5, "\(family) loss at step \(step + 1)", file: file, line: line)
            XCTAssertEqual(log.gradNorm, Double(expectedNorm[step]), accuracy: 1e-4 * Double(expectedNorm[step]),
                           "\(family) grad norm at step \(step + 1)", file: file, line: line)
        }
        for module in adapters.modules {
            for (name, tensor) in [(module.lora.aName, module.lora.a), (module.lora.bName, module.lora.b)] {
                assertClose(try backend.download(tensor), try reference.floats("final." + name), rtol: 1e-4, atol: 1e-5,
                            "\(family) final \(name)", file: file, line: line)
            }
        }
    }

    /// A copy of fixture model `family` with every weight stored as bf16 (rounded to nearest even),
    /// in a new folder under `root`.
    public static func bf16Copy(of family: String, under root: URL) throws -> URL {
        let source = TestPaths.fixture("models/\(family)")
        let folder = root.appendingPathComponent("\(family)-bf16")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: source.appendingPathComponent("config.json"), to: folder.appendingPathComponent("config.json"))
        let file = try SafetensorsFile(url: source.appendingPathComponent("model.safetensors"))
        let tensors = try file.tensorNames.map { name in
            SafetensorsWriter.Tensor(name: name, shape: try XCTUnwrap(file.info(name)).shape, floats: try file.floats(name), dtype: .bf16)
        }
        try SafetensorsWriter.write(tensors, to: folder.appendingPathComponent("model.safetensors"))
        return folder
    }
}
