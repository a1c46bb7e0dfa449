import Foundation
import TailorInference
import TailorModels
import TailorTensor
import TailorTestSupport
import XCTest

/// A model whose logits are NaN fails generation with an error naming the token, instead of
/// answering with whatever the sampler picks from NaN (an empty answer).
final class NonFiniteLogitsTests: XCTestCase {
    func testNaNLogitsThrowNamingTheStep() throws {
        let model = try CausalLM.load(folder: TestPaths.fixture("models/llama"), backend: try CPUBackend())
        let norm = model.finalNorm
        let poisoned = try model.backend.upload([Float](repeating: .nan, count: norm.count), shape: norm.shape, dtype: .f32)
        try model.replaceParameter(CausalLM.finalNormName, with: poisoned)
        var parameters = GenerationParameters()
        parameters.maxNewTokens = 4
        parameters.doSample = false
        XCTAssertThrowsError(try Generator(model: model).generate(prompts: [[1, 5, 6], [1, 7]], parameters: parameters)) { error in
            guard case let .nonFiniteLogits(sequence, step, value)? = error as? InferenceError else { return XCTFail("\(error)") }
            XCTAssertEqual(sequence, 0)
            XCTAssertEqual(step, 1)
            XCTAssertTrue(value.isNaN)
            XCTAssertTrue("\(error)".contains("at new token 1 of prompt 0"), "\(error)")
        }
    }
}
