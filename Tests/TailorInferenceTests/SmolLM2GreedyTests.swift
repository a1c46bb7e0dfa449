import Foundation
import TailorFormats
import TailorInference
import TailorModels
import TailorTensor
import TailorTestSupport
import TailorTokenizers
import XCTest

/// Greedy generation on the real SmolLM2-135M-Instruct GGUF (dequantized to f32) against transformers loading the same
/// file (Tests/Fixtures/smollm2/greedy.json from scripts/reference/make_smollm2_fixtures.py): five chat conversations
/// (English, Chinese, code, multi-turn, with a system prompt), 64 new tokens each with eos disabled.
/// - The prompt: the GGUF's chat template and tokenizer give the same text and ids as transformers' apply_chat_template.
///   (transformers' GGUF tokenizer ignores the `smollm` pre-tokenizer; the prompts avoid digits and whitespace runs,
///   where the two could differ. Should they differ anyway, the test says so and feeds the fixture's ids.)
/// - The tokens: identical, except where the reference's two best logits are within 1e-4 of each other; there the
///   reference token is fed on and the rest is still compared.
/// Skips, saying why, when the model cannot be fetched.
final class SmolLM2GreedyTests: XCTestCase {
    struct Fixture: Decodable {
        struct Message: Decodable { let role: String; let content: String }
        struct Case: Decodable {
            let name: String
            let messages: [Message]
            let prompt: String
            let prompt_ids: [Int32]
            let tokens: [Int32]
            let gaps: [Float]
            let first_eos: Int?
        }
        let eos_token_id: Int32
        let cases: [Case]
    }

    static let tieGap: Float = 1e-4

    func load() throws -> (URL, Fixture) {
        let url = try SmolLM2File.locate()
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: TestPaths.fixture("smollm2/greedy.json")))
        XCTAssertEqual(fixture.cases.count, 5)
        return (url, fixture)
    }

    func testChatPromptsMatchTransformers() throws {
        let (url, fixture) = try load()
        let tokenizer = try PretrainedTokenizer(gguf: try GGUFVocabulary(metadata: try GGUFFile(url: url), file: url.path), file: url.path)
        let template = try ChatTemplate(source: try XCTUnwrap(tokenizer.chatTemplate), name: url.lastPathComponent)
        var extra: [String: ChatValue] = [:]
        if let bos = tokenizer.bosToken { extra["bos_token"] = .string(bos) }
        if let eos = tokenizer.eosToken { extra["eos_token"] = .string(eos) }
        for c in fixture.cases {
            let messages = c.messages.map { ChatMessage(role: $0.role, content: .string($0.content)) }
            let text = try template.render(messages: messages, addGenerationPrompt: true, extra: extra).text
            XCTAssertEqual(text, c.prompt, "\(c.name): rendered prompt")
            let ids = tokenizer.encode(text, addSpecialTokens: false).map { Int32($0) }
            XCTAssertEqual(ids, c.prompt_ids, "\(c.name): prompt ids (transformers' GGUF tokenizer ignores the smollm "
                           + "pre-tokenizer; the greedy test feeds the fixture's ids either way)")
        }
    }

    /// Greedy decoding with the reference token fed on at every step: one forward pass over the prompt and the 64
    /// reference tokens gives, at each position, the logits greedy decoding sees after that prefix (this build is a
    /// debug build, where the prefill's OpenBLAS GEMM is fast and the decode GEMV is not). Our argmax must equal the
    /// next reference token unless the reference's top-2 gap is < 1e-4. Where every step agrees, free-running greedy
    /// decoding gives the reference's 64 tokens exactly (the prefix is the same at every step).
    func testGreedyTokensMatchTransformers() throws {
        let (url, fixture) = try load()
        let backend = try CPUBackend(kernels: .fast)
        let model = try CausalLM.load(gguf: url, backend: backend, dtype: .f32)
        let vocab = model.config.vocabSize
        var compared = 0, ties = 0, tieDisagreements = 0
        var smallestGap = Float.infinity
        for c in fixture.cases {
            XCTAssertEqual(c.tokens.count, 64, c.name)
            let ids = c.prompt_ids + c.tokens
            let logits = try backend.download(model.logits(try TokenBatch(sequences: [(ids, ids)])))  // [T, V]
            for (step, expected) in c.tokens.enumerated() {
                let row = c.prompt_ids.count - 1 + step
                let ours = Sampler.argmax(Array(logits[(row * vocab)..<((row + 1) * vocab)]))
                smallestGap = min(smallestGap, c.gaps[step])
                if c.gaps[step] < Self.tieGap {
                    ties += 1
                    if ours != Int(expected) { tieDisagreements += 1 }
                } else {
                    compared += 1
                    XCTAssertEqual(ours, Int(expected), "\(c.name) step \(step): argmax \(ours), transformers \(expected) (gap \(c.gaps[step]))")
                }
            }
        }
        print("SmolLM2 greedy vs transformers: \(compared) tokens compared, \(ties) near ties fed on (\(tieDisagreements) "
              + "disagreed), smallest reference top-2 gap \(smallestGap)")
    }

    /// The Generator itself (KV cache, free-running, batched prompts of different lengths): its greedy tokens equal
    /// the reference up to the first near tie, for the first $TAILOR_SMOLLM2_KV_STEPS tokens (default: all 64; the
    /// test suite builds optimised, where this takes seconds — a debug build needs about 5 minutes); with <|im_end|> as eos, the answers that end within
    /// those steps stop where the reference's first eos is. Each prompt runs in two slots: a decode step of more than
    /// 8 rows goes through the OpenBLAS GEMM rather than the Swift GEMV, which a debug build (`swift test`) leaves
    /// unoptimized and far slower.
    func testGeneratorMatchesTransformers() throws {
        let (url, fixture) = try load()
        let model = try CausalLM.load(gguf: url, backend: try CPUBackend(kernels: .fast), dtype: .f32)
        let generator = Generator(model: model)
        var parameters = GenerationParameters()
        let steps = max(1, min(64, ProcessInfo.processInfo.environment["TAILOR_SMOLLM2_KV_STEPS"].flatMap { Int($0) } ?? 64))
        parameters.maxNewTokens = steps
        parameters.doSample = false
        let copies = 2
        let cases = fixture.cases.flatMap { Array(repeating: $0, count: copies) }
        var start = Date()
        let results = try generator.generate(prompts: cases.map(\.prompt_ids), parameters: parameters)
        for (c, result) in zip(cases, results) {
            let firstTie = min(steps, c.gaps.firstIndex { $0 < Self.tieGap } ?? steps)
            XCTAssertEqual(Array(result.tokens.prefix(firstTie)), Array(c.tokens.prefix(firstTie)), "\(c.name): free-running greedy tokens")
            XCTAssertEqual(result.tokens.count, steps, c.name)
            XCTAssertEqual(result.finishReason, .length, c.name)
        }
        print("SmolLM2 Generator (KV cache) vs transformers: \(steps) tokens of \(results.count) prompts, "
              + "\(String(format: "%.1f", Date().timeIntervalSince(start))) s")

        parameters.eosTokenIds = [fixture.eos_token_id]
        let stopping = fixture.cases.filter { c in
            c.first_eos.map { $0 < min(steps, c.gaps.firstIndex { $0 < Self.tieGap } ?? steps) } ?? false
        }
        XCTAssertEqual(stopping.map(\.name), steps >= 56 ? ["english", "code"] : steps >= 8 ? ["english"] : [])
        guard !stopping.isEmpty else { return }
        let eosCases = stopping.flatMap { Array(repeating: $0, count: 10) }  // > 8 rows until the last one stops
        start = Date()
        let stopped = try generator.generate(prompts: eosCases.map(\.prompt_ids), parameters: parameters)
        for (c, result) in zip(eosCases, stopped) {
            XCTAssertEqual(result.tokens, Array(c.tokens.prefix(c.first_eos! + 1)), "\(c.name): tokens up to eos")
            XCTAssertEqual(result.finishReason, .eos(fixture.eos_token_id), c.name)
        }
        print("SmolLM2 Generator with eos: \(stopping.map { "\($0.name) stops after \($0.first_eos! + 1) tokens" }.joined(separator: ", ")), "
              + "\(String(format: "%.1f", Date().timeIntervalSince(start))) s")
    }
}

