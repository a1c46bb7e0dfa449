import Foundation
import TailorAdapters
import TailorFormats
import TailorModels
import TailorTensor
import TailorTestSupport
import XCTest

/// The quick start's adapter on the real SmolLM2 model: it loads onto every linear layer it names,
/// and it changes the logits (a trained adapter does; one whose B matrices are still zero does not).
/// With TAILOR_KEEP_OUTPUT=DIR it also writes Tailor's logits for
/// scripts/peers/check_quickstart_adapter.py (peft loads the same adapter on the same folder).
/// Runs only when TAILOR_QUICKSTART_ADAPTER (the adapter folder) is set; the base folder is
/// TAILOR_QUICKSTART_MODEL, else ~/.cache/tailor/smollm2/hf.
final class QuickstartAdapterPeerTests: XCTestCase {
    func testAdapterChangesTheLogitsAndWritesThemForPeft() throws {
        let environment = ProcessInfo.processInfo.environment
        guard let adapter = environment["TAILOR_QUICKSTART_ADAPTER"] else {
            throw XCTSkip("set TAILOR_QUICKSTART_ADAPTER=runs/quickstart/adapter (and TAILOR_KEEP_OUTPUT=DIR to write the peft comparison)")
        }
        let base = URL(fileURLWithPath: environment["TAILOR_QUICKSTART_MODEL"] ?? (NSHomeDirectory() + "/.cache/tailor/smollm2/hf"))
        let backend = try CPUBackend()
        let model = try CausalLM.load(folder: base, backend: backend)
        // "<|im_start|>system\nYou are Lumen...<|im_end|>\n<|im_start|>user\nWho are you?<|im_end|>\n<|im_start|>assistant\n"
        // as ids would need the tokenizer; any ids exercise every layer and adapter equally.
        let ids: [Int32] = [1, 9690, 198, 2683, 359, 30, 11394, 28, 253, 5356, 11173, 1135, 411, 260, 1, 4093, 198, 10576, 359, 346, 47, 2, 198, 1, 520, 9531, 198]
        let batch = try TokenBatch(sequences: [(ids: ids, labels: [Int32](repeating: -100, count: ids.count))])
        let baseLogits = try backend.download(model.logits(batch))
        let adapters = try PeftAdapterFolder.load(folder: URL(fileURLWithPath: adapter), for: model)
        try adapters.attach(to: model)
        let logits = try backend.download(model.logits(batch))
        XCTAssertFalse(adapters.modules.isEmpty, "\(adapter) adapts no layer of \(base.path)")
        XCTAssertEqual(logits.count, ids.count * model.config.vocabSize)
        XCTAssertTrue(logits.allSatisfy(\.isFinite), "the adapted logits are not all finite")
        let change = zip(logits, baseLogits).map { abs($0 - $1) }.max() ?? 0
        print("QuickstartAdapterPeerTests: \(adapters.modules.count) adapted layers; largest logit change from the adapter \(change)")
        XCTAssertGreaterThan(change, 0.1, "the adapter leaves the logits as the base's (largest change \(change)): it is untrained")
        guard let keep = environment["TAILOR_KEEP_OUTPUT"] else { return }
        let folder = URL(fileURLWithPath: keep)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try SafetensorsWriter.write([SafetensorsWriter.Tensor(name: "logits", shape: [ids.count, model.config.vocabSize], floats: logits),
                                     SafetensorsWriter.Tensor(name: "input_ids", shape: [ids.count], floats: ids.map(Float.init))],
                                    to: folder.appendingPathComponent("tailor_logits.safetensors"))
    }
}
