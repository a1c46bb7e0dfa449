import Foundation
import TailorAdapters
import TailorFormats
import TailorModels
import TailorTensor
import TailorTestSupport
import TailorTraining
import TailorTrainingTestSupport
import XCTest

/// peft's AdaLoRA against transformers.Trainer + peft 0.21.2 (scripts/reference/make_adalora_fixtures.py):
/// 10 steps from peft's initial adapter on the tiny llama and qwen2, with the orthogonal regulariser
/// in every loss and the rank allocation after every optimizer step (ranks pruned within the 10
/// steps); then the trained tensors, the rank_pattern, the trainable count peft prints, Tailor's
/// folder, peft's folder read back, and merge_and_unload.
final class AdaLoRAReferenceTests: XCTestCase {
    static let steps = 10

    struct Case: AdapterFixtureCase {
        let name: String
        let family: String
        let config: AdaLoRAConfig
        var folder: URL { TestPaths.fixture("adalora/\(name)") }
    }

    static let llama = Case(name: "adalora-llama", family: "llama",
                            config: AdaLoRAConfig(initR: 6, targetR: 2, tinit: 2, tfinal: 3, deltaT: 1, totalStep: steps))
    static let qwen2 = Case(name: "adalora-qwen2", family: "qwen2",
                            config: AdaLoRAConfig(targetModules: .names(["q_proj", "k_proj", "v_proj", "o_proj", "up_proj", "down_proj"]),
                                                  initR: 4, targetR: 1, tinit: 1, tfinal: 2, deltaT: 2, beta1: 0.8, beta2: 0.9,
                                                  orthRegWeight: 0.3, totalStep: steps, loraAlpha: 16))

    /// 1e-5 relative to the largest logit (f32 sums in another order differ by a few ulps of it).
    static func within(_ logits: [Float]) -> Float { 1e-5 * (logits.map(abs).max() ?? 1) }

    func run(_ test: Case, file: StaticString = #filePath, line: UInt = #line) throws {
        let backend = try CPUBackend()
        let model = try CausalLM.load(folder: test.modelFolder, backend: backend)
        let reference = try test.reference(), initial = try test.file("init"), final = try test.file("final")
        let adapters = try AdaLoRAAdapters.attach(to: model, config: test.config) { name, _ in
            try initial.floats(PeftAdapterLayout.key(name))
        }
        XCTAssertEqual(Set(adapters.trainableTensors.map { adapters.peftKey($0.name) }), Set(initial.tensorNames),
                       "\(test.name): the tensors peft saves", file: file, line: line)
        for (name, tensor, _) in adapters.trainableTensors {
            XCTAssertEqual(tensor.shape, initial.info(adapters.peftKey(name))?.shape, "\(test.name): shape of \(name)", file: file, line: line)
        }
        XCTAssertEqual(adapters.parameterCount, Int(try XCTUnwrap(reference.metadata["trainable"])),
                       "\(test.name): trainable parameters as peft's print_trainable_parameters", file: file, line: line)
        XCTAssertTrue(adapters.parameters.allSatisfy(\.weightDecay), "\(test.name): decay group", file: file, line: line)
        // transformers passes state.global_step before it counts the step: 0 for the first.
        XCTAssertEqual(reference.metadata["steps"], "[" + (0..<Self.steps).map(String.init).joined(separator: ", ") + "]",
                       "\(test.name): the steps update_and_allocate was called with", file: file, line: line)

        let first = try test.firstSample()
        let batches = try PeftTrainerFixture.microBatches(test.folder)
        let schedule = LRSchedule(kind: .linear, baseLR: 1e-2, warmupSteps: 1, totalSteps: Self.steps)
        let runner = try StepRunner(model: model, parameters: adapters.parameters, schedule: schedule, weightDecay: 0.1, maxGradNorm: 1.0)
        try runner.train(adaLoRA: adapters, totalSteps: Self.steps)
        try PeftTrainerFixture.assertStepsMatchTrainer(runner, batches: batches, reference: reference, steps: Self.steps,
                                                       label: test.name, file: file, line: line)
        for (name, tensor, _) in adapters.trainableTensors {
            assertClose(try backend.download(tensor), try reference.floats("final." + name), rtol: 1e-4, atol: 1e-5,
                        "\(test.name) final \(name)", file: file, line: line)
        }
        let peftConfig = try AdaLoRAAdapterFolder.readConfig(folder: test.folder.appendingPathComponent("final"))
        XCTAssertEqual(adapters.config.rankPattern, peftConfig.rankPattern, "\(test.name): rank_pattern", file: file, line: line)
        let kept = adapters.config.rankPattern?.values.reduce(0) { $0 + $1.filter { $0 }.count }
        XCTAssertEqual(kept, test.config.targetR * adapters.modules.count, "\(test.name): the final budget", file: file, line: line)
        let expectedLogits = try reference.floats("logits")
        assertClose(try backend.download(model.logits(first)), expectedLogits, rtol: 1e-4, atol: 1e-5, "\(test.name) trained logits",
                    file: file, line: line)

        // Tailor's folder holds what peft's holds (only the kept ranks) and reads back the same settings.
        // TAILOR_KEEP_OUTPUT=DIR keeps DIR/<case> (the adapter, merged/) for scripts/peers/check_adalora.py.
        let output = PeftTrainerFixture.outputFolder(case: test.name), written = output.url
        defer { if !output.kept { try? FileManager.default.removeItem(at: written) } }
        try AdaLoRAAdapterWriter.write(adapters, backend: backend, to: written, baseModel: test.family)
        try PeftTrainerFixture.assertFolderMatchesPeft(output, peft: final, logits: try backend.download(model.logits(first)),
                                                       vocab: model.config.vocabSize, label: test.name, file: file, line: line)
        let reread = try AdaLoRAAdapterFolder.load(folder: written, for: try CausalLM.load(folder: test.modelFolder, backend: backend))
        XCTAssertEqual(reread.config.rankPattern, adapters.config.rankPattern, file: file, line: line)
        XCTAssertEqual(reread.modules.map(\.name), adapters.modules.map(\.name), file: file, line: line)

        // peft's trained folder, read by Tailor, computes peft's logits; detached, the base is back.
        let base = try CausalLM.load(folder: test.modelFolder, backend: backend)
        let baseLogits = try backend.download(base.logits(first))
        let loaded = try AdaLoRAAdapterFolder.load(folder: test.folder.appendingPathComponent("final"), for: base)
        XCTAssertEqual(loaded.modules.map(\.adalora.rank), loaded.modules.map { peftConfig.rankPattern?[$0.name]?.filter { $0 }.count ?? -1 },
                       "\(test.name): the ranks the folder keeps", file: file, line: line)
        try loaded.attach(to: base)
        assertClose(try backend.download(base.logits(first)), expectedLogits, rtol: 1e-5, atol: Self.within(expectedLogits),
                    "\(test.name) peft's folder in Tailor", file: file, line: line)
        try loaded.detach(from: base)
        XCTAssertEqual(try backend.download(base.logits(first)), baseLogits, "\(test.name): detached = base", file: file, line: line)
        // As the LoRA it computes (what generate, chat, serve and merge use).
        let asLoRA = try loaded.asLoRA(backend: backend)
        try asLoRA.attach(to: base)
        assertClose(try backend.download(base.logits(first)), expectedLogits, rtol: 1e-5, atol: Self.within(expectedLogits),
                    "\(test.name) peft's folder as LoRA", file: file, line: line)
        try asLoRA.detach(from: base)

        // tailor merge: peft's merge_and_unload logits, from memory and from the written folder.
        let mergedLogits = try reference.floats("merged_logits")
        let merging = try CausalLM.load(folder: test.modelFolder, backend: backend)
        try AdaLoRAAdapterFolder.load(folder: test.folder.appendingPathComponent("final"), for: merging).asLoRA(backend: backend)
            .mergeAndUnload(into: merging)
        assertClose(try backend.download(merging.logits(first)), mergedLogits, rtol: 1e-5, atol: Self.within(mergedLogits), "\(test.name) merged",
                    file: file, line: line)
        let mergedFolder = written.appendingPathComponent("merged")
        let streaming = try CausalLM.load(folder: test.modelFolder, backend: backend)
        try AdaLoRAAdapterFolder.load(folder: test.folder.appendingPathComponent("final"), for: streaming).asLoRA(backend: backend)
            .writeMerged(streaming, baseFolder: test.modelFolder, to: mergedFolder)
        assertClose(try backend.download(try CausalLM.load(folder: mergedFolder, backend: backend).logits(first)), mergedLogits,
                    rtol: 1e-5, atol: Self.within(mergedLogits), "\(test.name) merged folder", file: file, line: line)
    }

    /// peft's default targets for llama (q_proj, v_proj): the budget falls from 24 to 8 ranks
    /// between steps 2 and 7, then rank_pattern is fixed.
    func testAdaLoRADefaultsOnLlama() throws {
        try run(Self.llama)
    }

    /// Six targets (q, k, v with biases), masking every second step, another lora_alpha, betas and regulariser weight.
    func testAdaLoRAOnQwen2() throws {
        try run(Self.qwen2)
    }

    /// The defaults Tailor fills in are peft's (TRANSFORMERS_MODELS_TO_ADALORA_TARGET_MODULES_MAPPING).
    func testDefaultTargetsArePefts() throws {
        let model = try CausalLM.load(folder: Self.llama.modelFolder, backend: try CPUBackend())
        let adapters = try AdaLoRAAdapters.make(for: model, config: AdaLoRAConfig(totalStep: 10))
        XCTAssertEqual(Set(adapters.modules.map { String($0.name.split(separator: ".").last ?? "") }), ["q_proj", "v_proj"])
        XCTAssertEqual(adapters.modules.first?.adalora.rank, 12, "peft's init_r")
        XCTAssertEqual(adapters.config.loraAlpha, 8, "peft's lora_alpha")
        XCTAssertThrowsError(try AdaLoRAConfig().resolved(for: .mistral)) { XCTAssertTrue("\($0)".contains("target_modules"), "\($0)") }
    }

    /// What peft's AdaLoraConfig refuses (and a target_r above init_r), Tailor refuses, naming the key.
    func testBadSettingsAreNamed() throws {
        let model = try CausalLM.load(folder: Self.llama.modelFolder, backend: try CPUBackend())
        for (config, key) in [(AdaLoRAConfig(initR: 4, targetR: 6, totalStep: 10), "target_r"),
                              (AdaLoRAConfig(tinit: 5, tfinal: 5, totalStep: 10), "tinit"),
                              (AdaLoRAConfig(orthRegWeight: -1), "orth_reg_weight"),
                              (AdaLoRAConfig(beta1: 1), "beta1"),
                              (AdaLoRAConfig(totalStep: 0), "total_step")] {
            XCTAssertThrowsError(try AdaLoRAAdapters.make(for: model, config: config), key) {
                XCTAssertTrue("\($0)".contains("'\(key)'"), "\($0)")
            }
        }
        // Without total_step the rank allocator has no schedule.
        let adapters = try AdaLoRAAdapters.make(for: model, config: AdaLoRAConfig())
        XCTAssertThrowsError(try AdaLoRARankAllocator(adapters: adapters)) { XCTAssertTrue("\($0)".contains("total_step"), "\($0)") }
        let runner = try StepRunner(model: model, parameters: adapters.parameters,
                                    schedule: LRSchedule(kind: .linear, baseLR: 1e-3, warmupSteps: 0, totalSteps: 10))
        XCTAssertThrowsError(try runner.train(adaLoRA: adapters, totalSteps: .max)) { XCTAssertTrue("\($0)".contains("total_step"), "\($0)") }
    }

    /// peft's budget schedule: init budget until tinit, the cubic fall, the target from total_step − tfinal.
    func testBudgetSchedule() throws {
        let model = try CausalLM.load(folder: Self.llama.modelFolder, backend: try CPUBackend())
        let adapters = try AdaLoRAAdapters.make(for: model, config: Self.llama.config)
        let allocator = try AdaLoRARankAllocator(adapters: adapters)
        XCTAssertEqual(allocator.initialBudget, 24)
        XCTAssertEqual(allocator.targetBudget, 8)
        // int((24 − 8)·(1 − (t − 2)/5)³ + 8) for t in 3...6; 8 from 7 on.
        XCTAssertEqual((0..<10).map { allocator.budget(step: $0).budget }, [24, 24, 24, 16, 11, 9, 8, 8, 8, 8])
        XCTAssertEqual((0..<10).map { allocator.budget(step: $0).masks }, [false, false, false, true, true, true, true, true, true, true])
    }
}
