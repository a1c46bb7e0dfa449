import Foundation
import TailorTraining

/// The sinks `tailor train` attaches to a run.
enum TrainSinks {
    static func make(outputDir: URL) -> [TrainingSink] {
        [LineLogSink()]
    }
}

/// One plain line per logged step, evaluation and checkpoint on standard output.
final class LineLogSink: TrainingSink {
    func handle(_ event: TrainingEvent) throws {
        switch event {
        case let .started(plan):
            print("training: \(plan.totalSteps) steps (\(fmt(plan.epochs, 2)) epochs) over \(plan.samples) rows, \(plan.trainableParameters) trainable parameters")
        case let .step(r):
            print("step \(r.step)/\(r.totalSteps)  epoch \(fmt(r.epoch, 2))  loss \(fmt(r.loss, 4))  grad_norm \(fmt(r.gradNorm, 3))  lr \(r.learningRate)  \(fmt(r.tokensPerSecond, 1)) tok/s")
        case let .evaluation(e):
            print("eval  step \(e.step)  eval_loss \(fmt(e.loss, 4))")
        case let .checkpointSaved(step, path):
            print("saved checkpoint \(step): \(path)")
        case let .warning(text):
            printError("warning: \(text)")
        case .finished:
            break
        }
    }
}
