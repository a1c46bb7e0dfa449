import Foundation
import TailorAdapters
import TailorFormats
import TailorModels
import TailorTensor
import TailorTestSupport
import XCTest

/// merge_and_unload: the merged model computes what base + adapter computed, and the folder it
/// writes loads back (TAILOR_KEEP_OUTPUT=DIR keeps it for scripts/peers/check_merged_folder.py).
final class MergeTests: XCTestCase {
    func testMergedFolderReproducesAdapterLogits() throws {
        let backend = try CPUBackend()
        let base = TestPaths.fixture("models/qwen2")
        let model = try CausalLM.load(folder: base, backend: backend)
        var rng = SeededRandom(seed: 5)
        let adapters = try LoRAAdapters.attach(to: model, config: LoRAConfig(r: 4, loraAlpha: 8, targetModules: .allLinear)) { _, shape in
            rng.floats(shape.reduce(1, *), scale: 0.2)
        }
        let batch = try TokenBatch(sequences: [(ids: [9, 4, 77, 31, 2, 50, 8], labels: [Int32](repeating: -100, count: 7))])
        let withAdapter = try backend.download(model.logits(batch))
        let baseOnly = try CausalLM.load(folder: base, backend: backend)
        XCTAssertGreaterThan(relativeError(try backend.download(baseOnly.logits(batch)), withAdapter), 1e-2, "the adapter must matter")

        try adapters.mergeAndUnload(into: model)
        XCTAssertNil(model.linear(module: "model.layers.0.self_attn.q_proj")?.adapter)
        assertClose(try backend.download(model.logits(batch)), withAdapter, rtol: 1e-5, atol: 1e-5, "merged in memory")

        let keep = ProcessInfo.processInfo.environment["TAILOR_KEEP_OUTPUT"].map { URL(fileURLWithPath: $0) }
        let folder = keep ?? FileManager.default.temporaryDirectory.appendingPathComponent("tailor-merged-\(UUID().uuidString)")
        defer { if keep == nil { try? FileManager.default.removeItem(at: folder) } }
        try ModelFolderWriter.write(model, baseFolder: base, to: folder)
        let reloaded = try CausalLM.load(folder: folder, backend: backend)
        assertClose(try backend.download(reloaded.logits(batch)), withAdapter, rtol: 1e-5, atol: 1e-5, "merged folder")
        if keep != nil {
            try SafetensorsWriter.write([SafetensorsWriter.Tensor(name: "logits", shape: [7, 96], floats: withAdapter),
                                         SafetensorsWriter.Tensor(name: "input_ids", shape: [7], floats: batch.inputIds.map(Float.init))],
                                        to: folder.appendingPathComponent("tailor_logits.safetensors"))
        }
    }
}
