import Foundation
import TailorFormats
import TailorInference
import TailorModels
import TailorTensor
import TailorTestSupport
import XCTest

/// What a reference fixture's peft adapter gives in generation (make_ia3_fixtures.py,
/// make_adalora_fixtures.py, make_prompt_learning_fixtures.py): with `adapter` active in `library`, the KV-cache decode one token at
/// a time gives the fixture's logits of its first sample, and greedy generation after its first 5
/// tokens gives transformers + peft's tokens. Returns the first sample's ids.
@discardableResult
func assertDecodesAndGeneratesAsPeft(_ model: CausalLM, library: AdapterLibrary, adapter: String, fixture folder: URL, label: String,
                                     file: StaticString = #filePath, line: UInt = #line) throws -> [Int32] {
    let backend = model.backend
    let data = try SafetensorsFile(url: folder.appendingPathComponent("data.safetensors"))
    let ids = try data.floats("input_ids").prefix(Int(try data.floats("lengths")[0])).map { Int32($0) }  // allowed: fixture token ids and lengths, small whole numbers
    let reference = try SafetensorsFile(url: folder.appendingPathComponent("reference.safetensors"))
    let expected = try reference.floats("logits")
    let vocab = model.config.vocabSize
    // Virtual tokens (prompt tuning) take the first positions of the slot.
    let cache = try KVCache(config: model.config, slots: 1, capacity: ids.count + (model.virtualTokens?.count ?? 0), backend: backend)
    for (position, id) in ids.enumerated() {
        let logits = try backend.download(model.decode(ids: [id], slots: [0], logitRows: [0], cache: cache))
        // 1e-5 relative to the largest logit (f32 sums in another order differ by a few ulps of it).
        assertClose(logits, Array(expected[(position * vocab)..<((position + 1) * vocab)]), rtol: 1e-5,
                    atol: 1e-5 * (expected.map(abs).max() ?? 1), "\(label): decoded logits at position \(position)", file: file, line: line)
    }
    // Greedy generation with the KV cache, as generate() with peft gives it.
    let greedy = try reference.floats("greedy").map { Int32($0) }  // allowed: token ids saved as floats, small whole numbers
    let generator = Generator(model: model, adapters: library)
    var parameters = GenerationParameters()
    parameters.maxNewTokens = greedy.count
    let result = try generator.generate(prompts: [Array(ids.prefix(5))], parameters: parameters, adapter: .named(adapter))
    XCTAssertEqual(result.first?.tokens, greedy, "\(label): greedy tokens", file: file, line: line)
    return ids
}
