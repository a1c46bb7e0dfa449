import Foundation
import TailorAdapters
import TailorModels
import TailorTensor
import TailorTestSupport
import XCTest

/// `tailor train` with LLaMA-Factory's PiSSA keys: the dry run's trainable count (peft's, the same
/// as plain LoRA's), and a run with pissa_convert writing the PiSSA adapter, pissa_init/ and
/// pissa_converted/, the converted adapter on the original base computing what the PiSSA adapter does.
final class PiSSATrainTests: XCTestCase {
    func train(_ keys: String, dryRun: Bool, in folder: URL) throws -> (Int32, String) {
        guard let binary = TestPaths.tailorBinary else { throw XCTSkip("the tailor executable is not built beside the tests") }
        let recipe = try LoRAVariantsDryRunTests.writeRecipe(in: folder, keys: "max_steps: 2\nlearning_rate: 0.01\n" + keys)
        return try TestPaths.run(binary, ["train", recipe.path] + (dryRun ? ["--dry-run"] : []))
    }

    func testDryRunCountsPeftsTrainableParameters() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-pissa-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        for keys in ["pissa_init: true\n", "init_lora_weights: olora\n"] {
            let (status, output) = try train(keys, dryRun: true, in: folder)
            XCTAssertEqual(status, 0, output)
            // A and B of every Linear, as plain LoRA (peft's print_trainable_parameters: LoRAPiSSAReferenceTests checks the fixtures' counts).
            XCTAssertTrue(output.contains("trainable params: 4096 ||"), output)
        }
        let (status, output) = try train("pissa_init: true\ninit_lora_weights: olora\n", dryRun: true, in: folder)
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("pissa_init") && output.contains("init_lora_weights"), output)
    }

    func testPiSSAConvertWritesTheInitialAndTheConvertedAdapter() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-pissa-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let (status, output) = try train("pissa_init: true\npissa_iter: -1\npissa_convert: true\n", dryRun: false, in: folder)
        XCTAssertEqual(status, 0, output)
        let out = folder.appendingPathComponent("out")
        let adapterConfig = try PeftAdapterFolder.readConfig(folder: out)
        XCTAssertEqual(adapterConfig.initLoraWeights, .pissa, "output_dir holds the PiSSA adapter as peft saves it")
        let initial = try PeftAdapterFolder.readConfig(folder: out.appendingPathComponent("pissa_init"))
        XCTAssertEqual(initial.initLoraWeights, .kaiming, "pissa_init/ is written with init_lora_weights true")
        let converted = try PeftAdapterFolder.readConfig(folder: out.appendingPathComponent("pissa_converted"))
        XCTAssertEqual([converted.r, Int(converted.loraAlpha)], [8, 16])  // allowed: a whole lora_alpha read back
        XCTAssertEqual(converted.initLoraWeights, .kaiming)

        let backend = try CPUBackend()
        let modelFolder = TestPaths.fixture("generation/chat-llama")
        let batch = try TokenBatch(sequences: [([1, 5, 9, 3, 7], [-100, -100, -100, -100, -100])])
        func logits(_ adapter: URL) throws -> [Float] {
            let model = try CausalLM.load(folder: modelFolder, backend: backend)
            try PeftAdapterFolder.load(folder: adapter, for: model).attach(to: model)
            return try backend.download(model.logits(batch))
        }
        let pissa = try logits(out), plain = try logits(out.appendingPathComponent("pissa_converted"))
        let base = try backend.download(try CausalLM.load(folder: modelFolder, backend: backend).logits(batch))
        XCTAssertGreaterThan(zip(pissa, base).map { abs($0 - $1) }.max() ?? 0, 1e-4, "training moved the model")
        assertClose(plain, pissa, rtol: 1e-5, atol: 1e-5, "the converted adapter on the original base = the PiSSA adapter")
        // pissa_init/ on the original base is the base model (its B·A is subtracted nowhere: it is the init's product).
        let initLogits = try logits(out.appendingPathComponent("pissa_init"))
        XCTAssertGreaterThan(zip(initLogits, base).map { abs($0 - $1) }.max() ?? 0, 0, "pissa_init holds the init's non-zero B·A")
    }
}
