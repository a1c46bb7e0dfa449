import Foundation
import TailorTraining
import XCTest

/// A fresh temporary folder, removed when the test ends (`TAILOR_KEEP_OUTPUT=DIR` keeps a copy of it there).
func makeSinkFolder(_ test: XCTestCase, keepAs name: String? = nil) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-sinks-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock {
        if let name, let keep = ProcessInfo.processInfo.environment["TAILOR_KEEP_OUTPUT"] {
            let target = URL(fileURLWithPath: keep).appendingPathComponent(name)
            try? FileManager.default.createDirectory(atPath: keep, withIntermediateDirectories: true)
            try? FileManager.default.removeItem(at: target)
            try? FileManager.default.copyItem(at: url, to: target)
        }
        try? FileManager.default.removeItem(at: url)
    }
    return url
}

/// A made-up 10-step run: loss 3 − 0.2·step (+ a wiggle), lr 1e-4·step, eval at 5 and 10, a checkpoint
/// at 5, one warning.
func syntheticRun(outputDir: String, steps: Int = 10) -> [TrainingEvent] {
    var events: [TrainingEvent] = [.started(TrainingPlan(totalSteps: steps, epochs: 2, samples: 40,
                                                         trainableParameters: 1_000, totalParameters: 100_000,
                                                         outputDir: outputDir))]
    for step in 1...steps {
        let loss = 3 - 0.2 * Double(step) + (step % 2 == 0 ? 0.05 : -0.05)
        events.append(.step(StepRecord(step: step, totalSteps: steps, epoch: Double(step) / 5, loss: loss,
                                       gradNorm: 1 / Double(step), learningRate: 1e-4 * Double(step),
                                       labelTokens: 100, tokens: 256, elapsed: Double(step) * 0.5,
                                       tokensPerSecond: 512)))
        if step % 5 == 0 {
            events.append(.evaluation(EvaluationRecord(step: step, epoch: Double(step) / 5, loss: 2.5 - 0.1 * Double(step), labelTokens: 80)))
        }
        if step == 5 {
            let checkpoint = outputDir + "/checkpoint-5"
            try? FileManager.default.createDirectory(atPath: checkpoint, withIntermediateDirectories: true)
            events.append(.checkpointSaved(step: 5, path: checkpoint))
            events.append(.warning("a warning \"quoted\" ü"))
        }
    }
    events.append(.finished(TrainingSummary(steps: steps, seconds: Double(steps) * 0.5, finalLoss: 1.05,
                                            tokensPerSecond: 512, outputDir: outputDir)))
    return events
}

/// Collects text written to it (a class, so the sink and the test share it).
final class TextCollector: TextOutputStream {
    var text = ""
    func write(_ string: String) { text += string }
}
