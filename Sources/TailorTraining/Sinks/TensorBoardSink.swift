#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TailorFormats

/// Writes TensorBoard scalars as transformers' `TensorBoardCallback` names them: `train/loss`,
/// `train/learning_rate`, `train/grad_norm`, `train/epoch`, `train/tokens_per_second` every `loggingSteps`
/// steps (mean loss over the window, as Trainer logs it), and `eval/loss` at each evaluation; a
/// preference objective's metrics as `train/rewards/margins`, `eval/rewards/margins`, ... (TRL's names).
///
/// The event file is created at `.started` in `logDir` (default `<output_dir>/runs`), so a folder that
/// cannot be written fails the run before its first step. Records are appended as they come (see
/// `TensorBoardWriter`); `tensorboard --logdir <output_dir>/runs` shows the run while it trains.
public final class TensorBoardSink: TrainingSink {
    public private(set) var logDir: String?
    /// The event file, once created.
    public var path: String? { writer?.path }
    private var writer: TensorBoardWriter?
    private var window: LogWindow
    private let clock: @Sendable () -> Double

    /// - Parameters:
    ///   - logDir: the folder for the event file; nil: `<output_dir>/runs` from the plan.
    ///   - loggingSteps: Trainer's `logging_steps`.
    ///   - clock: wall time of each record (tests pin it).
    public init(logDir: String? = nil, loggingSteps: Int = 1, logFirstStep: Bool = false,
                clock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) {
        self.logDir = logDir
        window = LogWindow(loggingSteps: loggingSteps, logFirstStep: logFirstStep)
        self.clock = clock
    }

    /// - Throws: `FormatError.cannotWrite` when the folder or event file cannot be written.
    public func handle(_ event: TrainingEvent) throws {
        switch event {
        case let .started(plan):
            let folder = logDir ?? plan.outputDir + "/runs"
            logDir = folder
            if writer == nil { writer = try TensorBoardWriter(logDir: folder, clock: clock) }
            if plan.firstStep > 1 { try writer?.addSessionStart(step: plan.firstStep) }  // resumed: the re-logged steps replace the old
            window.reset()
        case let .step(record):
            guard let entry = window.add(record), let writer else { return }
            try writer.addScalars([
                ("train/loss", Float(entry.loss)),
                ("train/grad_norm", Float(entry.gradNorm)),
                ("train/learning_rate", Float(entry.learningRate)),
                ("train/epoch", Float(entry.epoch)),
                ("train/tokens_per_second", Float(entry.tokensPerSecond)),
            ] + entry.metrics.map { ("train/" + $0.name, Float($0.value)) }, step: entry.step)
        case let .evaluation(record):
            try writer?.addScalars([("eval/loss", Float(record.loss))]
                + LogWindow.orderedMetrics(record.metrics).map { ("eval/" + $0.name, Float($0.value)) }, step: record.step)
        case let .system(record):
            try writer?.addScalars(record.values.map { ($0.name, Float($0.value)) }, step: record.step)
        case .finished:
            try writer?.close()
            writer = nil
        case .checkpointSaved, .interrupted:
            try writer?.flush()
        case .warning:
            break
        }
    }
}
