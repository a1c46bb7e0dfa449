import Foundation
import TailorAdapters
import TailorInference
import TailorModels
import TailorTensor
import TailorTestSupport
import TailorTokenizers
import XCTest

/// Logits processors against transformers' on fixed logits; eos lists and stop strings against
/// transformers.generate; streaming; and the errors for bad input.
final class ProcessingAndStoppingTests: XCTestCase {
    func testProcessorsMatchTransformers() throws {
        let fixture = try GenerationFixtures.load(GenerationFixtures.Processors.self, "processors.json")
        XCTAssertEqual(fixture.cases.count, 11)
        for testCase in fixture.cases {
            var p = GenerationParameters()
            p.doSample = true
            p.topK = 0
            for (name, value) in testCase.params {
                try p.set(name, to: ["top_k", "no_repeat_ngram_size"].contains(name) ? String(Int(value)) : String(value))
            }
            for (row, history) in fixture.input_ids.enumerated() {
                var scores = fixture.scores[row]
                LogitsProcessing.apply(&scores, history: history, generated: 0, parameters: p)
                let expected = testCase.expected[row]
                for i in scores.indices {
                    if let e = expected[i] {
                        XCTAssertEqual(scores[i], e, accuracy: 1e-6, "\(testCase.name) row \(row) token \(i)")
                    } else {
                        XCTAssertEqual(scores[i], -.infinity, "\(testCase.name) row \(row) token \(i) should be removed")
                    }
                }
            }
        }
    }

    func testEosListsAndStopStringsMatchTransformers() throws {
        let fixture = try GenerationFixtures.load(GenerationFixtures.Stopping.self, "stopping.json")
        let folder = GenerationFixtures.chatModel
        let tokenizer = try PretrainedTokenizer(folder: folder)
        XCTAssertEqual(tokenizer.encode(fixture.prompt_text, addSpecialTokens: false).map { Int32($0) }, fixture.prompt)
        let model = try CausalLM.load(folder: folder, backend: try CPUBackend())
        let generator = Generator(model: model, tokenizer: tokenizer.tokenizer)
        for testCase in fixture.cases {
            var p = GenerationFixtures.greedy(fixture.max_new_tokens)
            p.eosTokenIds = testCase.eos_token_id
            p.stopStrings = testCase.stop_strings
            let result = try generator.generate(prompts: [fixture.prompt], parameters: p)[0]
            XCTAssertEqual(result.tokens, testCase.tokens, testCase.name)
            if let stop = testCase.stop_strings.first {
                XCTAssertTrue(testCase.stop_strings.contains { result.text.contains($0) }, "\(testCase.name): \(result.text) lacks \(stop)")
                guard case .stopString = result.finishReason else { return XCTFail("\(testCase.name): \(result.finishReason)") }
            }
        }
    }

    func testGenerationConfigDefaultsAndOverrides() throws {
        let p = try GenerationParameters(generationConfig: GenerationFixtures.chatModel.appendingPathComponent("generation_config.json"))
        XCTAssertTrue(p.doSample)
        XCTAssertEqual(p.temperature, 0.7)
        XCTAssertEqual(p.topP, 0.9)
        XCTAssertEqual(p.topK, 50)
        XCTAssertEqual(p.maxNewTokens, 32)
        XCTAssertEqual(p.eosTokenIds, [2])
    }

    func testSeedMakesSamplingReproducible() throws {
        let model = try GenerationFixtures.model("llama")
        let generator = Generator(model: model)
        var p = GenerationFixtures.greedy(24)
        p.doSample = true
        p.temperature = 1.5
        p.topP = 0.95
        p.seed = 42
        let first = try generator.generate(prompts: [[5, 6, 7]], parameters: p)[0].tokens
        let second = try generator.generate(prompts: [[5, 6, 7]], parameters: p)[0].tokens
        XCTAssertEqual(first, second)
        p.seed = 43
        XCTAssertNotEqual(try generator.generate(prompts: [[5, 6, 7]], parameters: p)[0].tokens, first)
    }

    func testStreamDeliversTokensThenFinish() async throws {
        let folder = GenerationFixtures.chatModel
        let tokenizer = try PretrainedTokenizer(folder: folder)
        let model = try CausalLM.load(folder: folder, backend: try CPUBackend())
        let generator = Generator(model: model, tokenizer: tokenizer.tokenizer)
        var text = "", tokens: [Int32] = []
        var finished: GenerationResult?
        var sawDone = false
        for try await event in generator.stream(prompt: [1, 20, 21], parameters: GenerationFixtures.greedy(12)) {
            switch event {
            case let .token(_, id, piece): tokens.append(id); text += piece
            case let .finished(_, result): finished = result
            case .done: sawDone = true
            }
        }
        XCTAssertEqual(finished?.tokens, tokens)
        XCTAssertEqual(finished?.text, text)
        XCTAssertTrue(sawDone)
    }

    func testMultiByteCharactersStreamWhole() throws {
        let tokenizer = try PretrainedTokenizer(folder: GenerationFixtures.chatModel).tokenizer
        let ids = tokenizer.encode("a你好b", addSpecialTokens: false)
        XCTAssertEqual(ids.count, 8)   // a, 3 + 3 bytes, b
        var decoder = tokenizer.streamingDecoder()
        let pieces = ids.map { decoder.next($0) ?? "" }
        XCTAssertEqual(pieces, ["a", "", "", "你", "", "", "好", "b"])
    }

    // MARK: Bad input

    func testBadSamplingValuesAreClearErrors() throws {
        let generator = Generator(model: try GenerationFixtures.model("llama"))
        for (name, value, fragment) in [("top_p", "0", "(0, 1]"), ("temperature", "-0.5", "strictly positive"),
                                        ("repetition_penalty", "0", "strictly positive"), ("top_k", "-1", "0 (off)")] {
            var p = GenerationParameters()
            try p.set(name, to: value)
            XCTAssertThrowsError(try generator.generate(prompts: [[1, 2]], parameters: p)) { error in
                XCTAssertTrue("\(error)".contains(name) && "\(error)".contains(fragment), "\(error)")
            }
        }
        var p = GenerationParameters()
        XCTAssertThrowsError(try p.set("topp", to: "0.5")) { XCTAssertTrue("\($0)".contains("not a known parameter")) }
    }

    func testPromptLongerThanContextIsAnErrorOrTruncated() throws {
        let generator = Generator(model: try GenerationFixtures.model("llama"))   // max_position_embeddings 128
        var p = GenerationFixtures.greedy(8)
        let prompt = [Int32](repeating: 5, count: 125)
        XCTAssertThrowsError(try generator.generate(prompts: [prompt], parameters: p)) { error in
            XCTAssertTrue("\(error)".contains("125 tokens") && "\(error)".contains("128"), "\(error)")
        }
        p.truncatePrompt = true
        let result = try generator.generate(prompts: [prompt], parameters: p)[0]
        XCTAssertEqual(result.promptTokenCount, 120)
        XCTAssertEqual(result.tokens.count, 8)
        XCTAssertThrowsError(try generator.generate(prompts: [[]], parameters: p)) { XCTAssertTrue("\($0)".contains("no tokens")) }
    }

    func testAdapterForAnotherBaseNamesTheTensor() throws {
        let model = try GenerationFixtures.model("llama")
        let library = AdapterLibrary(model: model)
        // qwen3's head_dim 12 gives q_proj 48 outputs; llama's has 32.
        XCTAssertThrowsError(try library.load(name: "x", folder: GenerationFixtures.adapter("qwen3"))) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("base_model.model.model.layers.0.self_attn.") && text.contains("another base model"), text)
        }
        XCTAssertThrowsError(try library.activate("missing")) { XCTAssertTrue("\($0)".contains("no adapter named 'missing'")) }
    }

    func testUnimplementedAdapterConfigFieldsAreNamed() throws {
        let model = try GenerationFixtures.model("llama")
        let source = GenerationFixtures.adapter("llama")
        /// The source adapter with one adapter_config.json field set to `value` (JSON).
        func variant(_ field: String, _ value: String) throws -> URL {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-adapter-\(field)")
            try? FileManager.default.removeItem(at: folder)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: source.appendingPathComponent("adapter_model.safetensors"),
                                             to: folder.appendingPathComponent("adapter_model.safetensors"))
            var config = try JSONSerialization.jsonObject(with: Data(contentsOf: source.appendingPathComponent("adapter_config.json"))) as! [String: Any]
            config[field] = try JSONSerialization.jsonObject(with: Data(value.utf8), options: .fragmentsAllowed)
            try JSONSerialization.data(withJSONObject: config).write(to: folder.appendingPathComponent("adapter_config.json"))
            return folder
        }
        for (field, value) in [("init_lora_weights", #""loftq""#), ("init_lora_weights", #""pissa_niter_0""#), ("lora_bias", "true")] {
            XCTAssertThrowsError(try PeftAdapterFolder.load(folder: try variant(field, value), for: model)) { error in
                XCTAssertTrue("\(error)".contains("field '\(field)'") && "\(error)".contains("does not implement"), "\(error)")
            }
        }
        // DoRA, rank_pattern and alpha_pattern are read: a DoRA folder without magnitudes, or
        // tensors of another rank than the pattern gives, are named.
        XCTAssertThrowsError(try PeftAdapterFolder.load(folder: try variant("use_dora", "true"), for: model)) { error in
            XCTAssertTrue("\(error)".contains(".lora_magnitude_vector") && "\(error)".contains("is missing"), "\(error)")
        }
        XCTAssertThrowsError(try PeftAdapterFolder.load(folder: try variant("rank_pattern", #"{"q_proj": 8}"#), for: model)) { error in
            XCTAssertTrue("\(error)".contains("q_proj.lora_A.weight") && "\(error)".contains("rank_pattern"), "\(error)")
        }
        let alphaPattern = try PeftAdapterFolder.load(folder: try variant("alpha_pattern", #"{"q_proj": 8}"#), for: model)
        let plain = try PeftAdapterFolder.load(folder: source, for: model)
        for (module, reference) in zip(alphaPattern.modules, plain.modules) {
            XCTAssertEqual(module.lora.scaling, module.name.hasSuffix("q_proj") ? 8 / Float(plain.config.r) : reference.lora.scaling, module.name)
        }
        // Implemented fields are read; a tensor they ask for that the file lacks is named.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-adapter-modules_to_save")
        try? FileManager.default.removeItem(at: folder)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: source.appendingPathComponent("adapter_model.safetensors"),
                                         to: folder.appendingPathComponent("adapter_model.safetensors"))
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: source.appendingPathComponent("adapter_config.json"))) as! [String: Any]
        config["modules_to_save"] = ["lm_head"]
        config["init_lora_weights"] = "gaussian"
        try JSONSerialization.data(withJSONObject: config).write(to: folder.appendingPathComponent("adapter_config.json"))
        XCTAssertEqual(try PeftAdapterFolder.readConfig(folder: folder).initLoraWeights, .gaussian)
        XCTAssertThrowsError(try PeftAdapterFolder.load(folder: folder, for: model)) { error in
            XCTAssertTrue("\(error)".contains("base_model.model.lm_head.weight") && "\(error)".contains("is missing"), "\(error)")
        }
    }
}
