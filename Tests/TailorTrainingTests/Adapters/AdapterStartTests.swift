import Foundation
import TailorAdapters
import TailorFormats
import TailorModels
import TailorTensor
import TailorTestSupport
import TailorTraining
import XCTest

/// adapter_name_or_path: training starts from a saved peft adapter, whose config decides the shape.
final class AdapterStartTests: XCTestCase {
    var output: URL!
    let llama = TestPaths.fixture("models/llama")

    override func setUpWithError() throws {
        output = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-adapter-start-\(UUID().uuidString)")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: output) }

    static func samples() -> [TrainingSample] {
        var rng = SeededRandom(seed: 5)
        return (0..<6).map { i in
            let ids = rng.ints(5 + i % 3, in: 3..<96)
            var labels = ids
            labels[0] = -100
            return TrainingSample(ids: ids, labels: labels)
        }
    }

    func arguments(_ folder: String, steps: Int) -> TrainingArguments {
        var args = TrainingArguments()
        args.outputDir = output.appendingPathComponent(folder).path
        args.maxSteps = steps
        args.perDeviceTrainBatchSize = Self.samples().count  // one micro-batch: the step-1 loss is the mean over all samples
        args.learningRate = 2e-2
        args.sampling = .sequential
        args.saveStrategy = .no
        args.loggingSteps = 1
        return args
    }

    /// A peft folder written by a first run of `steps` steps from a fresh r = 4 adapter.
    func firstRun(steps: Int = 4) throws -> URL {
        let model = try CausalLM.load(folder: llama, backend: try CPUBackend())
        let config = LoRAConfig(r: 4, loraAlpha: 8, targetModules: .names(["q_proj", "v_proj", "down_proj"]))
        let adapters = try LoRAAdapters.attach(to: model, config: config, seed: 3)
        try Trainer(model: model, trainable: .lora(adapters), train: Self.samples(), args: arguments("first", steps: steps)).train()
        return output.appendingPathComponent("first")
    }

    func testStepOneLossIsTheSavedAdaptersLoss() throws {
        let folder = try firstRun()
        let batch = try TokenBatch(sequences: Self.samples().map { ($0.ids, $0.labels) })
        // What the saved adapter computes when loaded as inference loads it, and the base alone.
        let reference = try CausalLM.load(folder: llama, backend: try CPUBackend())
        let baseLoss = try reference.loss(batch).loss
        try PeftAdapterFolder.load(folder: folder, for: reference).attach(to: reference)
        let adapterLoss = try reference.loss(batch).loss
        XCTAssertGreaterThan(abs(adapterLoss - baseLoss), 1e-3, "the first run must have moved the adapter")

        let model = try CausalLM.load(folder: llama, backend: try CPUBackend())
        let start = try AdapterStart(folder: folder, model: model, settings: LoRAConfig(r: 16, loraAlpha: 1), given: [])
        XCTAssertEqual(start.config.r, 4, "the adapter's r, not the recipe's default")
        XCTAssertEqual(start.config.loraAlpha, 8)
        let adapters = try start.attach(to: model)
        XCTAssertEqual(adapters.modules.map(\.name).count, 2 * 3)
        let trainer = try Trainer(model: model, trainable: .lora(adapters), train: Self.samples(), args: arguments("second", steps: 2))
        let sink = RecordingSink()
        trainer.sinks = [sink]
        try trainer.train()
        XCTAssertEqual(sink.steps[0].loss, adapterLoss, accuracy: 1e-6, "step 1 computes with the saved adapter")
        XCTAssertLessThan(sink.steps[1].loss, sink.steps[0].loss)

        // The run saves an ordinary peft adapter of the same shape, with trained values.
        let saved = output.appendingPathComponent("second")
        let config = try PeftAdapterFolder.readConfig(folder: saved)
        XCTAssertEqual(config.r, 4)
        XCTAssertEqual(config.loraAlpha, 8)
        let key = "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight"
        let before = try SafetensorsFile(url: folder.appendingPathComponent(PeftAdapterLayout.weightsFile)).floats(key)
        let after = try SafetensorsFile(url: saved.appendingPathComponent(PeftAdapterLayout.weightsFile)).floats(key)
        XCTAssertEqual(before.count, after.count)
        XCTAssertNotEqual(before, after)
    }

    /// Starting from a run's adapter equals that run's model: a fresh start would not.
    func testAFreshAdapterWouldStartElsewhere() throws {
        let folder = try firstRun(steps: 2)
        let fromAdapter = try CausalLM.load(folder: llama, backend: try CPUBackend())
        _ = try AdapterStart(folder: folder, model: fromAdapter, settings: LoRAConfig(), given: []).attach(to: fromAdapter)
        let fresh = try CausalLM.load(folder: llama, backend: try CPUBackend())
        _ = try LoRAAdapters.attach(to: fresh, config: LoRAConfig(r: 4, loraAlpha: 8, targetModules: .names(["q_proj", "v_proj", "down_proj"])), seed: 3)
        let batch = try TokenBatch(sequences: Self.samples().map { ($0.ids, $0.labels) })
        XCTAssertNotEqual(try fromAdapter.loss(batch).loss, try fresh.loss(batch).loss)
    }

    func testDropoutComesFromTheRun() throws {
        let folder = try firstRun(steps: 1)
        let model = try CausalLM.load(folder: llama, backend: try CPUBackend())
        let start = try AdapterStart(folder: folder, model: model, settings: LoRAConfig(loraDropout: 0.1), given: ["lora_dropout"])
        XCTAssertEqual(start.config.loraDropout, 0.1)
        let adapters = try start.attach(to: model)
        XCTAssertTrue(adapters.hasDropout)
        XCTAssertTrue(adapters.modules.allSatisfy { $0.lora.dropout == Float(0.1) })
    }

    func testGivenSettingsThatDisagreeNameBothValues() throws {
        let folder = try firstRun(steps: 1)
        let file = folder.appendingPathComponent("adapter_config.json").path
        let model = try CausalLM.load(folder: llama, backend: try CPUBackend())
        let cases: [(LoRAConfig, Set<String>, [String])] = [
            (LoRAConfig(r: 16), ["r"], ["'r' is 16 here but 4 in \(file)"]),
            (LoRAConfig(r: 4, loraAlpha: 32), ["lora_alpha"], ["'lora_alpha' is 32 here but 8"]),
            (LoRAConfig(r: 4, useRslora: true), ["use_rslora"], ["is true here but false"]),
            (LoRAConfig(targetModules: .allLinear), ["target_modules"], ["'target_modules' picks 14 modules", "adapts 6", "[down_proj, q_proj, v_proj]"]),
            (LoRAConfig(targetModules: .names(["q_proj", "v_proj", "down_proj"]), layersToTransform: [0]), ["layers_to_transform"],
             ["picks 3 modules", "layers_to_transform [0]"]),
            (LoRAConfig(modulesToSave: ["lm_head"]), ["modules_to_save"], ["is [lm_head] here but []"]),
            (LoRAConfig(r: 4, useDora: true), ["use_dora"], ["'use_dora' is true here but false"]),
            (LoRAConfig(r: 4, rankPattern: [("q_proj", 8)]), ["rank_pattern"], ["'rank_pattern' is {q_proj: 8} here but {}"]),
            (LoRAConfig(r: 4, alphaPattern: [("v_proj", 2.5)]), ["alpha_pattern"], ["'alpha_pattern' is {v_proj: 2.5} here but {}"]),
        ]
        for (settings, given, words) in cases {
            XCTAssertThrowsError(try AdapterStart(folder: folder, model: model, settings: settings, given: given), "\(given)") { error in
                for word in words { XCTAssertTrue("\(error)".contains(word), "'\(word)' missing from: \(error)") }
            }
        }
        // Given values that agree are fine: the same r, the same modules in another order or spelling.
        let agreeing = LoRAConfig(r: 4, loraAlpha: 8, targetModules: .regex(#".*\.(down|q|v)_proj"#))
        XCTAssertNoThrow(try AdapterStart(folder: folder, model: model, settings: agreeing, given: ["r", "lora_alpha", "target_modules"]))
        XCTAssertNoThrow(try AdapterStart(folder: folder, model: model, settings: LoRAConfig(r: 64), given: ["lora_dropout"]))
    }

    /// With resume_from_checkpoint too, the checkpoint's values replace the adapter's: the
    /// resumed steps equal the uninterrupted run's.
    func testACheckpointWinsOverTheAdapter() throws {
        let model = try CausalLM.load(folder: llama, backend: try CPUBackend())
        let config = LoRAConfig(r: 4, loraAlpha: 8, targetModules: .names(["q_proj", "v_proj", "down_proj"]))
        var args = arguments("first", steps: 4)
        args.saveStrategy = .steps
        args.saveSteps = 2
        let straight = try Trainer(model: model, trainable: .lora(try LoRAAdapters.attach(to: model, config: config, seed: 3)),
                                   train: Self.samples(), args: args)
        let straightSink = RecordingSink()
        straight.sinks = [straightSink]
        try straight.train()

        // Start from the run's final adapter (step 4), resume from its step-2 checkpoint.
        let first = output.appendingPathComponent("first")
        let resumed = try CausalLM.load(folder: llama, backend: try CPUBackend())
        let adapters = try AdapterStart(folder: first, model: resumed, settings: LoRAConfig(), given: []).attach(to: resumed)
        args.outputDir = output.appendingPathComponent("second").path
        let trainer = try Trainer(model: resumed, trainable: .lora(adapters), train: Self.samples(), args: args)
        let sink = RecordingSink()
        trainer.sinks = [sink]
        try trainer.train(resumeFrom: first.appendingPathComponent("checkpoint-2"))
        XCTAssertEqual(sink.steps.map(\.step), [3, 4])
        XCTAssertEqual(sink.steps.map(\.loss), Array(straightSink.steps.map(\.loss).suffix(2)), "bit for bit")
    }

    func testAnAdapterForAnotherModelIsRefusedNamingTheTensor() throws {
        let folder = try firstRun(steps: 1)
        let model = try CausalLM.load(folder: llama, backend: try CPUBackend())
        // The config says r = 8, the tensors are r = 4: the shapes do not fit.
        let configURL = folder.appendingPathComponent("adapter_config.json")
        let original = try Data(contentsOf: configURL)
        var json = try XCTUnwrap(JSONSerialization.jsonObject(with: original) as? [String: Any])
        json["r"] = 8
        try JSONSerialization.data(withJSONObject: json).write(to: configURL)
        XCTAssertThrowsError(try AdapterStart(folder: folder, model: model, settings: LoRAConfig(), given: [])) { error in
            XCTAssertTrue("\(error)".contains("lora_A.weight' has shape [4, 32]") && "\(error)".contains("needs [8, 32]"), "\(error)")
        }
        try original.write(to: configURL)
        // A module the model does not have (layer 7 of a 2-layer model).
        let weights = folder.appendingPathComponent(PeftAdapterLayout.weightsFile)
        let file = try SafetensorsFile(url: weights)
        let tensors = try file.tensorNames.map { name in
            SafetensorsWriter.Tensor(name: name.replacingOccurrences(of: "layers.1.", with: "layers.7."),
                                     shape: try XCTUnwrap(file.info(name)).shape, floats: try file.floats(name))
        }
        try SafetensorsWriter.write(tensors, metadata: ["format": "pt"], to: weights)
        XCTAssertThrowsError(try AdapterStart(folder: folder, model: model, settings: LoRAConfig(), given: [])) { error in
            XCTAssertTrue("\(error)".contains("model.layers.7.") && "\(error)".contains("which this model does not have"), "\(error)")
        }
        XCTAssertThrowsError(try AdapterStart(folder: output.appendingPathComponent("missing"), model: model, settings: LoRAConfig(), given: [])) { error in
            XCTAssertTrue("\(error)".contains("adapter_config.json") && "\(error)".contains("peft adapter folder"), "\(error)")
        }
    }
}
