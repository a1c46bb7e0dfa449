import Foundation
import TailorInference
import TailorTestSupport
import XCTest

/// Seeded fuzzing of generation_config.json (see `Fuzz`): a mutated file reads or throws `InferenceError`.
final class GenerationConfigFuzzTests: XCTestCase {
    func testGenerationConfig() throws {
        let corpus = Fuzz.files([TestPaths.fixture("generation/chat-llama/generation_config.json"),
                                 TestPaths.fixture("tokenizers/qwen2/generation_config.json")])
            + [Array(#"{"do_sample": true, "temperature": 0.7, "top_k": 20, "top_p": 0.8, "min_p": 0.05, "repetition_penalty": 1.1, "no_repeat_ngram_size": 3, "max_new_tokens": 512, "min_new_tokens": 1, "eos_token_id": [2, 7], "stop_strings": ["END", "STOP"], "bos_token_id": 1}"#.utf8)]
        Fuzz.run("generation_config.json", seed: 0x6E4C, cases: 1000, corpus: corpus, text: true, expected: { $0 is InferenceError }) { bytes in
            let url = try Fuzz.write(bytes, name: "generation_config.json")
            defer { try? FileManager.default.removeItem(at: url.deletingLastPathComponent()) }
            let p = try GenerationParameters(generationConfig: url)
            _ = p.summary
        }
    }
}
