#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TailorFormats
import TailorJSON

/// Writes `metrics.jsonl`: one JSON object per line per event, with Trainer's log_history keys.
///
///     {"event": "started", "max_steps": 100, "num_train_epochs": 3.0, "num_samples": 1500, ...}
///     {"loss": 2.31, "grad_norm": 0.84, "learning_rate": 0.0002, "epoch": 0.02, "step": 1,
///      "num_tokens": 4096, "num_label_tokens": 1800, "tokens_per_second": 5123.4, "elapsed": 0.8, "event": "step"}
///     {"eval_loss": 1.98, "eval_num_label_tokens": 9120, "epoch": 0.5, "step": 50, "event": "evaluation"}
///     {"step": 50, "path": "out/checkpoint-50", "event": "checkpoint"}
///     {"message": "...", "event": "warning"}
///     {"step": 7, "path": "out/checkpoint-7", "event": "interrupted"}
///     {"train_runtime": 81.2, "train_loss": 1.87, "train_tokens_per_second": 5011.0, "step": 100, ...,
///      "event": "finished"}
///
/// A preference objective's metrics (`rewards/margins`, ...) follow learning_rate on train lines and
/// eval_loss on evaluation lines (`eval_rewards/margins`), named as TRL logs them.
///
/// Train lines come every `loggingSteps` steps with the mean loss since the previous line (Trainer's
/// `logging_steps`). The file is append-only: each line is written and handed to the kernel before
/// `handle` returns, so a crash leaves every earlier line complete (a resumed run appends to it).
public final class MetricsJSONLSink: TrainingSink {
    /// The file, once known (`<output_dir>/metrics.jsonl` unless given).
    public private(set) var path: String?
    private var file: AppendOnlyFile?
    private var window: LogWindow
    private var lossSum = 0.0
    private var lossSteps = 0

    /// - Parameters:
    ///   - path: the file; nil puts `metrics.jsonl` in the plan's `outputDir` at `.started`.
    ///   - loggingSteps: write a train line every this many steps (Trainer's `logging_steps`).
    ///   - logFirstStep: also write step 1 (Trainer's `logging_first_step`).
    public init(path: String? = nil, loggingSteps: Int = 1, logFirstStep: Bool = false) {
        self.path = path
        window = LogWindow(loggingSteps: loggingSteps, logFirstStep: logFirstStep)
    }

    /// - Throws: `FormatError.cannotWrite` when the file cannot be created or appended to.
    public func handle(_ event: TrainingEvent) throws {
        switch event {
        case let .started(plan):
            if path == nil { path = plan.outputDir + "/metrics.jsonl" }
            try openIfNeeded()
            window.reset()
            lossSum = 0
            lossSteps = 0
            try write([
                ("event", .string("started")), ("max_steps", .int(plan.totalSteps)),
                ("num_train_epochs", .double(plan.epochs)), ("num_samples", .int(plan.samples)),
                ("trainable_params", .int(plan.trainableParameters)), ("all_params", .int(plan.totalParameters)),
                ("first_step", .int(plan.firstStep)), ("output_dir", .string(plan.outputDir)),
            ])
        case let .step(record):
            lossSum += record.loss
            lossSteps += 1
            guard let entry = window.add(record) else { return }
            try write([
                ("loss", .double(entry.loss)), ("grad_norm", .double(entry.gradNorm)),
                ("learning_rate", .double(entry.learningRate)),
            ] + entry.metrics.map { ($0.name, JSONValue.double($0.value)) } + [
                ("epoch", .double(entry.epoch)),
                ("step", .int(entry.step)), ("num_tokens", .int(entry.tokens)),
                ("num_label_tokens", .int(entry.labelTokens)), ("tokens_per_second", .double(entry.tokensPerSecond)),
                ("elapsed", .double(record.elapsed)), ("event", .string("step")),
            ])
        case let .evaluation(record):
            try write([("eval_loss", .double(record.loss))]
                + LogWindow.orderedMetrics(record.metrics).map { ("eval_" + $0.name, JSONValue.double($0.value)) } + [
                ("eval_num_label_tokens", .int(record.labelTokens)),
                ("epoch", .double(record.epoch)), ("step", .int(record.step)), ("event", .string("evaluation")),
            ])
        case let .system(record):
            try write(record.values.map { ($0.name, JSONValue.double($0.value)) } + [("step", .int(record.step)), ("event", .string("system"))])
        case let .checkpointSaved(step, checkpoint):
            try write([("step", .int(step)), ("path", .string(checkpoint)), ("event", .string("checkpoint"))])
        case let .warning(message):
            try write([("message", .string(message)), ("event", .string("warning"))])
        case let .interrupted(step, checkpoint):
            try write([("step", .int(step)), ("path", .string(checkpoint)), ("event", .string("interrupted"))])
            file?.close()
            file = nil
        case let .finished(summary):
            let trainLoss = summary.trainLoss ?? (lossSteps > 0 ? lossSum / Double(lossSteps) : summary.finalLoss)
            try write([
                ("train_runtime", .double(summary.seconds)), ("train_loss", .double(trainLoss)),
                ("train_tokens_per_second", .double(summary.tokensPerSecond)),
                ("final_loss", .double(summary.finalLoss)), ("step", .int(summary.steps)),
                ("event", .string("finished")),
            ])
            file?.close()
            file = nil
        }
    }

    private func openIfNeeded() throws {
        guard file == nil, let path else { return }
        file = try AppendOnlyFile(path: path)
    }

    /// One line as Python's `json.dumps(entry)` writes it.
    private func write(_ pairs: [(String, JSONValue)]) throws {
        try openIfNeeded()
        guard let file else { return }
        try file.append(JSONValue.object(JSONObject(pairs)).bytes(.python) + [0x0A])
    }
}
