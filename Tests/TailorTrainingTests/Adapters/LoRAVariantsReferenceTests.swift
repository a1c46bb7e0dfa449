import Foundation
import TailorAdapters
import TailorFormats
import TailorModels
import TailorTensor
import TailorTestSupport
import TailorTraining
import TailorTrainingTestSupport
import XCTest

/// peft's LoRA variants against transformers.Trainer + peft 0.21.2
/// (scripts/reference/make_lora_variants_fixtures.py): 10 steps from peft's initial adapter on the
/// tiny llama and qwen2, then the trained tensors, the trainable count peft prints, Tailor's
/// folder, peft's folder read back, and merge_and_unload.
final class LoRAVariantsReferenceTests: XCTestCase {
    static let steps = 10

    /// The fixture case `name`: its folder, model family and reference file.
    struct Case: AdapterFixtureCase {
        let name: String
        let family: String
        var folder: URL { TestPaths.fixture("lora-variants/\(name)") }
    }

    /// Attaches `config`'s adapters with peft's initial A and B (and, unless `ownMagnitude`, its
    /// initial magnitudes) from init/.
    func attachInitial(_ test: Case, config: LoRAConfig, model: CausalLM, ownMagnitude: Bool = false) throws -> LoRAAdapters {
        let initial = try test.file("init")
        return try LoRAAdapters.attach(to: model, config: config) { name, _ in
            if ownMagnitude && name.hasSuffix(PeftAdapterLayout.magnitudeSuffix) { return nil }
            return try initial.floats(PeftAdapterLayout.key(name))
        }
    }

    /// Trains 10 steps with `makeRunner` and checks the run, the trained tensors and every way
    /// in and out of a peft folder against the fixture.
    func run(_ test: Case, config: LoRAConfig, file: StaticString = #filePath, line: UInt = #line,
             makeRunner: ((CausalLM, LoRAAdapters) throws -> StepRunner)? = nil) throws {
        let backend = try CPUBackend()
        let model = try CausalLM.load(folder: test.modelFolder, backend: backend)
        let adapters = try attachInitial(test, config: config, model: model)
        let reference = try test.reference(), initial = try test.file("init"), final = try test.file("final")
        XCTAssertEqual(Set(adapters.trainableTensors.map { adapters.peftKey($0.name) }), Set(initial.tensorNames),
                       "\(test.name): the tensors peft saves", file: file, line: line)
        XCTAssertEqual(adapters.parameterCount, Int(try XCTUnwrap(reference.metadata["trainable"])),
                       "\(test.name): trainable parameters as peft's print_trainable_parameters", file: file, line: line)

        let batches = try PeftTrainerFixture.microBatches(test.folder)
        let schedule = LRSchedule(kind: .linear, baseLR: 1e-3, warmupSteps: 1, totalSteps: Self.steps)
        let runner = try makeRunner?(model, adapters)
            ?? StepRunner(model: model, parameters: adapters.parameters, schedule: schedule, weightDecay: 0.1, maxGradNorm: 1.0)
        try PeftTrainerFixture.assertStepsMatchTrainer(runner, batches: batches, reference: reference, steps: Self.steps,
                                                       label: test.name, file: file, line: line)
        for parameter in adapters.parameters {
            assertClose(try backend.download(parameter.value), try final.floats(adapters.peftKey(parameter.name)), rtol: 1e-4, atol: 1e-5,
                        "\(test.name) final \(parameter.name)", file: file, line: line)
        }
        let first = try test.firstSample()
        let expectedLogits = try reference.floats("logits")
        assertClose(try backend.download(model.logits(first)), expectedLogits, rtol: 1e-4, atol: 1e-5, "\(test.name) trained logits",
                    file: file, line: line)

        // Tailor's folder holds what peft's holds and reads back the same settings.
        // TAILOR_KEEP_OUTPUT=DIR keeps DIR/<case> (the adapter, merged/) for scripts/peers/check_lora_variants.py.
        let keep = ProcessInfo.processInfo.environment["TAILOR_KEEP_OUTPUT"].map { URL(fileURLWithPath: $0).appendingPathComponent(test.name) }
        let written = keep ?? FileManager.default.temporaryDirectory.appendingPathComponent("tailor-variants-\(UUID().uuidString)")
        defer { if keep == nil { try? FileManager.default.removeItem(at: written) } }
        try PeftAdapterWriter.write(adapters, backend: backend, to: written, baseModel: test.family)
        XCTAssertEqual(Set(try SafetensorsFile(url: written.appendingPathComponent(PeftAdapterLayout.weightsFile)).tensorNames),
                       Set(final.tensorNames), "\(test.name): keys of Tailor's adapter_model.safetensors", file: file, line: line)
        let reread = try PeftAdapterFolder.readConfig(folder: written)
        XCTAssertEqual(reread.useDora, config.useDora, file: file, line: line)
        XCTAssertTrue(reread.rankPattern.elementsEqual(config.rankPattern) { $0 == $1 }, "\(test.name): rank_pattern", file: file, line: line)
        XCTAssertTrue(reread.alphaPattern.elementsEqual(config.alphaPattern) { $0 == $1 }, "\(test.name): alpha_pattern", file: file, line: line)

        // peft's trained folder, read by Tailor, computes peft's logits; detached, the base is back.
        let base = try CausalLM.load(folder: test.modelFolder, backend: backend)
        let baseLogits = try backend.download(base.logits(first))
        let loaded = try PeftAdapterFolder.load(folder: test.folder.appendingPathComponent("final"), for: base)
        XCTAssertEqual(loaded.config.useDora, config.useDora, file: file, line: line)
        try loaded.attach(to: base)
        assertClose(try backend.download(base.logits(first)), expectedLogits, rtol: 1e-4, atol: 1e-5, "\(test.name) peft's folder in Tailor",
                    file: file, line: line)
        try loaded.detach(from: base)
        XCTAssertEqual(try backend.download(base.logits(first)), baseLogits, "\(test.name): detached = base", file: file, line: line)

        // tailor merge: peft's merge_and_unload logits, from memory and from the written folder.
        let merging = try CausalLM.load(folder: test.modelFolder, backend: backend)
        try PeftAdapterFolder.load(folder: test.folder.appendingPathComponent("final"), for: merging).mergeAndUnload(into: merging)
        let mergedLogits = try reference.floats("merged_logits")
        assertClose(try backend.download(merging.logits(first)), mergedLogits, rtol: 1e-4, atol: 1e-5, "\(test.name) merged",
                    file: file, line: line)
        let mergedFolder = written.appendingPathComponent("merged")
        try ModelFolderWriter.write(merging, baseFolder: test.modelFolder, to: mergedFolder)
        assertClose(try backend.download(try CausalLM.load(folder: mergedFolder, backend: backend).logits(first)), mergedLogits,
                    rtol: 1e-4, atol: 1e-5, "\(test.name) merged folder", file: file, line: line)
    }

    // MARK: DoRA

    static let doraLlama = LoRAConfig(r: 4, loraAlpha: 8, targetModules: .allLinear, useDora: true)
    static let doraQwen2 = LoRAConfig(r: 4, loraAlpha: 8, targetModules: .names(["q_proj", "k_proj", "v_proj", "o_proj", "down_proj"]),
                                      useDora: true)

    func testDoRAOnLlama() throws {
        try run(Case(name: "dora-llama", family: "llama"), config: Self.doraLlama)
    }

    /// q, k and v have biases: DoRA scales the base product, not the bias.
    func testDoRAOnQwen2() throws {
        try run(Case(name: "dora-qwen2", family: "qwen2"), config: Self.doraQwen2)
    }

    /// The magnitude Tailor initialises is peft's: ‖W‖ of each row (B starts at zero).
    func testDoRAInitialMagnitudeIsPeftsWeightNorm() throws {
        for (test, config) in [(Case(name: "dora-llama", family: "llama"), Self.doraLlama),
                               (Case(name: "dora-qwen2", family: "qwen2"), Self.doraQwen2)] {
            let backend = try CPUBackend()
            let model = try CausalLM.load(folder: test.modelFolder, backend: backend)
            let adapters = try attachInitial(test, config: config, model: model, ownMagnitude: true)
            let initial = try test.file("init")
            for module in adapters.modules {
                let magnitude = try XCTUnwrap(module.lora.magnitude)
                assertClose(try backend.download(magnitude), try initial.floats(PeftAdapterLayout.key(module.lora.magnitudeName)),
                            rtol: 1e-6, atol: 1e-7, "\(test.name) initial magnitude of \(module.name)")
            }
            // B is zero, so the adapted model is the base model.
            let base = try CausalLM.load(folder: test.modelFolder, backend: backend)
            let first = try test.firstSample()
            assertClose(try backend.download(model.logits(first)), try backend.download(base.logits(first)), rtol: 1e-5, atol: 1e-6,
                        "\(test.name): a fresh DoRA adapter leaves the output as it is")
        }
    }

    // MARK: LoRA+

    /// The StepRunner `tailor train` builds with loraplus_lr_ratio: AdamW over LoRA+'s groups.
    static func loraPlusRunner(_ model: CausalLM, _ adapters: LoRAAdapters, ratio: Double) throws -> StepRunner {
        var arguments = TrainingArguments()
        arguments.learningRate = 1e-3
        arguments.weightDecay = 0.1
        arguments.loraPlusLRRatio = ratio
        let optimizer = try arguments.makeOptimizer(parameters: adapters.parameters, backend: model.backend)
        return try StepRunner(model: model, optimizer: optimizer,
                              schedule: LRSchedule(kind: .linear, baseLR: 1e-3, warmupSteps: 1, totalSteps: steps), maxGradNorm: 1.0)
    }

    /// The sizes of peft's groups (A, embedding, B, B without decay) from Tailor's parameters.
    static func groupSizes(_ parameters: [TrainableParameter]) -> [Float] {
        let grouped = LoRAPlus(ratio: 2).grouped(parameters)
        return [Float(grouped.filter { $0.learningRateScale == 1 }.count), 0,
                Float(grouped.filter { $0.learningRateScale != 1 && $0.weightDecay }.count),
                Float(grouped.filter { $0.learningRateScale != 1 && !$0.weightDecay }.count)]
    }

    func testLoRAPlusOnLlama() throws {
        let test = Case(name: "loraplus-llama", family: "llama")
        try run(test, config: LoRAConfig(r: 4, loraAlpha: 8, targetModules: .allLinear)) { model, adapters in
            XCTAssertEqual(Self.groupSizes(adapters.parameters), try test.reference().floats("group_sizes"), "peft's LoRA+ groups")
            return try Self.loraPlusRunner(model, adapters, ratio: 16)
        }
    }

    /// lora_only biases (1-D, no decay) and DoRA magnitudes (1-D, decay) train at lora_B's rate.
    func testLoRAPlusWithDoRAAndBiasesOnQwen2() throws {
        let test = Case(name: "loraplus-qwen2", family: "qwen2")
        let config = LoRAConfig(r: 4, loraAlpha: 8, targetModules: .names(["q_proj", "v_proj", "o_proj"]), bias: .loraOnly, useDora: true)
        try run(test, config: config) { model, adapters in
            XCTAssertEqual(Self.groupSizes(adapters.parameters), try test.reference().floats("group_sizes"), "peft's LoRA+ groups")
            return try Self.loraPlusRunner(model, adapters, ratio: 8)
        }
    }

    // MARK: rank_pattern / alpha_pattern (in the sorted order peft's save_pretrained writes)

    static let patternsLlama = LoRAConfig(r: 4, loraAlpha: 8, targetModules: .allLinear,
                                          rankPattern: [(#"layers\.1\.mlp\.down_proj"#, 2), ("model.layers.0.mlp.up_proj", 6), ("q_proj", 8)],
                                          alphaPattern: [(#".*\.1\.self_attn\.o_proj"#, 2), ("v_proj", 32)])
    static let patternsQwen2 = LoRAConfig(r: 4, loraAlpha: 8, targetModules: .names(["q_proj", "k_proj", "v_proj", "gate_proj"]),
                                          useRslora: true,
                                          rankPattern: [("^model.layers.0.self_attn.k_proj", 2), ("proj", 6)], alphaPattern: [("gate_proj", 3)])

    func testRankAndAlphaPatternsOnLlama() throws {
        try run(Case(name: "patterns-llama", family: "llama"), config: Self.patternsLlama)
    }

    /// With rsLoRA; a key anchored with ^, and one ("proj") that matches no module as peft reads it.
    func testRankAndAlphaPatternsWithRsLoRAOnQwen2() throws {
        try run(Case(name: "patterns-qwen2", family: "qwen2"), config: Self.patternsQwen2)
    }

    /// peft's get_pattern_key: the key matches the end of the name after a dotted prefix, as a regular expression.
    func testPatternKeysMatchAsPeftDoes() {
        let q = "model.layers.0.self_attn.q_proj"
        XCTAssertEqual(ModulePattern.firstMatch(["q_proj"], q), "q_proj")
        XCTAssertNil(ModulePattern.firstMatch(["_proj.x", "self_attn.q", "q_pro", "elf_attn.q_proj"], q), "whole dotted parts only")
        XCTAssertEqual(ModulePattern.firstMatch(["k_proj", #"layers\.0\..*"#, "q_proj"], q), #"layers\.0\..*"#, "first match in order")
        XCTAssertEqual(ModulePattern.firstMatch(["^model.layers.0.self_attn.q_proj"], q), "^model.layers.0.self_attn.q_proj")
        XCTAssertNil(ModulePattern.firstMatch(["^layers.0.self_attn.q_proj"], q), "^ anchors at the name's start")
        XCTAssertEqual(ModulePattern.firstMatch(["self_attn.(q|v)_proj"], q), "self_attn.(q|v)_proj")
        XCTAssertEqual(Self.patternsLlama.rank(of: "model.layers.1.mlp.down_proj"), 2)
        XCTAssertEqual(Self.patternsLlama.rank(of: "model.layers.0.mlp.down_proj"), 4)
        XCTAssertEqual(Self.patternsLlama.alpha(of: "model.layers.1.self_attn.o_proj"), 2)
        XCTAssertEqual(Self.patternsQwen2.scaling(of: "model.layers.0.self_attn.k_proj"), Float(8 / 2.0.squareRoot()))
        // "proj" is no whole dotted part of any name, so it matches nothing (peft warns of such keys).
        XCTAssertEqual(Self.patternsQwen2.scaling(of: "model.layers.1.mlp.gate_proj"), Float(3 / 4.0.squareRoot()))
        XCTAssertNil(ModulePattern.firstMatch(["proj"], "model.layers.1.mlp.gate_proj"))
        XCTAssertThrowsError(try LoRAAdapters.check(LoRAConfig(rankPattern: [("q_proj(", 8)]))) { error in
            XCTAssertTrue("\(error)".contains("rank_pattern") && "\(error)".contains("q_proj("), "\(error)")
        }
        XCTAssertThrowsError(try LoRAAdapters.check(LoRAConfig(rankPattern: [("q_proj", 0)]))) { XCTAssertTrue("\($0)".contains("positive")) }
    }
}
