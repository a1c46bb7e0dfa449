import Foundation
import TailorFormats
import TailorModels
import TailorTensor
import TailorTestSupport
import XCTest

/// The objective-generic pair `labelLogProbs` / `backwardLabelLogProbs`: per-sequence sums of
/// label log-probabilities and the gradient of any weighting of them, against PyTorch's loss and
/// gradients (the SFT weighting) and against SFT's own forwardBackward on each sequence alone.
final class CausalLMLogProbsTests: XCTestCase {
    func reference(_ family: String) throws -> (CausalLM, TokenBatch, SafetensorsFile) {
        let folder = TestPaths.fixture("models/\(family)")
        let file = try SafetensorsFile(url: folder.appendingPathComponent("reference.safetensors"))
        func ints(_ name: String) throws -> [Int32] { try file.floats(name).map { Int32($0) } }
        let batch = try TokenBatch(inputIds: ints("input_ids"), labels: ints("labels"),
                                   positions: ints("position_ids"), seqStart: ints("seq_start"))
        return (try CausalLM.load(folder: folder, backend: try CPUBackend()), batch, file)
    }

    func gradientStore(_ model: CausalLM) throws -> GradientStore {
        let store = GradientStore()
        for (name, shape) in model.parameterShapes { try store.add(name, shape: shape, backend: model.backend) }
        return store
    }

    /// The batch's sequences, each as a batch of its own.
    func sequences(_ batch: TokenBatch) throws -> [TokenBatch] {
        var starts = (0..<batch.tokenCount).filter { Int(batch.seqStart[$0]) == $0 }
        starts.append(batch.tokenCount)
        return try zip(starts, starts.dropFirst()).map { begin, end in
            try TokenBatch(sequences: [(Array(batch.inputIds[begin..<end]), Array(batch.labels[begin..<end]))])
        }
    }

    func testSFTWeightingEqualsPyTorchLossAndGradients() throws {
        for family in ["llama", "qwen2", "llama-tied"] {
            let (model, batch, file) = try reference(family)
            let logProbs = try model.labelLogProbs(batch)
            XCTAssertEqual(logProbs.sums.count, try sequences(batch).count, family)
            let total = logProbs.counts.reduce(0, +)
            let expectedLoss = try file.floats("loss")[0]
            XCTAssertEqual(Float(-logProbs.sums.reduce(0, +) / Double(total)), expectedLoss, accuracy: expectedLoss * 1e-5, family)
            let gradients = try gradientStore(model)
            try model.backwardLabelLogProbs(batch, weights: logProbs.sums.map { _ in -1 / Float(total) }, gradients: gradients)
            for name in gradients.names {
                assertClose(try model.backend.download(gradients[name]!), try file.floats("grad." + name),
                            rtol: 1e-4, atol: 1e-6, "\(family) grad \(name)")
            }
        }
    }

    func testAnyWeightingEqualsTheSequencesTrainedAlone() throws {
        for family in ["llama", "qwen2"] {
            let (model, batch, _) = try reference(family)
            let parts = try sequences(batch)
            XCTAssertGreaterThanOrEqual(parts.count, 2, "the fixture batch packs two sequences")
            // weights[s] = −1/k[s]: the gradient of Σₛ −logpₛ/k[s] is Σₛ forwardBackward(sequence s, normalizer k[s]);
            // a negative k pushes a sequence's log-probability down, as a rejected reply's is.
            let normalizers = [3, -7] + Array(repeating: 5, count: max(0, parts.count - 2))
            let weights = normalizers.prefix(parts.count).map { -1 / Float($0) }
            let logProbs = try model.labelLogProbs(batch)
            let combined = try gradientStore(model)
            try model.backwardLabelLogProbs(batch, weights: weights, gradients: combined)

            let alone = try gradientStore(model)
            for (index, (part, normalizer)) in zip(parts, normalizers).enumerated() {
                let result = try model.forwardBackward(part, gradients: alone, lossNormalizer: normalizer)
                XCTAssertEqual(-logProbs.sums[index], result.lossSum, accuracy: abs(result.lossSum) * 1e-5, "\(family) sequence \(index)")
                XCTAssertEqual(logProbs.counts[index], result.labelCount, family)
            }
            for name in combined.names {
                assertClose(try model.backend.download(combined[name]!), try model.backend.download(alone[name]!),
                            rtol: 1e-4, atol: 1e-6, "\(family) grad \(name)")
            }
        }
    }

    /// Per-token weights: the token log-probabilities add up to the sums, and weighting one token
    /// alone gives that token's gradient: the difference of two weightings that differ in it.
    func testPerTokenWeightsWeighEachLabelToken() throws {
        let (model, batch, _) = try reference("qwen2")
        let logProbs = try model.labelLogProbs(batch)
        for (s, tokens) in logProbs.tokens.enumerated() {
            XCTAssertEqual(tokens.count, logProbs.counts[s])
            XCTAssertEqual(tokens.reduce(0.0) { $0 + Double($1) }, logProbs.sums[s], accuracy: 1e-4)
        }
        // Uniform token weights equal the per-sequence form.
        let perSequence = try gradientStore(model)
        try model.backwardLabelLogProbs(batch, weights: logProbs.counts.indices.map { Float($0 + 1) }, gradients: perSequence)
        _ = try model.labelLogProbs(batch)
        let perToken = try gradientStore(model)
        try model.backwardLabelLogProbs(batch, tokenWeights: logProbs.counts.enumerated().map { [Float](repeating: Float($0 + 1), count: $1) },
                                        gradients: perToken)
        for name in perToken.names {
            assertClose(try model.backend.download(perToken[name]!), try model.backend.download(perSequence[name]!),
                        rtol: 1e-5, atol: 1e-7, "uniform token weights \(name)")
        }
        // Weighting only the first sequence's last token: its gradient alone, as a batch whose labels keep just that token.
        var weights = logProbs.counts.map { [Float](repeating: 0, count: $0) }
        weights[0][weights[0].count - 1] = 1
        _ = try model.labelLogProbs(batch)
        let one = try gradientStore(model)
        try model.backwardLabelLogProbs(batch, tokenWeights: weights, gradients: one)
        let first = try sequences(batch)[0]
        var labels = [Int32](repeating: -100, count: first.tokenCount)
        labels[first.tokenCount - 1] = first.labels[first.tokenCount - 1]
        let single = try TokenBatch(sequences: [(first.inputIds, labels)])
        let alone = try gradientStore(model)
        _ = try model.labelLogProbs(single)
        try model.backwardLabelLogProbs(single, weights: [1], gradients: alone)
        for name in one.names {
            assertClose(try model.backend.download(one[name]!), try model.backend.download(alone[name]!),
                        rtol: 1e-3, atol: 1e-6, "one token's weight \(name)")  // a packed batch against one sequence: float32 sums in another order
        }
        XCTAssertThrowsError(try model.backwardLabelLogProbs(batch, tokenWeights: [[1]], gradients: one), "no pending forward")
    }

    func testBackwardNeedsItsForwardAndOneWeightPerSequence() throws {
        let (model, batch, _) = try reference("llama")
        let gradients = try gradientStore(model)
        XCTAssertThrowsError(try model.backwardLabelLogProbs(batch, weights: [1, 1], gradients: gradients)) { error in
            XCTAssertTrue("\(error)".contains("labelLogProbs of the same batch"), "\(error)")
        }
        let logProbs = try model.labelLogProbs(batch)
        XCTAssertThrowsError(try model.backwardLabelLogProbs(batch, weights: [1], gradients: gradients)) { error in
            XCTAssertTrue("\(error)".contains("1 weights for a batch of \(logProbs.sums.count) sequences"), "\(error)")
        }
        _ = try model.labelLogProbs(batch)
        _ = try model.logits(batch)  // another forward discards the pending activations
        XCTAssertThrowsError(try model.backwardLabelLogProbs(batch, weights: logProbs.sums.map { _ in 1 }, gradients: gradients))
    }
}
