import Foundation
import TailorFormats
import TailorModels
import TailorTensor
import TailorTestSupport
import XCTest

/// Tiny random models of each family against PyTorch + transformers
/// (fixtures from scripts/reference/make_model_fixtures.py): logits of every token, the loss,
/// and the gradient of every parameter, for a batch with a masked prompt and two packed sequences.
final class CausalLMReferenceTests: XCTestCase {
    static let families = ["llama", "llama-tied", "llama3-rope", "qwen2", "qwen3", "mistral"]

    struct Reference {
        let folder: URL
        let file: SafetensorsFile
        let batch: TokenBatch

        init(_ family: String) throws {
            folder = TestPaths.fixture("models/\(family)")
            let opened = try SafetensorsFile(url: folder.appendingPathComponent("reference.safetensors"))
            file = opened
            func ints(_ name: String) throws -> [Int32] { try opened.floats(name).map { Int32($0) } }
            batch = try TokenBatch(inputIds: ints("input_ids"), labels: ints("labels"),
                                   positions: ints("position_ids"), seqStart: ints("seq_start"))
        }
    }

    func check(_ family: String, kernels: CPUBackend.Kernels, checkpointing: Bool = false,
               file: StaticString = #filePath, line: UInt = #line) throws {
        let reference = try Reference(family)
        let backend = try CPUBackend(kernels: kernels)
        let model = try CausalLM.load(folder: reference.folder, backend: backend)
        model.gradientCheckpointing = checkpointing

        let logits = try backend.download(model.logits(reference.batch))
        let expectedLogits = try reference.file.floats("logits")
        assertClose(logits, expectedLogits, rtol: 1e-5, atol: 1e-5, "\(family) logits", file: file, line: line)

        let gradients = GradientStore()
        for (name, shape) in model.parameterShapes { try gradients.add(name, shape: shape, backend: backend) }
        let result = try model.forwardBackward(reference.batch, gradients: gradients)
        let expectedLoss = try reference.file.floats("loss")[0]
        XCTAssertEqual(Float(result.loss), expectedLoss, accuracy: expectedLoss * 1e-5, "\(family) loss", file: file, line: line)

        let expectedNames = reference.file.tensorNames.filter { $0.hasPrefix("grad.") }.map { String($0.dropFirst(5)) }
        XCTAssertEqual(Set(gradients.names), Set(expectedNames.filter { $0 != "lm_head.weight" || !model.config.tieWordEmbeddings }),
                       "\(family): trainable parameter names", file: file, line: line)
        for name in gradients.names {
            let actual = try backend.download(gradients[name]!)
            let expected = try reference.file.floats("grad." + name)
            assertClose(actual, expected, rtol: 1e-4, atol: 1e-6, "\(family) grad \(name)", file: file, line: line)
        }
    }

    func testFastKernelsMatchPyTorch() throws {
        for family in Self.families { try check(family, kernels: .fast) }
    }

    func testReferenceKernelsMatchPyTorch() throws {
        for family in Self.families { try check(family, kernels: .reference) }
    }

    func testGradientCheckpointingGivesTheSameNumbers() throws {
        for family in ["llama-tied", "qwen3"] { try check(family, kernels: .fast, checkpointing: true) }
    }
}
