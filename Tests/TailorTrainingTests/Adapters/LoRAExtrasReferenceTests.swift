import Foundation
import TailorAdapters
import TailorFormats
import TailorModels
import TailorTensor
import TailorTestSupport
import TailorTraining
import TailorTrainingTestSupport
import XCTest

/// peft's `bias` and `modules_to_save` against transformers.Trainer + peft 0.21.2
/// (scripts/reference/make_lora_extras_fixtures.py): 5 steps from peft's initial adapter, then
/// the trained tensors, Tailor's adapter folder, peft's folder read back, and merge.
final class LoRAExtrasReferenceTests: XCTestCase {
    func run(_ name: String, family: String, config: LoRAConfig, untied: Bool = false) throws {
        let folder = TestPaths.fixture("lora-extras/\(name)")
        let modelFolder = TestPaths.fixture("models/\(family)")
        let backend = try CPUBackend()
        let model = try CausalLM.load(folder: modelFolder, backend: backend)
        let initial = try SafetensorsFile(url: folder.appendingPathComponent("init/adapter_model.safetensors"))
        let adapters = try LoRAAdapters.attach(to: model, config: config) { name, _ in
            try initial.floats("base_model.model." + name)
        }
        // The same tensors under the same keys as peft, starting from the base's values.
        var keys: [String] = adapters.modules.flatMap { [PeftAdapterLayout.key($0.lora.aName), PeftAdapterLayout.key($0.lora.bName)] }
        for tensor in adapters.tensors {
            keys += tensor.peftKeys
            for key in tensor.peftKeys {
                XCTAssertEqual(try backend.download(tensor.value), try initial.floats(key), "\(name): \(key) starts as peft's")
            }
        }
        XCTAssertEqual(Set(keys), Set(initial.tensorNames), "\(name): the tensors peft saves")
        XCTAssertEqual(model.lmHead.name == CausalLM.lmHeadName, untied, "\(name): output layer untied by a copy")

        // Trainer's weight-decay groups, by peft parameter name reduced to the Hugging Face name.
        let reference = try SafetensorsFile(url: folder.appendingPathComponent("reference.safetensors"))
        let decayJSON = try XCTUnwrap(reference.metadata["decay"]?.data(using: .utf8))
        let decay = try XCTUnwrap(JSONSerialization.jsonObject(with: decayJSON) as? [String: Double])
        var expectedDecay: [String: Bool] = [:]
        for (key, value) in decay {
            var hfName = String(key.dropFirst("base_model.model.".count))
            for part in [".modules_to_save.default", ".base_layer", ".default"] { hfName = hfName.replacingOccurrences(of: part, with: "") }
            expectedDecay[hfName] = value == 1
        }
        XCTAssertEqual(Set(adapters.parameters.map(\.name)), Set(expectedDecay.keys), "\(name): trainable tensors")
        for parameter in adapters.parameters {
            XCTAssertEqual(parameter.weightDecay, expectedDecay[parameter.name], "\(name): decay group of \(parameter.name)")
        }

        let batches = try PeftTrainerFixture.microBatches(folder)
        let schedule = LRSchedule(kind: .linear, baseLR: 1e-3, warmupSteps: 1, totalSteps: 5)
        let runner = try StepRunner(model: model, parameters: adapters.parameters, schedule: schedule, weightDecay: 0.1, maxGradNorm: 1.0)
        try PeftTrainerFixture.assertStepsMatchTrainer(runner, batches: batches, reference: reference, steps: 5, label: name)
        let final = try SafetensorsFile(url: folder.appendingPathComponent("final/adapter_model.safetensors"))
        for parameter in adapters.parameters {
            let trained = try backend.download(parameter.value), expected = try final.floats(adapters.peftKey(parameter.name))
            if Self.hasNoTrueGradient(parameter.name) {
                // Softmax ignores a constant added to every key's score, so a k_proj bias has a true
                // gradient of ≈ 0 (only RoPE's rotation of it leaves a trace). AdamW divides that
                // near-zero gradient by its own √v, so each step moves such an element by up to
                // lr in a direction set by rounding: its final value depends on the CPU's
                // summation order, not on the model. What is defined is that it stays within
                // Σ lr of where the reference leaves it (the logits check below covers its effect).
                let lrSum = Float((0..<5).reduce(0.0) { $0 + schedule.baseLR * schedule.multiplier(step: $1) })
                assertClose(trained, expected, rtol: 0, atol: lrSum, "\(name) final \(parameter.name) (no true gradient)")
            } else {
                assertClose(trained, expected, rtol: 1e-4, atol: 1e-5, "\(name) final \(parameter.name)")
            }
        }
        let data = try SafetensorsFile(url: folder.appendingPathComponent("data.safetensors"))
        let firstIds = try data.floats("input_ids").prefix(Int(try data.floats("lengths")[0])).map { Int32($0) }
        let first = try TokenBatch(sequences: [(firstIds, [Int32](repeating: -100, count: firstIds.count))])
        let expectedLogits = try reference.floats("logits")
        assertClose(try backend.download(model.logits(first)), expectedLogits, rtol: 1e-4, atol: 1e-5, "\(name) trained logits")

        // Tailor's folder holds what peft's holds.
        // TAILOR_KEEP_OUTPUT=DIR keeps DIR/<case> (the adapter, merged/) for a check in peft.
        let keep = ProcessInfo.processInfo.environment["TAILOR_KEEP_OUTPUT"].map { URL(fileURLWithPath: $0).appendingPathComponent(name) }
        let written = keep ?? FileManager.default.temporaryDirectory.appendingPathComponent("tailor-extras-\(UUID().uuidString)")
        defer { if keep == nil { try? FileManager.default.removeItem(at: written) } }
        try PeftAdapterWriter.write(adapters, backend: backend, to: written, baseModel: family)
        XCTAssertEqual(Set(try SafetensorsFile(url: written.appendingPathComponent(PeftAdapterLayout.weightsFile)).tensorNames), Set(final.tensorNames),
                       "\(name): keys of Tailor's adapter_model.safetensors")
        let rereadConfig = try PeftAdapterFolder.readConfig(folder: written)
        XCTAssertEqual(rereadConfig.bias, config.bias)
        XCTAssertEqual(rereadConfig.modulesToSave, config.modulesToSave)
        XCTAssertEqual(rereadConfig.ensureWeightTying, config.ensureWeightTying)

        // The base comes back exactly when the adapters leave.
        let base = try CausalLM.load(folder: modelFolder, backend: backend)
        let baseLogits = try backend.download(base.logits(first))
        try adapters.detach(from: model)
        XCTAssertEqual(try backend.download(model.logits(first)), baseLogits, "\(name): detached = base")

        // peft's trained folder, read by Tailor (inference, resume), computes peft's logits.
        let loaded = try PeftAdapterFolder.load(folder: folder.appendingPathComponent("final"), for: base)
        try loaded.attach(to: base)
        assertClose(try backend.download(base.logits(first)), expectedLogits, rtol: 1e-4, atol: 1e-5, "\(name) peft's folder in Tailor")
        try loaded.detach(from: base)
        XCTAssertEqual(try backend.download(base.logits(first)), baseLogits, "\(name): detached = base")

        // tailor merge: peft's merge_and_unload logits, from memory and from the written folder.
        let merging = try CausalLM.load(folder: modelFolder, backend: backend)
        try PeftAdapterFolder.load(folder: folder.appendingPathComponent("final"), for: merging).mergeAndUnload(into: merging)
        let mergedLogits = try reference.floats("merged_logits")
        assertClose(try backend.download(merging.logits(first)), mergedLogits, rtol: 1e-4, atol: 1e-5, "\(name) merged")
        let mergedFolder = written.appendingPathComponent("merged")
        try ModelFolderWriter.write(merging, baseFolder: modelFolder, to: mergedFolder)
        let reloaded = try CausalLM.load(folder: mergedFolder, backend: backend)
        XCTAssertEqual(reloaded.config.tieWordEmbeddings, !untied, "\(name): merged config.json tie_word_embeddings")
        assertClose(try backend.download(reloaded.logits(first)), mergedLogits, rtol: 1e-4, atol: 1e-5, "\(name) merged folder")
    }

    /// Parameters whose loss gradient is ≈ 0 by the model's symmetry, so a value after AdamW
    /// steps is rounding noise scaled to the learning rate (see `run`).
    static func hasNoTrueGradient(_ name: String) -> Bool { name.hasSuffix("self_attn.k_proj.bias") }

    func testBiasAllOnQwen2() throws {
        try run("qwen2-bias-all", family: "qwen2",
                config: LoRAConfig(r: 4, loraAlpha: 8, targetModules: .names(["q_proj", "v_proj", "down_proj"]), bias: .all))
    }

    func testBiasLoraOnlyOnQwen2() throws {
        try run("qwen2-bias-lora-only", family: "qwen2",
                config: LoRAConfig(r: 4, loraAlpha: 8, targetModules: .names(["q_proj", "o_proj"]), bias: .loraOnly))
    }

    /// Tied: the embed_tokens copy trains, lm_head keeps the frozen base table (untied).
    func testEmbedTokensCopyUntiesTheOutputLayer() throws {
        try run("llama-tied-embed", family: "llama-tied",
                config: LoRAConfig(r: 4, loraAlpha: 8, targetModules: .names(["q_proj", "v_proj"]), modulesToSave: ["embed_tokens"]),
                untied: true)
    }

    /// Tied: lm_head gets its own trained copy; the input embeddings stay the base table.
    func testLmHeadCopyOnTiedModel() throws {
        try run("llama-tied-head", family: "llama-tied",
                config: LoRAConfig(r: 4, loraAlpha: 8, targetModules: .allLinear, modulesToSave: ["lm_head"]), untied: true)
    }

    /// Tied, both named: two independent copies, plus the adapted Linears' biases.
    func testEmbedAndHeadCopiesWithLoraOnlyBias() throws {
        try run("qwen2-embed-head", family: "qwen2",
                config: LoRAConfig(r: 4, loraAlpha: 8, targetModules: .names(["q_proj", "v_proj"]), bias: .loraOnly,
                                   modulesToSave: ["embed_tokens", "lm_head"]), untied: true)
    }

    /// ensure_weight_tying: one shared copy saved under both keys; "norm" matches every norm by suffix.
    func testEnsureWeightTyingSharesOneCopy() throws {
        try run("llama-tied-ensure", family: "llama-tied",
                config: LoRAConfig(r: 4, loraAlpha: 8, targetModules: .names(["q_proj"]), modulesToSave: ["embed_tokens", "norm"],
                                   ensureWeightTying: true))
    }
}
