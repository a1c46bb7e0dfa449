import Foundation
import TailorInference
import TailorModels
import TailorTensor
import TailorTestSupport
import XCTest

/// Greedy generation with the KV cache against transformers.generate on the tiny models of each
/// family: each prompt alone, all prompts batched (different lengths), and with a LoRA adapter
/// whose B is not zero — 64 tokens each, identical token for token.
final class GreedyReferenceTests: XCTestCase {
    /// Step-by-step check with the cached forward: where our argmax differs from the reference,
    /// the two best reference logits must nearly tie; the reference token is fed on either way.
    /// Returns the number of steps that were near ties.
    @discardableResult
    func checkTeacherForced(_ model: CausalLM, prompts: [[Int32]], run: GenerationFixtures.Run, label: String,
                            file: StaticString = #filePath, line: UInt = #line) throws -> Int {
        let cache = try KVCache(config: model.config, slots: prompts.count,
                                capacity: prompts.map(\.count).max()! + run.tokens[0].count, backend: model.backend)
        var ids: [Int32] = [], slots: [Int] = [], rows: [Int] = []
        for (slot, prompt) in prompts.enumerated() {
            ids += prompt
            slots += Array(repeating: slot, count: prompt.count)
            rows.append(ids.count - 1)
        }
        var logits = try model.backend.download(model.decode(ids: ids, slots: slots, logitRows: rows, cache: cache))
        let vocab = model.config.vocabSize
        var ties = 0
        for step in 0..<run.tokens[0].count {
            for s in prompts.indices {
                let row = Array(logits[(s * vocab)..<((s + 1) * vocab)])
                let ours = Sampler.argmax(row), expected = Int(run.tokens[s][step])
                if ours != expected {
                    ties += 1
                    XCTAssertLessThan(run.gaps[s][step], GenerationFixtures.tieGap,
                                      "\(label) sequence \(s) step \(step): argmax \(ours), transformers \(expected) (gap \(run.gaps[s][step]))",
                                      file: file, line: line)
                }
            }
            let next = prompts.indices.map { run.tokens[$0][step] }
            logits = try model.backend.download(model.decode(ids: next, slots: Array(prompts.indices),
                                                             logitRows: Array(prompts.indices), cache: cache))
        }
        return ties
    }

    /// The Generator's own output, compared where no near tie makes the reference ambiguous.
    func checkGenerator(_ generator: Generator, prompts: [[Int32]], run: GenerationFixtures.Run, adapter: AdapterSelection = .current,
                        label: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let results = try generator.generate(prompts: prompts, parameters: GenerationFixtures.greedy(run.tokens[0].count), adapter: adapter)
        for (s, result) in results.enumerated() {
            let firstTie = run.gaps[s].firstIndex { $0 < GenerationFixtures.tieGap } ?? run.tokens[s].count
            XCTAssertEqual(Array(result.tokens.prefix(firstTie)), Array(run.tokens[s].prefix(firstTie)),
                           "\(label) sequence \(s)", file: file, line: line)
            XCTAssertEqual(result.finishReason, .length, file: file, line: line)
        }
    }

    func testGreedySinglePromptsMatchTransformers() throws {
        for family in GenerationFixtures.families {
            let fixture = try GenerationFixtures.load(GenerationFixtures.Family.self, "\(family).json")
            let model = try GenerationFixtures.model(family)
            let generator = Generator(model: model)
            for (index, prompt) in fixture.prompts.enumerated() {
                let run = GenerationFixtures.Run(tokens: [fixture.greedy.tokens[index]], gaps: [fixture.greedy.gaps[index]])
                try checkTeacherForced(model, prompts: [prompt], run: run, label: "\(family) prompt \(index)")
                try checkGenerator(generator, prompts: [prompt], run: run, label: "\(family) prompt \(index)")
            }
        }
    }

    func testBatchedPromptsOfDifferentLengthsMatchTransformers() throws {
        for family in GenerationFixtures.families {
            let fixture = try GenerationFixtures.load(GenerationFixtures.Family.self, "\(family).json")
            let model = try GenerationFixtures.model(family)
            try checkTeacherForced(model, prompts: fixture.prompts, run: fixture.batched, label: "\(family) batched")
            try checkGenerator(Generator(model: model), prompts: fixture.prompts, run: fixture.batched, label: "\(family) batched")
        }
    }

    func testReferenceKernelsGiveTheSameTokens() throws {
        let fixture = try GenerationFixtures.load(GenerationFixtures.Family.self, "qwen3.json")
        let model = try GenerationFixtures.model("qwen3", kernels: .reference)
        try checkTeacherForced(model, prompts: fixture.prompts, run: fixture.batched, label: "qwen3 batched (reference kernels)")
    }

    func testLoRAAdapterFromPeftMatchesTransformers() throws {
        for family in GenerationFixtures.families {
            let fixture = try GenerationFixtures.load(GenerationFixtures.Family.self, "\(family).json")
            let model = try GenerationFixtures.model(family)
            let library = AdapterLibrary(model: model)
            try library.load(name: "tuned", folder: GenerationFixtures.adapter(family))
            let generator = Generator(model: model, adapters: library)
            for (index, prompt) in fixture.prompts.enumerated() {
                let lora = GenerationFixtures.Run(tokens: [fixture.lora.tokens[index]], gaps: [fixture.lora.gaps[index]])
                let base = GenerationFixtures.Run(tokens: [fixture.greedy.tokens[index]], gaps: [fixture.greedy.gaps[index]])
                // Switch adapter on and off per request, without reloading the base.
                try checkGenerator(generator, prompts: [prompt], run: lora, adapter: .named("tuned"), label: "\(family) lora prompt \(index)")
                try checkTeacherForced(model, prompts: [prompt], run: lora, label: "\(family) lora prompt \(index)")
                try checkGenerator(generator, prompts: [prompt], run: base, adapter: .base, label: "\(family) base prompt \(index)")
            }
            XCTAssertNil(library.active)
        }
    }

    /// The cached forward gives the logits of the full (uncached) forward at every position.
    func testCachedLogitsEqualFullForward() throws {
        for family in ["llama", "qwen3"] {
            let model = try GenerationFixtures.model(family)
            let ids: [Int32] = [5, 17, 33, 8, 90, 41, 12, 7, 66, 3]
            let full = try model.backend.download(model.logits(TokenBatch(sequences: [(ids, ids)])))   // [10, V]
            let cache = try KVCache(config: model.config, slots: 1, capacity: ids.count, backend: model.backend)
            var cached = try model.backend.download(model.decode(ids: Array(ids.prefix(4)), slots: [0, 0, 0, 0],
                                                                 logitRows: [0, 1, 2, 3], cache: cache))
            for t in 4..<ids.count {
                cached += try model.backend.download(model.decode(ids: [ids[t]], slots: [0], logitRows: [0], cache: cache))
            }
            assertClose(cached, full, rtol: 1e-5, atol: 1e-5, "\(family) cached vs full logits")
            XCTAssertEqual(cache.lengths, [ids.count])
        }
    }
}
