import Foundation
import TailorAdapters
import TailorModels
import TailorTensor
import TailorTestSupport
import TailorTraining
import XCTest

/// The LoRA options as recipe keys, and the trainable tensors of bias / modules_to_save
/// surviving a save and a resume.
final class LoRAOptionsTrainingTests: XCTestCase {
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
        XCTAssertThrowsError(try RecipeKeys.apply("init_lora_weights", .string("loftq"), to: &recipe)) { error in
            XCTAssertTrue("\(error)".contains("init_lora_weights") && "\(error)".contains("gaussian"), "\(error)")
        }
        let yaml = RecipeYAML.render(recipe)
        XCTAssertTrue(yaml.contains("bias: lora_only") && yaml.contains("modules_to_save: [embed_tokens, lm_head]"), yaml)
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
