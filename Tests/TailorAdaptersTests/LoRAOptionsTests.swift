import Foundation
import TailorAdapters
import TailorFormats
import TailorModels
import TailorTensor
import TailorTestSupport
import XCTest

/// init_lora_weights (distributions as peft 0.21.2 draws them, written and read back) and
/// option errors. (The recipe keys and a save + resume: LoRAOptionsTrainingTests.)
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
}
