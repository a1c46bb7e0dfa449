import TailorAdapters
import TailorModels
import TailorTensor
import TailorTestSupport
import TailorTraining
import XCTest

/// Training with a `LoRAAdapterSet`: the steps train the active adapter only.
final class LoRAAdapterSetTrainingTests: XCTestCase {
    /// Training steps the active adapter only; the other keeps its values.
    func testTrainingTrainsTheActiveAdapter() throws {
        let backend: Backend = try CPUBackend()
        let batch = try TokenBatch(sequences: [(ids: [9, 4, 77, 31, 2, 50, 8], labels: [-100, -100, 77, 31, 2, 50, 8])])
        let model = try CausalLM.load(folder: TestPaths.fixture("models/qwen2"), backend: backend)
        let set = LoRAAdapterSet(model: model)
        // x: LoRA only; y: LoRA on other modules, every bias, and an lm_head copy (as in LoRAAdapterSetTests).
        let x = try set.addAdapter("x", config: LoRAConfig(r: 4, loraAlpha: 8, targetModules: .names(["q_proj", "v_proj"]),
                                                            initLoraWeights: .linearDefault), seed: 1)
        let y = try set.addAdapter("y", config: LoRAConfig(r: 2, loraAlpha: 4, targetModules: .names(["v_proj", "down_proj"]),
                                                            initLoraWeights: .linearDefault, bias: .all, modulesToSave: ["lm_head"]),
                                   seed: 2)
        try set.setAdapter("y")
        let xBefore = try x.parameters.map { try backend.download($0.value) }
        let yBefore = try y.parameters.map { try backend.download($0.value) }
        let runner = try StepRunner(model: model, parameters: y.parameters,
                                    schedule: LRSchedule(kind: .constant, baseLR: 1e-2, warmupSteps: 0, totalSteps: 2))
        _ = try runner.step([batch])
        _ = try runner.step([batch])
        XCTAssertEqual(try x.parameters.map { try backend.download($0.value) }, xBefore, "x is not trained")
        for (parameter, before) in zip(y.parameters, yBefore) {
            XCTAssertNotEqual(try backend.download(parameter.value), before, "\(parameter.name) trained")
        }
        try set.deleteAdapter("y")
        XCTAssertNil(set.activeAdapter)
        XCTAssertEqual(set.names, ["x"])
        XCTAssertNil(model.linear(module: "model.layers.0.mlp.down_proj")?.adapter, "y's only module is bare")
    }
}
