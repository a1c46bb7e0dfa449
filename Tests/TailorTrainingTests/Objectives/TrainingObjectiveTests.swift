import TailorModels
import XCTest
@testable import TailorTraining

/// SFT written as an objective over per-sequence log-probabilities (the path DPO, ORPO, SimPO and
/// KTO take) steps exactly as transformers' Trainer does: 5 full fine-tuning steps of the tiny tied
/// Llama, against the Trainer fixture SFTObjective also matches (SGDReferenceTests).
final class TrainingObjectiveTests: XCTestCase {
    /// −Σ logp / (the step's label tokens), through labelLogProbs / backwardLabelLogProbs.
    struct LogProbSFT: TrainingObjective {
        func normalizer(of microBatches: [TokenBatch], step: Int) throws -> Double {
            try SFTObjective().normalizer(of: microBatches, step: step)
        }

        func accumulate(_ batch: TokenBatch, model: CausalLM, gradients: GradientStore, normalizer: Double) throws -> ObjectiveShare {
            let logProbs = try model.labelLogProbs(batch)
            try model.backwardLabelLogProbs(batch, weights: logProbs.sums.map { _ in Float(-1 / normalizer) }, gradients: gradients)
            return ObjectiveShare(loss: -logProbs.sums.reduce(0, +) / normalizer)
        }

        func evaluate(_ batch: TokenBatch, model: CausalLM) throws -> EvaluationShare {
            try SFTObjective().evaluate(batch, model: model)
        }
    }

    func testSFTThroughSequenceLogProbsMatchesTrainer() throws {
        try SGDReferenceTests.assertFullFineTuningWithSGDMatchesTrainer(objective: LogProbSFT())
    }

    func testAStepWithNothingToTrainIsRefusedBeforeAnyForward() throws {
        let batch = try TokenBatch(sequences: [([1, 2, 3], [-100, -100, -100])])
        XCTAssertThrowsError(try SFTObjective().normalizer(of: [batch], step: 4)) { error in
            XCTAssertTrue("\(error)".contains("step 4 has no label tokens"), "\(error)")
        }
    }
}
