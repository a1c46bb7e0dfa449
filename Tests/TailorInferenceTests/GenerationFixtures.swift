import Foundation
import TailorInference
import TailorModels
import TailorTensor
import TailorTestSupport
import XCTest

/// Fixtures written by scripts/reference/make_generation_fixtures.py (transformers.generate).
enum GenerationFixtures {
    static let families = ["llama", "llama-tied", "llama3-rope", "qwen2", "qwen3", "mistral"]
    /// Where two logits are closer than this, the reference token is fed on instead of compared.
    static let tieGap: Float = 1e-4

    struct Run: Decodable {
        let tokens: [[Int32]]
        let gaps: [[Float]]
    }

    struct Family: Decodable {
        let family: String
        let new_tokens: Int
        let prompts: [[Int32]]
        let greedy: Run
        let batched: Run
        let lora: Run
    }

    struct ProcessorCase: Decodable {
        let name: String
        let params: [String: Double]
        let expected: [[Float?]]
    }

    struct Processors: Decodable {
        let input_ids: [[Int32]]
        let scores: [[Float]]
        let cases: [ProcessorCase]
    }

    struct StopCase: Decodable {
        let name: String
        let eos_token_id: [Int32]
        let stop_strings: [String]
        let tokens: [Int32]
    }

    struct Stopping: Decodable {
        let prompt: [Int32]
        let prompt_text: String
        let max_new_tokens: Int
        let cases: [StopCase]
    }

    static func load<T: Decodable>(_ type: T.Type, _ name: String) throws -> T {
        let data = try Data(contentsOf: TestPaths.fixture("generation/\(name)"))
        return try JSONDecoder().decode(type, from: data)
    }

    static func model(_ family: String, kernels: CPUBackend.Kernels = .fast) throws -> CausalLM {
        try CausalLM.load(folder: TestPaths.fixture("models/\(family)"), backend: try CPUBackend(kernels: kernels))
    }

    static var chatModel: URL { TestPaths.fixture("generation/chat-llama") }
    static func adapter(_ family: String) -> URL { TestPaths.fixture("generation/adapters/\(family)") }

    /// Greedy parameters with eos off, as the fixtures were made.
    static func greedy(_ tokens: Int) -> GenerationParameters {
        var p = GenerationParameters()
        p.maxNewTokens = tokens
        return p
    }
}
