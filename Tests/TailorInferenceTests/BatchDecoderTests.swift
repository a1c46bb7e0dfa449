import Foundation
import TailorAdapters
import TailorInference
import TailorTensor
import TailorTestSupport
import XCTest

/// Continuous batching: requests joining and leaving a running batch, each row with its own
/// adapter (or none), give each request's answer alone.
final class BatchDecoderTests: XCTestCase {
    /// The chat fixture with adapter "a" (the llama fixture adapter) and "b" (the same A and B
    /// with lora_alpha tripled, so another product), loaded beside each other.
    static func loadModel() throws -> InferenceModel {
        let loaded = try InferenceModel(folder: GenerationFixtures.chatModel, backend: try CPUBackend())
        try loaded.adapters.load(name: "a", folder: GenerationFixtures.adapter("llama"))
        try loaded.adapters.load(name: "b", folder: try Self.scaledAdapter())
        return loaded
    }

    /// A copy of the llama fixture adapter with lora_alpha 24 instead of 8.
    static func scaledAdapter() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-batch-adapter-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let source = GenerationFixtures.adapter("llama")
        try FileManager.default.copyItem(at: source.appendingPathComponent("adapter_model.safetensors"),
                                         to: folder.appendingPathComponent("adapter_model.safetensors"))
        let config = try String(contentsOf: source.appendingPathComponent("adapter_config.json"), encoding: .utf8)
        XCTAssertTrue(config.contains("\"lora_alpha\": 8,"))
        try config.replacingOccurrences(of: "\"lora_alpha\": 8,", with: "\"lora_alpha\": 24,")
            .write(to: folder.appendingPathComponent("adapter_config.json"), atomically: true, encoding: .utf8)
        return folder
    }

    /// Each request's greedy answer from the Generator, one prompt at a time with its adapter active.
    func aloneAnswers(_ loaded: InferenceModel, _ prompts: [[Int32]], _ adapters: [String?], _ lengths: [Int]) throws -> [[Int32]] {
        try prompts.indices.map { i in
            let selection: AdapterSelection = adapters[i].map { .named($0) } ?? .base
            return try loaded.generator.generate(prompts: [prompts[i]], parameters: greedy(lengths[i]), adapter: selection)[0].tokens
        }
    }

    /// The tokens a decoder's events give each request, and the requests that finished (each by length, with
    /// the tokens streamed before); a failed request fails the test.
    final class Answers {
        var got: [[Int32]]
        var done = Set<Int>()
        init(count: Int) { got = Array(repeating: [], count: count) }

        func take(_ events: [BatchEvent], file: StaticString = #filePath, line: UInt = #line) {
            for event in events {
                switch event {
                case let .token(id, token, _, _): got[id].append(token)
                case let .finished(id, result):
                    done.insert(id)
                    XCTAssertEqual(result.tokens, got[id], file: file, line: line)
                    XCTAssertEqual(result.finishReason, .length, file: file, line: line)
                case let .failed(id, error): XCTFail("request \(id) failed: \(error)", file: file, line: line)
                }
            }
        }
    }

    func greedy(_ tokens: Int) -> GenerationParameters {
        var p = GenerationParameters()
        p.maxNewTokens = tokens
        return p
    }

    func testBatchedGreedyEqualsEachRequestAlone() throws {
        let loaded = try Self.loadModel()
        let prompts: [[Int32]] = [[1, 5, 9, 13], [1, 20, 21, 22, 23, 24, 25], [1, 40], [1, 7, 7, 7, 30, 31], [1, 50, 51, 52, 53]]
        let adapters: [String?] = [nil, "a", "b", "a", nil]
        let lengths = [12, 9, 15, 6, 10]
        // Alone: the Generator, one prompt at a time, with the adapter active.
        let alone = try aloneAnswers(loaded, prompts, adapters, lengths)
        XCTAssertNotEqual(alone[1], alone[2], "adapters a and b should answer differently (else the test shows nothing)")
        // Batched: three slots; requests 0-2 start, 3 joins after two steps, 4 when a slot frees.
        let decoder = try BatchDecoder(model: loaded.model, tokenizer: loaded.tokenizer.tokenizer, adapters: loaded.adapters, slots: 3, capacity: 64)
        let answers = Answers(count: prompts.count)
        for i in 0..<3 {
            answers.take(try decoder.add(BatchRequest(prompt: prompts[i], parameters: greedy(lengths[i]), adapter: adapters[i]), id: i))
        }
        answers.take(try decoder.step())
        answers.take(try decoder.step())
        var next = 3
        var steps = 0
        while answers.done.count < prompts.count {
            while next < prompts.count && decoder.freeSlots > 0 {
                answers.take(try decoder.add(BatchRequest(prompt: prompts[next], parameters: greedy(lengths[next]), adapter: adapters[next]), id: next))
                next += 1
            }
            answers.take(try decoder.step())
            steps += 1
            XCTAssertLessThan(steps, 100)
        }
        XCTAssertEqual(decoder.activeCount, 0)
        XCTAssertEqual(decoder.freeSlots, 3)
        for i in prompts.indices { XCTAssertEqual(answers.got[i], alone[i], "request \(i) (adapter \(adapters[i] ?? "none")) batched vs alone") }
    }

    /// Admitted prompts are prefilled in chunks of at most `maxStepTokens` tokens, in the same forwards as the
    /// decode rows of requests already answering (chunked prefill), and each answer is still the request's alone.
    func testChunkedPrefillBesideDecodingRowsEqualsEachRequestAlone() throws {
        let loaded = try Self.loadModel()
        let prompts: [[Int32]] = [[1, 5, 9, 13, 17, 21, 25, 29, 33], [1, 20, 21, 22, 23, 24, 25], [1, 40], [1, 7, 7, 7, 30, 31, 32, 33, 34, 35, 36]]
        let adapters: [String?] = [nil, "a", "b", "a"]
        let lengths = [8, 9, 6, 7]
        let alone = try aloneAnswers(loaded, prompts, adapters, lengths)
        let decoder = try BatchDecoder(model: loaded.model, tokenizer: loaded.tokenizer.tokenizer, adapters: loaded.adapters, slots: 4, capacity: 64)
        decoder.maxStepTokens = 4
        let answers = Answers(count: prompts.count)
        try decoder.admit(BatchRequest(prompt: prompts[0], parameters: greedy(lengths[0]), adapter: adapters[0]), id: 0)
        try decoder.admit(BatchRequest(prompt: prompts[1], parameters: greedy(lengths[1]), adapter: adapters[1]), id: 1)
        answers.take(try decoder.step())
        XCTAssertEqual(decoder.prefillingCount, 2, "16 prompt tokens do not fit one step of 4")
        XCTAssertTrue(answers.got[0].isEmpty && answers.got[1].isEmpty, "no first token before a prompt's last chunk ran")
        var mixedSteps = 0, steps = 0
        while answers.done.count < prompts.count {
            if steps == 3 {
                for i in 2..<4 { try decoder.admit(BatchRequest(prompt: prompts[i], parameters: greedy(lengths[i]), adapter: adapters[i]), id: i) }
            }
            let decodingBefore = decoder.activeCount - decoder.prefillingCount
            let prefillingBefore = decoder.prefillingCount
            answers.take(try decoder.step())
            if decodingBefore > 0 && prefillingBefore > 0 { mixedSteps += 1 }
            steps += 1
            XCTAssertLessThan(steps, 100)
        }
        XCTAssertGreaterThan(mixedSteps, 1, "some steps ran prompt chunks beside decode rows")
        XCTAssertEqual(decoder.promptTokens, prompts.map(\.count).reduce(0, +))
        XCTAssertEqual(decoder.freeSlots, 4)
        for i in prompts.indices { XCTAssertEqual(answers.got[i], alone[i], "request \(i) (adapter \(adapters[i] ?? "none")) chunked vs alone") }
    }

    /// Runs `requests` (prompt, adapter) one after the other through `decoder`; the tokens and the first token's logprobs.
    func serveInTurn(_ decoder: BatchDecoder, _ requests: [([Int32], String?)], tokens: Int) throws -> [(tokens: [Int32], first: TokenLogprobs?)] {
        var answers: [(tokens: [Int32], first: TokenLogprobs?)] = []
        for (index, (prompt, adapter)) in requests.enumerated() {
            var request = BatchRequest(prompt: prompt, parameters: greedy(tokens), adapter: adapter)
            request.topLogprobs = 3
            var got: [Int32] = [], first: TokenLogprobs?
            var events = try decoder.add(request, id: index)
            while true {
                for case let .token(_, token, _, logprobs) in events {
                    if got.isEmpty { first = logprobs }
                    got.append(token)
                }
                if events.contains(where: { if case .finished = $0 { return true } else { return false } }) { break }
                events = try decoder.step()
            }
            answers.append((got, first))
        }
        return answers
    }

    /// A prompt that repeats an earlier one's prefix (a system prompt, a multi-turn chat) under the same adapter
    /// prefills only what is new, and answers as with the cache off; another adapter, or a changed one, reuses nothing.
    func testARepeatedPrefixReusesTheSlotsKeysAndValues() throws {
        let loaded = try Self.loadModel()
        let system: [Int32] = [1, 5, 9, 13, 17, 21, 25, 29]
        func decoder(caching: Bool) throws -> BatchDecoder {
            let decoder = try BatchDecoder(model: loaded.model, tokenizer: loaded.tokenizer.tokenizer, adapters: loaded.adapters, slots: 2, capacity: 64)
            decoder.prefixCaching = caching
            return decoder
        }
        // The second turn of a chat: the first turn's prompt, its answer, and a new message.
        let firstAnswer = try serveInTurn(try decoder(caching: false), [(system + [50], "a")], tokens: 6)[0].tokens
        let requests: [([Int32], String?)] = [
            (system + [40, 41], "a"),
            (system + [50], "a"),                      // shares the 8-token system prompt with request 0
            (system + [50] + firstAnswer + [70], "a"), // request 1's prompt and answer: 9 + 5 tokens held (the 6th was never fed back)
            (system + [50], "b"),                      // the same tokens under another adapter: nothing reused
            (system + [50], nil),
        ]
        let plain = try decoder(caching: false), cached = try decoder(caching: true)
        let expected = try serveInTurn(plain, requests, tokens: 6)
        XCTAssertEqual(plain.reusedPromptTokens, 0)
        let got = try serveInTurn(cached, requests, tokens: 6)
        for index in requests.indices {
            XCTAssertEqual(got[index].tokens, expected[index].tokens, "request \(index)")
            let a = try XCTUnwrap(got[index].first), b = try XCTUnwrap(expected[index].first)
            XCTAssertEqual(a.top.map(\.id), b.top.map(\.id), "request \(index)")
            // The reused rows were computed by another prefill than a fresh one's packed attention: float32 rounding apart.
            for (x, y) in zip(a.top, b.top) { XCTAssertEqual(x.logprob, y.logprob, accuracy: 5e-5, "request \(index)") }
        }
        XCTAssertEqual(cached.promptTokens, requests.reduce(0) { $0 + $1.0.count })
        XCTAssertEqual(cached.reusedPromptTokens, 8 + 14, "requests 3 and 4 run other adapters and reuse nothing")

        // New weights for an adapter (load, unload: the server's commands) make what the slots hold stale.
        cached.forgetPrefixes()
        _ = try serveInTurn(cached, [(system + [50], "a")], tokens: 2)
        XCTAssertEqual(cached.reusedPromptTokens, 22, "nothing reused after forgetPrefixes")
    }

    func testRemovedRequestLeavesAtOnceAndOthersGoOn() throws {
        let loaded = try Self.loadModel()
        let decoder = try BatchDecoder(model: loaded.model, tokenizer: nil, adapters: loaded.adapters, slots: 2, capacity: 64)
        _ = try decoder.add(BatchRequest(prompt: [1, 5, 6], parameters: greedy(20), adapter: "a"), id: 0)
        _ = try decoder.add(BatchRequest(prompt: [1, 8, 9], parameters: greedy(8), adapter: "b"), id: 1)
        _ = try decoder.step()
        decoder.remove(id: 0)
        XCTAssertEqual(decoder.activeIds, [1])
        XCTAssertEqual(decoder.freeSlots, 1)
        var tokens: [Int32] = []
        for _ in 0..<10 {
            for case let .token(id, token, _, _) in try decoder.step() { XCTAssertEqual(id, 1); tokens.append(token) }
        }
        let alone = try loaded.generator.generate(prompts: [[1, 8, 9]], parameters: greedy(8), adapter: .named("b"))[0].tokens
        XCTAssertEqual(Array(alone.suffix(tokens.count)), tokens)
    }

    func testLogprobsAndChecks() throws {
        let loaded = try Self.loadModel()
        let decoder = try BatchDecoder(model: loaded.model, tokenizer: nil, adapters: loaded.adapters, slots: 1, capacity: 16)
        var request = BatchRequest(prompt: [1, 5], parameters: greedy(3))
        request.topLogprobs = 2
        let events = try decoder.add(request, id: 0)
        guard case let .token(_, token, _, logprobs?) = events.first else { return XCTFail("no token with logprobs") }
        XCTAssertEqual(logprobs.id, token)
        XCTAssertEqual(logprobs.top.count, 2)
        XCTAssertEqual(logprobs.top[0].id, token, "greedy picks the most likely token")
        XCTAssertEqual(logprobs.top[0].logprob, logprobs.logprob)
        XCTAssertGreaterThanOrEqual(logprobs.top[0].logprob, logprobs.top[1].logprob)
        XCTAssertLessThanOrEqual(logprobs.logprob, 0)
        // A prompt too long for the slot, and an unknown adapter, are refused before a slot is taken.
        XCTAssertThrowsError(try decoder.check(BatchRequest(prompt: Array(repeating: 1, count: 15), parameters: greedy(3))))
        XCTAssertThrowsError(try decoder.check(BatchRequest(prompt: [1], parameters: greedy(3), adapter: "nope")))
    }

    func testPresenceAndFrequencyPenalties() {
        var scores: [Float] = [1, 2, 3, 4]
        LogitsProcessing.presenceFrequency(&scores, counts: [1: 2, 3: 1], presence: 0.5, frequency: 0.25)
        XCTAssertEqual(scores, [1, 2 - 0.5 - 0.5, 3, 4 - 0.5 - 0.25])
    }
}
