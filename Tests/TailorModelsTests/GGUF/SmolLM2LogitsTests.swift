import Foundation
import TailorModels
import TailorTensor
import TailorTestSupport
import XCTest

/// The real SmolLM2-135M-Instruct GGUF (Q4_1/Q8_0) against transformers loading the same file
/// (Tests/Fixtures/smollm2/logits.json from scripts/reference/make_smollm2_fixtures.py): at the first, middle and
/// last position of an English, a Chinese and a code prompt, max |Δ| ≤ 1e-4 · max |ref| over the stored logits
/// (every 32nd vocabulary entry and the 32 largest). Skips, saying why, when the model cannot be fetched.
final class SmolLM2LogitsTests: XCTestCase {
    struct Fixture: Decodable {
        struct Row: Decodable { let position: Int; let max_abs: Float; let indices: [Int]; let values: [Float] }
        struct Case: Decodable { let name: String; let ids: [Int32]; let rows: [Row] }
        let cases: [Case]
    }

    func testLogitsMatchTransformers() throws {
        let url = try SmolLM2File.locate()
        let backend = try CPUBackend(kernels: .fast)
        try check(try CausalLM.load(gguf: url, backend: backend), backend: backend, label: "decoded to f32")
    }

    /// The same file with its Q4_1 / Q8_0 blocks kept as the frozen weights (LoRA on the GGUF as it is).
    func testLogitsFromTheBlocksAsStoredMatchTransformers() throws {
        let url = try SmolLM2File.locate()
        let backend = try CPUBackend(kernels: .fast)
        let model = try CausalLM.load(gguf: url, backend: backend, blocks: GGUFBlockWeights())
        let types = Dictionary(grouping: model.namedParameters.compactMap(\.tensor.dtype.ggmlBlockType), by: { $0 }).mapValues(\.count)
        XCTAssertEqual(types, [.q4_1: 210, .q8_0: 1], "the file's 210 Q4_1 linears and its Q8_0 token embedding")
        try check(model, backend: backend, label: "ggml blocks")
    }

    func check(_ model: CausalLM, backend: CPUBackend, label: String) throws {
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: TestPaths.fixture("smollm2/logits.json")))
        XCTAssertEqual(model.config.layerCount, 30)
        XCTAssertEqual(model.config.kvHeadCount, 3)
        XCTAssertTrue(model.config.tieWordEmbeddings)
        let vocab = model.config.vocabSize
        var worst = 0.0
        for c in fixture.cases {
            let batch = try TokenBatch(sequences: [(c.ids, c.ids)])
            let logits = try backend.download(model.logits(batch))  // [T, V]
            for row in c.rows {
                var maxDelta: Float = 0
                for (k, index) in row.indices.enumerated() {
                    maxDelta = max(maxDelta, abs(logits[row.position * vocab + index] - row.values[k]))
                }
                let relative = Double(maxDelta / row.max_abs)
                worst = max(worst, relative)
                XCTAssertLessThanOrEqual(relative, 1e-4, "\(label) \(c.name) position \(row.position): max |Δ| \(maxDelta), max |ref| \(row.max_abs)")
            }
        }
        print("SmolLM2 logits (\(label)) vs transformers: worst max|Δ|/max|ref| = \(worst)")
    }
}
