import Foundation
import TailorFormats
import TailorModels
import TailorTensor
import TailorTestSupport
import TailorTraining
import XCTest

/// init_lora_weights (distributions as peft 0.21.2 draws them), option errors, and the
/// trainable tensors of bias / modules_to_save surviving a save and a resume.
final class LoRAOptionsTests: XCTestCase {
    /// Mean and standard deviation of `values`.
    func moments(_ values: [Float]) -> (mean: Double, std: Double) {
        let mean = values.reduce(0.0) { $0 + Double($1) } / Double(values.count)
        let variance = values.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(values.count)
        return (mean, variance.squareRoot())
    }

    func made(_ kind: LoRAInit, r: Int) throws -> (LoRAAdapters, Backend) {
        let backend = try CPUBackend()
        let model = try CausalLM.load(folder: TestPaths.fixture("models/llama"), backend: backend)
        return (try LoRAAdapters.make(for: model, config: LoRAConfig(r: r, loraAlpha: 8, targetModules: .allLinear, initLoraWeights: kind), seed: 3), backend)
    }

    /// A [r, in] scaled by √in (kaiming-uniform's bound is 1/√in): U(-1, 1), std 1/√3.
    func scaledA(_ adapters: LoRAAdapters, _ backend: Backend) throws -> [Float] {
        try adapters.modules.flatMap { module in
            let scale = Float(module.lora.a.shape[1]).squareRoot()
            return try backend.download(module.lora.a).map { $0 * scale }
        }
    }

    func testDefaultInitIsKaimingUniformAAndZeroB() throws {
        let (adapters, backend) = try made(.kaiming, r: 8)
        let a = try scaledA(adapters, backend)
        XCTAssertGreaterThan(a.count, 4000)
        XCTAssertLessThanOrEqual(a.map(abs).max()!, 1)
        let (mean, std) = moments(a)
        XCTAssertEqual(mean, 0, accuracy: 0.05)
        XCTAssertEqual(std, 1 / 3.0.squareRoot(), accuracy: 0.02)
        for module in adapters.modules { XCTAssertTrue(try backend.download(module.lora.b).allSatisfy { $0 == 0 }) }
    }

    func testGaussianInitHasStdOneOverR() throws {
        let (adapters, backend) = try made(.gaussian, r: 8)
        let a = try adapters.modules.flatMap { try backend.download($0.lora.a) }
        let (mean, std) = moments(a)
        XCTAssertEqual(mean, 0, accuracy: 0.006)
        XCTAssertEqual(std, 1.0 / 8, accuracy: 0.004, "peft: normal_(std = 1 / r)")
        XCTAssertGreaterThan(a.map(abs).max()!, 2.5 / 8, "a normal's tails, not a uniform's")
        for module in adapters.modules { XCTAssertTrue(try backend.download(module.lora.b).allSatisfy { $0 == 0 }) }
    }

    /// init_lora_weights false: peft skips its init, so A and B keep nn.Linear's (B [out, r]: U(±1/√r)).
    func testFalseLeavesBNonZero() throws {
        let r = 16
        let (adapters, backend) = try made(.linearDefault, r: r)
        let a = try scaledA(adapters, backend)
        XCTAssertEqual(moments(a).std, 1 / 3.0.squareRoot(), accuracy: 0.02)
        let b = try adapters.modules.flatMap { try backend.download($0.lora.b) }
        let bound = 1 / Float(r).squareRoot()
        XCTAssertLessThanOrEqual(b.map(abs).max()!, bound)
        XCTAssertGreaterThan(b.map(abs).max()!, 0.95 * bound)
        let (mean, std) = moments(b)
        XCTAssertEqual(mean, 0, accuracy: 0.01)
        XCTAssertEqual(std, Double(bound) / 3.0.squareRoot(), accuracy: 0.006)
    }

    func testInitIsWrittenAndReadBack() throws {
        for (kind, json) in [(LoRAInit.kaiming, "true"), (.gaussian, "\"gaussian\""), (.linearDefault, "false")] {
            let (adapters, backend) = try made(kind, r: 2)
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-init-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: folder) }
            try PeftAdapterWriter.write(adapters, backend: backend, to: folder, baseModel: "llama")
            let text = try String(contentsOf: folder.appendingPathComponent("adapter_config.json"), encoding: .utf8)
            XCTAssertTrue(text.contains("\"init_lora_weights\": \(json)"), text)
            XCTAssertEqual(try PeftAdapterFolder.readConfig(folder: folder).initLoraWeights, kind)
        }
    }

    func testRecipeKeys() throws {
        var recipe = TrainRecipe()
        for (key, value) in [("init_lora_weights", RecipeValue.string("gaussian")), ("bias", .string("lora_only")),
                             ("modules_to_save", .string("embed_tokens, lm_head")), ("ensure_weight_tying", .bool(true))] {
            XCTAssertNil(try RecipeKeys.apply(key, value, to: &recipe), "\(key) has an effect, so no warning")
        }
        XCTAssertEqual(recipe.lora.initLoraWeights, .gaussian)
        XCTAssertEqual(recipe.lora.bias, .loraOnly)
        XCTAssertEqual(recipe.lora.modulesToSave, ["embed_tokens", "lm_head"])
        XCTAssertTrue(recipe.lora.ensureWeightTying)
        XCTAssertEqual(try { var r = TrainRecipe(); _ = try RecipeKeys.apply("init_lora_weights", .bool(false), to: &r); return r.lora.initLoraWeights }(), LoRAInit.linearDefault)
        XCTAssertThrowsError(try RecipeKeys.apply("bias", .string("some"), to: &recipe)) { error in
            XCTAssertTrue("\(error)".contains("none, all or lora_only"), "\(error)")
        }
        XCTAssertThrowsError(try RecipeKeys.apply("init_lora_weights", .string("pissa"), to: &recipe)) { error in
            XCTAssertTrue("\(error)".contains("init_lora_weights") && "\(error)".contains("gaussian"), "\(error)")
        }
        let yaml = RecipeYAML.render(recipe)
        XCTAssertTrue(yaml.contains("bias: lora_only") && yaml.contains("modules_to_save: [embed_tokens, lm_head]"), yaml)
    }

    func testModulesToSaveErrorsNameTheValidModules() throws {
        let model = try CausalLM.load(folder: TestPaths.fixture("models/qwen2"), backend: try CPUBackend())
        XCTAssertThrowsError(try LoRAAdapters.make(for: model, config: LoRAConfig(r: 2, modulesToSave: ["wte"]))) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("modules_to_save") && text.contains("'wte'") && text.contains("embed_tokens")
                          && text.contains("lm_head") && text.contains("input_layernorm"), text)
        }
        XCTAssertThrowsError(try LoRAAdapters.make(for: model, config: LoRAConfig(r: 2, targetModules: .names(["q_proj"]), modulesToSave: ["q_proj"]))) { error in
            XCTAssertTrue("\(error)".contains("target_modules adapts"), "\(error)")
        }
        XCTAssertNil(model.linear(module: "model.layers.0.self_attn.q_proj")?.adapter, "nothing attached on error")
    }

    /// What resume reads back: every trainable tensor under its peft key, biases and copies included.
    func testBiasAndCopiesSurviveSaveAndLoad() throws {
        let backend = try CPUBackend()
        let model = try CausalLM.load(folder: TestPaths.fixture("models/qwen2"), backend: backend)
        let config = LoRAConfig(r: 2, loraAlpha: 4, targetModules: .names(["q_proj", "down_proj"]), bias: .all, modulesToSave: ["lm_head"])
        let trained = try LoRAAdapters.make(for: model, config: config, seed: 1)
        var rng = SeededRandom(seed: 2)
        for parameter in trained.parameters {
            try backend.copy(try backend.upload(rng.floats(parameter.value.count, scale: 0.1), shape: parameter.value.shape, dtype: .f32),
                             into: parameter.value)
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-extras-resume-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try TrainableSet.lora(trained).save(model: model, baseFolder: nil, baseName: "qwen2", to: folder)
        let fresh = try LoRAAdapters.make(for: model, config: config, seed: 9)
        try TrainableSet.lora(fresh).load(from: folder, backend: backend)
        XCTAssertEqual(fresh.parameters.map(\.name), trained.parameters.map(\.name))
        for (a, b) in zip(fresh.parameters, trained.parameters) {
            XCTAssertEqual(try backend.download(a.value), try backend.download(b.value), a.name)
        }
        XCTAssertEqual(fresh.peftKey("model.layers.0.self_attn.q_proj.bias"), "base_model.model.model.layers.0.self_attn.q_proj.base_layer.bias")
        XCTAssertEqual(fresh.peftKey("model.layers.0.self_attn.k_proj.bias"), "base_model.model.model.layers.0.self_attn.k_proj.bias")
    }
}
