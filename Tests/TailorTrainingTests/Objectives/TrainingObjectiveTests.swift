import Foundation
import TailorFormats
import TailorModels
import TailorTensor
import TailorTestSupport
import TailorTrainingTestSupport
import XCTest
@testable import TailorTraining

/// SFT written as an objective over per-sequence log-probabilities (the path DPO, ORPO, SimPO and
/// KTO take) steps exactly as transformers' Trainer does: 5 full fine-tuning steps of the tiny tied
/// Llama, against the Trainer fixture SFTObjective also matches.
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
    }

    func run(_ objective: TrainingObjective) throws {
        let folder = TestPaths.fixture("optim/sgd-trainer")
        let backend = try CPUBackend()
        let model = try CausalLM.load(folder: TestPaths.fixture("models/llama-tied"), backend: backend)
        let parameters = try FullFineTuning.prepare(model)
        var args = TrainingArguments()
        args.optim = .sgd
        args.optimArgs = "momentum=0.9,nesterov=True"
        args.weightDecay = 0.1
        let runner = try StepRunner(model: model, optimizer: try args.makeOptimizer(parameters: parameters, backend: backend),
                                    schedule: LRSchedule(kind: .linear, baseLR: 0.05, warmupSteps: 1, totalSteps: 5), maxGradNorm: 1)
        runner.objective = objective
        let reference = try SafetensorsFile(url: folder.appendingPathComponent("reference.safetensors"))
        let batches = try PeftTrainerFixture.microBatches(folder)
        try PeftTrainerFixture.assertStepsMatchTrainer(runner, batches: batches, reference: reference, steps: 5, lrTolerance: 1e-7)
        for parameter in parameters {
            assertClose(try backend.download(parameter.value), try reference.floats("final." + parameter.name), rtol: 1e-4, atol: 1e-5,
                        "final \(parameter.name)")
        }
    }

    func testSFTThroughSequenceLogProbsMatchesTrainer() throws {
        try run(LogProbSFT())
    }

    func testAStepWithNothingToTrainIsRefusedBeforeAnyForward() throws {
        let batch = try TokenBatch(sequences: [([1, 2, 3], [-100, -100, -100])])
        XCTAssertThrowsError(try SFTObjective().normalizer(of: [batch], step: 4)) { error in
            XCTAssertTrue("\(error)".contains("step 4 has no label tokens"), "\(error)")
        }
    }
}
