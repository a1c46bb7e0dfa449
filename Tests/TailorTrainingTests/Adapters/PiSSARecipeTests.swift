import Foundation
import TailorAdapters
import TailorModels
import TailorTensor
import TailorTestSupport
import TailorTraining
import XCTest

/// The PiSSA / OLoRA recipe keys (peft's init_lora_weights, LLaMA-Factory's pissa_init, pissa_iter,
/// pissa_convert), their bad inputs, and what a run with pissa_convert writes.
final class PiSSARecipeTests: XCTestCase {
    func recipe(_ pairs: [(String, RecipeValue)]) throws -> TrainRecipe {
        var recipe = TrainRecipe()
        _ = try RecipeKeys.apply([("model_name_or_path", .string("m")), ("dataset", .string("d")), ("output_dir", .string("o"))] + pairs,
                                 to: &recipe)
        return recipe
    }

    func assertInvalid(_ pairs: [(String, RecipeValue)], mentions words: [String], line: UInt = #line) {
        XCTAssertThrowsError(try { let r = try recipe(pairs); try r.validate() }(), line: line) { error in
            for word in words { XCTAssertTrue("\(error)".contains(word), "'\(word)' in: \(error)", line: line) }
        }
    }

    func testInitNames() throws {
        for (text, kind) in [("pissa", LoRAInit.pissa), ("pissa_niter_16", .pissaNiter(16)), ("olora", .olora), ("OLoRA", .olora),
                             ("gaussian", .gaussian)] {
            let made = try recipe([("init_lora_weights", .string(text))])
            XCTAssertEqual(made.lora.initLoraWeights, kind, text)
            XCTAssertNoThrow(try made.validate(), text)
            XCTAssertTrue(RecipeYAML.render(made).contains("init_lora_weights: \(kind.name)"), text)
        }
        for (text, words) in [("pissa_niter_0", ["init_lora_weights", "power iteration", "pissa_niter_K"]),
                              ("pissa_niter_x", ["pissa_niter_K", "'pissa_niter_x'"]), ("pisa", ["olora", "LoftQ"]),
                              ("loftq", ["LoftQ"])] {
            XCTAssertThrowsError(try recipe([("init_lora_weights", .string(text))]), text) { error in
                for word in words { XCTAssertTrue("\(error)".contains(word), "'\(word)' in: \(error)") }
            }
        }
    }

    /// LLaMA-Factory: pissa_init → pissa_niter_<pissa_iter> (default 16), pissa_iter -1 → pissa.
    func testLlamaFactoryKeys() throws {
        XCTAssertEqual(try recipe([("pissa_init", .bool(true))]).lora.initLoraWeights, .pissaNiter(16))
        XCTAssertEqual(try recipe([("pissa_iter", .number(-1)), ("pissa_init", .bool(true))]).lora.initLoraWeights, .pissa)
        XCTAssertEqual(try recipe([("pissa_init", .bool(true)), ("pissa_iter", .number(4))]).lora.initLoraWeights, .pissaNiter(4))
        XCTAssertEqual(try recipe([("pissa_iter", .number(4))]).lora.initLoraWeights, .kaiming, "pissa_iter alone changes nothing")
        // Both given and agreeing is fine, in either order; disagreeing is an error naming both.
        XCTAssertNoThrow(try recipe([("init_lora_weights", .string("pissa_niter_16")), ("pissa_init", .bool(true))]).validate())
        XCTAssertNoThrow(try recipe([("pissa_init", .bool(true)), ("pissa_iter", .number(-1)), ("init_lora_weights", .string("pissa"))]).validate())
        assertInvalid([("init_lora_weights", .string("olora")), ("pissa_init", .bool(true))],
                      mentions: ["init_lora_weights", "pissa_init", "olora", "pissa_niter_16"])
        assertInvalid([("pissa_init", .bool(true)), ("init_lora_weights", .string("pissa"))], mentions: ["pissa_init", "pissa_niter_16"])
        assertInvalid([("pissa_init", .bool(true)), ("pissa_iter", .number(0))], mentions: ["pissa_iter", "power iteration"])
        XCTAssertThrowsError(try recipe([("pissa_iter", .number(-2))])) { XCTAssertTrue("\($0)".contains("pissa_iter"), "\($0)") }
        assertInvalid([("pissa_init", .bool(true)), ("finetuning_type", .string("full"))], mentions: ["pissa_init", "finetuning_type"])
    }

    func testBadCombinations() {
        assertInvalid([("init_lora_weights", .string("pissa")), ("quantization_bit", .number(4))],
                      mentions: ["init_lora_weights", "quantization_bit", "4-bit"])
        assertInvalid([("init_lora_weights", .string("olora")), ("quantization_bit", .number(4))], mentions: ["OLoRA", "quantization_bit"])
        assertInvalid([("pissa_convert", .bool(true))], mentions: ["pissa_convert", "init_lora_weights"])
        assertInvalid([("pissa_init", .bool(true)), ("pissa_convert", .bool(true)), ("use_dora", .bool(true))], mentions: ["pissa_convert", "DoRA"])
        assertInvalid([("pissa_init", .bool(true)), ("pissa_convert", .bool(true)), ("modules_to_save", .string("lm_head"))],
                      mentions: ["pissa_convert", "modules_to_save"])
        assertInvalid([("init_lora_weights", .string("olora")), ("pissa_convert", .bool(true)), ("use_rslora", .bool(true)),
                       ("rank_pattern", .string("q_proj=2"))], mentions: ["pissa_convert", "use_rslora"])
        assertInvalid([("pissa_init", .bool(true)), ("pissa_convert", .bool(true)), ("adapter_name_or_path", .string("earlier"))],
                      mentions: ["pissa_convert", "adapter_name_or_path", "initial"])
    }

    /// r above min(in, out) has no r singular vectors; a quantized base is refused by name.
    func testInitRefusesWhatItCannotDecompose() throws {
        let backend = try CPUBackend()
        let model = try CausalLM.load(folder: TestPaths.fixture("models/llama"), backend: backend)
        let inner = try XCTUnwrap(model.linear(module: "model.layers.0.self_attn.k_proj"))
        let tooBig = min(inner.inFeatures, inner.outFeatures) + 1
        XCTAssertThrowsError(try LoRAAdapters.make(for: model, config: LoRAConfig(r: tooBig, targetModules: .names(["k_proj"]), initLoraWeights: .pissa))) {
            XCTAssertTrue("\($0)".contains("'r'") || "\($0)".contains("r:") || "\($0)".contains("lower r"), "\($0)")
        }
        let quantized = try CausalLM.load(folder: TestPaths.fixture("models/llama"), backend: backend,
                                          quantization: FourBitQuantization(format: .nf4, blocksize: 64))
        XCTAssertThrowsError(try LoRAAdapters.make(for: quantized, config: LoRAConfig(r: 2, targetModules: .names(["q_proj"]), initLoraWeights: .pissa))) {
            XCTAssertTrue("\($0)".contains("float base weights") && "\($0)".contains("nf4"), "\($0)")
        }
    }

    /// PiSSA under DoRA (peft allows it): the magnitude is taken after the init, ‖residual + s·B·A‖ = ‖W‖,
    /// so the fresh adapter keeps the output.
    func testPiSSAWithDoRAKeepsTheOutput() throws {
        let backend = try CPUBackend()
        let model = try CausalLM.load(folder: TestPaths.fixture("models/qwen2"), backend: backend)
        let batch = try TokenBatch(sequences: [([1, 5, 9, 3], [-100, -100, -100, -100])])
        let before = try backend.download(model.logits(batch))
        let adapters = try LoRAAdapters.attach(to: model, config: LoRAConfig(r: 2, loraAlpha: 4, targetModules: .names(["q_proj", "down_proj"]),
                                                                             initLoraWeights: .pissa, useDora: true))
        assertClose(try backend.download(model.logits(batch)), before, rtol: 1e-4, atol: 1e-5)
        try adapters.detach(from: model)
        XCTAssertEqual(try backend.download(model.logits(batch)), before, "detached: the original base")
    }
}
