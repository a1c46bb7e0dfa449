import Foundation
import TailorAdapters
import TailorModels
import TailorTensor
import TailorTestSupport
import XCTest

/// Several named adapters on one base (peft's add_adapter / set_adapter / disable_adapter / unload):
/// the active one computes exactly what it computes attached alone, disabled is the base, and
/// unload gives back the base exactly.
final class LoRAAdapterSetTests: XCTestCase {
    let backend: Backend = try! CPUBackend()
    let folder = TestPaths.fixture("models/qwen2")
    let batch = try! TokenBatch(sequences: [(ids: [9, 4, 77, 31, 2, 50, 8], labels: [-100, -100, 77, 31, 2, 50, 8])])

    func logits(_ model: CausalLM) throws -> [Float] { try backend.download(model.logits(batch)) }

    /// x: LoRA only (B non-zero from init false); y: LoRA on other modules, every bias, and a
    /// changed lm_head copy (which unties the tied table).
    let configX = LoRAConfig(r: 4, loraAlpha: 8, targetModules: .names(["q_proj", "v_proj"]), initLoraWeights: .linearDefault)
    let configY = LoRAConfig(r: 2, loraAlpha: 4, targetModules: .names(["v_proj", "down_proj"]), initLoraWeights: .linearDefault,
                             bias: .all, modulesToSave: ["lm_head"])

    func perturb(_ adapters: LoRAAdapters) throws {
        var rng = SeededRandom(seed: 4)
        for tensor in adapters.tensors {
            let values = try backend.download(tensor.value)
            try backend.copy(try backend.upload(zip(values, rng.floats(values.count, scale: 0.3)).map { $0 + $1 }, shape: tensor.value.shape, dtype: .f32),
                             into: tensor.value)
        }
    }

    func testActiveAdapterEqualsItAloneDisabledEqualsBaseUnloadRestoresBase() throws {
        let model = try CausalLM.load(folder: folder, backend: backend)
        let base = try logits(model)
        let set = LoRAAdapterSet(model: model)
        let x = try set.addAdapter("x", config: configX, seed: 1)
        let y = try set.addAdapter("y", config: configY, seed: 2)
        try perturb(y)
        XCTAssertNil(set.activeAdapter, "add_adapter does not activate")
        XCTAssertEqual(try logits(model), base)

        // Each adapter attached alone to a fresh base.
        let solo = try CausalLM.load(folder: folder, backend: backend)
        try x.attach(to: solo)
        let onlyX = try logits(solo)
        try x.detach(from: solo)
        try y.attach(to: solo)
        let onlyY = try logits(solo)
        try y.detach(from: solo)
        XCTAssertGreaterThan(relativeError(onlyX, base), 1e-3)
        XCTAssertGreaterThan(relativeError(onlyY, onlyX), 1e-3)

        try set.setAdapter("x")
        XCTAssertEqual(try logits(model), onlyX, "x active")
        try set.setAdapter("y")
        XCTAssertEqual(try logits(model), onlyY, "y active")
        XCTAssertEqual(model.lmHead.name, CausalLM.lmHeadName, "y's lm_head copy is in place")
        let disabled = try set.withAdapterDisabled { try logits(model) }
        XCTAssertEqual(disabled, base, "disable_adapter: the base")
        XCTAssertEqual(try logits(model), onlyY, "y active again after the scope")
        try set.setAdapter("x")
        XCTAssertEqual(try logits(model), onlyX, "back to x: y's bias and copy are gone")
        XCTAssertThrowsError(try set.setAdapter("z")) { XCTAssertTrue("\($0)".contains("'z'") && "\($0)".contains("x, y"), "\($0)") }

        try set.unload()
        XCTAssertEqual(try logits(model), base, "unload: the base exactly")
        XCTAssertEqual(model.lmHead.name, CausalLM.embedName, "tied again")
        XCTAssertNil(model.linear(module: "model.layers.0.self_attn.q_proj")?.adapter)
        XCTAssertTrue(set.names.isEmpty)
    }
}
