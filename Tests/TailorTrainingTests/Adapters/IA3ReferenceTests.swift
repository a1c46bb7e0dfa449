import Foundation
import TailorAdapters
import TailorFormats
import TailorModels
import TailorTensor
import TailorTestSupport
import TailorTraining
import TailorTrainingTestSupport
import XCTest

/// peft's IA³ against transformers.Trainer + peft 0.21.2 (scripts/reference/make_ia3_fixtures.py):
/// 10 steps from ones on the tiny llama and qwen2, then the trained vectors, the trainable count
/// peft prints, Tailor's folder, peft's folder read back, and merge_and_unload.
final class IA3ReferenceTests: XCTestCase {
    static let steps = 10

    struct Case: AdapterFixtureCase {
        let name: String
        let family: String
        let config: IA3Config
        var folder: URL { TestPaths.fixture("ia3/\(name)") }
    }

    static let llama = Case(name: "ia3-llama", family: "llama", config: IA3Config())
    static let qwen2 = Case(name: "ia3-qwen2", family: "qwen2",
                            config: IA3Config(targetModules: .names(["q_proj", "k_proj", "v_proj", "o_proj", "up_proj", "down_proj"]),
                                              feedforwardModules: .names(["up_proj", "down_proj"])))
    static let llamaSave = Case(name: "ia3-llama-save", family: "llama",
                                config: IA3Config(targetModules: .allLinear, feedforwardModules: .regex(#".*mlp\.(gate_proj|down_proj)"#),
                                                  modulesToSave: ["lm_head"]))

    /// 1e-5 relative to the largest logit (f32 sums in another order differ by a few ulps of it).
    static func within(_ logits: [Float]) -> Float { 1e-5 * (logits.map(abs).max() ?? 1) }

    func run(_ test: Case, file: StaticString = #filePath, line: UInt = #line) throws {
        let backend = try CPUBackend()
        let model = try CausalLM.load(folder: test.modelFolder, backend: backend)
        let adapters = try IA3Adapters.attach(to: model, config: test.config)
        let reference = try test.reference(), initial = try test.file("init"), final = try test.file("final")
        XCTAssertEqual(Set(adapters.trainableTensors.map { adapters.peftKey($0.name) }), Set(initial.tensorNames),
                       "\(test.name): the tensors peft saves", file: file, line: line)
        for module in adapters.modules {
            let key = PeftAdapterLayout.key(module.ia3.name)
            XCTAssertEqual(module.ia3.vector.shape, initial.info(key)?.shape, "\(test.name): shape of \(key)", file: file, line: line)
            XCTAssertEqual(try backend.download(module.ia3.vector), try initial.floats(key), "\(test.name): ones at the start", file: file, line: line)
        }
        XCTAssertEqual(adapters.parameterCount, Int(try XCTUnwrap(reference.metadata["trainable"])),
                       "\(test.name): trainable parameters as peft's print_trainable_parameters", file: file, line: line)
        // Trainer puts every trained tensor in its weight-decay group here.
        XCTAssertTrue(adapters.parameters.allSatisfy(\.weightDecay), "\(test.name): decay group", file: file, line: line)

        let first = try test.firstSample()
        let base = try CausalLM.load(folder: test.modelFolder, backend: backend)
        let baseLogits = try backend.download(base.logits(first))
        assertClose(try backend.download(model.logits(first)), baseLogits, rtol: 1e-6, atol: 1e-6,
                    "\(test.name): vectors of ones leave the model as it is", file: file, line: line)

        let batches = try PeftTrainerFixture.microBatches(test.folder)
        let schedule = LRSchedule(kind: .linear, baseLR: 1e-2, warmupSteps: 1, totalSteps: Self.steps)
        let runner = try StepRunner(model: model, parameters: adapters.parameters, schedule: schedule, weightDecay: 0.1, maxGradNorm: 1.0)
        try PeftTrainerFixture.assertStepsMatchTrainer(runner, batches: batches, reference: reference, steps: Self.steps,
                                                       label: test.name, file: file, line: line)
        for parameter in adapters.parameters {
            assertClose(try backend.download(parameter.value), try final.floats(adapters.peftKey(parameter.name)), rtol: 1e-4, atol: 1e-5,
                        "\(test.name) final \(parameter.name)", file: file, line: line)
        }
        let expectedLogits = try reference.floats("logits")
        assertClose(try backend.download(model.logits(first)), expectedLogits, rtol: 1e-4, atol: 1e-5, "\(test.name) trained logits",
                    file: file, line: line)

        // Tailor's folder holds what peft's holds and reads back the same settings.
        // TAILOR_KEEP_OUTPUT=DIR keeps DIR/<case> (the adapter, merged/) for scripts/peers/check_ia3.py.
        let output = PeftTrainerFixture.outputFolder(case: test.name), written = output.url
        defer { if !output.kept { try? FileManager.default.removeItem(at: written) } }
        try IA3AdapterWriter.write(adapters, backend: backend, to: written, baseModel: test.family)
        try PeftTrainerFixture.assertFolderMatchesPeft(output, peft: final, logits: try backend.download(model.logits(first)),
                                                       vocab: model.config.vocabSize, label: test.name, file: file, line: line)
        XCTAssertEqual(try IA3AdapterFolder.peftType(folder: written), "IA3", file: file, line: line)
        let reread = try IA3AdapterFolder.load(folder: written, for: try CausalLM.load(folder: test.modelFolder, backend: backend))
        XCTAssertEqual(reread.modules.map(\.name), adapters.modules.map(\.name), file: file, line: line)
        XCTAssertEqual(reread.modules.map(\.ia3.isFeedforward), adapters.modules.map(\.ia3.isFeedforward), file: file, line: line)

        // peft's trained folder, read by Tailor, computes peft's logits; detached, the base is back.
        let loaded = try IA3AdapterFolder.load(folder: test.folder.appendingPathComponent("final"), for: base)
        try loaded.attach(to: base)
        assertClose(try backend.download(base.logits(first)), expectedLogits, rtol: 1e-5, atol: Self.within(expectedLogits), "\(test.name) peft's folder in Tailor",
                    file: file, line: line)
        try loaded.detach(from: base)
        XCTAssertEqual(try backend.download(base.logits(first)), baseLogits, "\(test.name): detached = base", file: file, line: line)

        // tailor merge: peft's merge_and_unload logits, from memory and from the written folder.
        let merging = try CausalLM.load(folder: test.modelFolder, backend: backend)
        try IA3AdapterFolder.load(folder: test.folder.appendingPathComponent("final"), for: merging).mergeAndUnload(into: merging)
        let mergedLogits = try reference.floats("merged_logits")
        assertClose(try backend.download(merging.logits(first)), mergedLogits, rtol: 1e-5, atol: Self.within(mergedLogits), "\(test.name) merged",
                    file: file, line: line)
        let mergedFolder = written.appendingPathComponent("merged")
        let streaming = try CausalLM.load(folder: test.modelFolder, backend: backend)
        try IA3AdapterFolder.load(folder: test.folder.appendingPathComponent("final"), for: streaming)
            .writeMerged(streaming, baseFolder: test.modelFolder, to: mergedFolder)
        assertClose(try backend.download(try CausalLM.load(folder: mergedFolder, backend: backend).logits(first)), mergedLogits,
                    rtol: 1e-5, atol: Self.within(mergedLogits), "\(test.name) merged folder", file: file, line: line)
        XCTAssertEqual(try backend.download(streaming.logits(first)), baseLogits, "\(test.name): writeMerged leaves the model as it was",
                       file: file, line: line)
    }

    /// peft's defaults for llama: k_proj and v_proj scale their output, down_proj its input.
    func testIA3DefaultsOnLlama() throws {
        try run(Self.llama)
    }

    /// q, k and v have biases, which output scaling scales too; up_proj and down_proj scale their input.
    func testIA3OnQwen2WithBiases() throws {
        try run(Self.qwen2)
    }

    /// all-linear, a regular expression for feedforward_modules and a trained copy of lm_head.
    func testIA3AllLinearWithModulesToSaveOnLlama() throws {
        try run(Self.llamaSave)
    }

    /// The defaults Tailor fills in are peft's (TRANSFORMERS_MODELS_TO_IA3_*_MODULES_MAPPING), as init/ records them.
    func testDefaultTargetsArePefts() throws {
        for (test, targets) in [(Self.llama, ["k_proj", "v_proj", "down_proj"])] {
            let model = try CausalLM.load(folder: test.modelFolder, backend: try CPUBackend())
            let adapters = try IA3Adapters.make(for: model, config: IA3Config())
            XCTAssertEqual(Set(adapters.modules.map { String($0.name.split(separator: ".").last ?? "") }), Set(targets))
            XCTAssertEqual(adapters.modules.filter(\.ia3.isFeedforward).map(\.name), ["model.layers.0.mlp.down_proj", "model.layers.1.mlp.down_proj"])
        }
        XCTAssertEqual(IA3Config.defaultTargetModules(for: .qwen2), ["q_proj", "v_proj", "down_proj"])
        XCTAssertEqual(IA3Config.defaultFeedforwardModules(for: .qwen3), ["down_proj"])
    }

    /// What peft's IA3Config refuses, Tailor refuses, naming the key.
    func testFeedforwardModulesMustBeASubsetOfTargets() throws {
        let model = try CausalLM.load(folder: Self.llama.modelFolder, backend: try CPUBackend())
        XCTAssertThrowsError(try IA3Adapters.make(for: model, config: IA3Config(targetModules: .names(["q_proj"]), feedforwardModules: .names(["down_proj"])))) {
            XCTAssertTrue("\($0)".contains("feedforward_modules") && "\($0)".contains("subset"), "\($0)")
        }
        XCTAssertThrowsError(try IA3Adapters.make(for: model, config: IA3Config(targetModules: .names(["q_prj"])))) {
            XCTAssertTrue("\($0)".contains("q_prj"), "\($0)")
        }
    }
}
