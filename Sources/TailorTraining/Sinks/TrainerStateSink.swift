#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TailorFormats

/// Keeps transformers' `TrainerState` and writes it as `trainer_state.json`, in Trainer's layout
/// (`json.dumps(dataclasses.asdict(state), indent=2, sort_keys=True)`): `log_history` holds a train entry
/// every `logging_steps` (`loss` averaged since the last entry, `grad_norm`, `learning_rate`, `epoch`,
/// `step`), an entry per evaluation (`eval_loss`, `epoch`, `step`) and, at the end, the train summary
/// (`train_runtime`, `train_samples_per_second`, `train_steps_per_second`, `total_flos`, `train_loss`);
/// beside it `global_step`, `max_steps`, `num_train_epochs`, `logging_steps`, `eval_steps`, `save_steps`,
/// `train_batch_size`, `epoch`, `best_*`, `stateful_callbacks` ...
///
/// Written atomically into each checkpoint folder at `.checkpointSaved` and into the output folder at
/// `.finished`. A checkpoint writer that wants the file inside the folder before it renames the folder
/// into place calls `write(to:)` itself.
public final class TrainerStateSink: TrainingSink {
    public struct Settings: Sendable, Equatable {
        public var loggingSteps: Int
        public var evalSteps: Int
        public var saveSteps: Int
        public var trainBatchSize: Int?
        public var logFirstStep: Bool

        /// Trainer's defaults: logging/eval/save every 500 steps.
        public init(loggingSteps: Int = 500, evalSteps: Int? = nil, saveSteps: Int = 500, trainBatchSize: Int? = nil,
                    logFirstStep: Bool = false) {
            self.loggingSteps = max(1, loggingSteps)
            self.evalSteps = evalSteps ?? self.loggingSteps
            self.saveSteps = saveSteps
            self.trainBatchSize = trainBatchSize
            self.logFirstStep = logFirstStep
        }
    }

    public let settings: Settings
    /// Steps completed (Trainer's `global_step`).
    public private(set) var globalStep = 0
    public private(set) var maxSteps = 0
    /// Fractional epoch of the last step.
    public private(set) var epoch = 0.0
    public private(set) var numTrainEpochs = 0
    public private(set) var samples = 0
    public private(set) var inputTokensSeen = 0
    private var logHistory: [PythonJSON] = []
    private var window: LogWindow
    private var outputDir: String?
    private var lossSum = 0.0
    private var lossSteps = 0
    private var finished = false

    public init(settings: Settings = Settings()) {
        self.settings = settings
        window = LogWindow(loggingSteps: settings.loggingSteps, logFirstStep: settings.logFirstStep)
    }

    /// Number of entries in `log_history`.
    public var logHistoryCount: Int { logHistory.count }

    public func handle(_ event: TrainingEvent) throws {
        switch event {
        case let .started(plan):
            maxSteps = plan.totalSteps
            numTrainEpochs = Int(plan.epochs.rounded(.up))
            samples = plan.samples
            outputDir = plan.outputDir
            globalStep = max(globalStep, plan.firstStep - 1)
            window.reset()
            lossSum = 0
            lossSteps = 0
            finished = false
        case let .step(record):
            globalStep = record.step
            epoch = record.epoch
            inputTokensSeen += record.tokens
            lossSum += record.loss
            lossSteps += 1
            if let entry = window.add(record) {
                logHistory.append(.object([
                    ("epoch", .double(entry.epoch)), ("grad_norm", .double(entry.gradNorm)),
                    ("learning_rate", .double(entry.learningRate)), ("loss", .double(entry.loss)),
                    ("step", .int(entry.step)),
                ]))
            }
        case let .evaluation(record):
            logHistory.append(.object([
                ("epoch", .double(record.epoch)), ("eval_loss", .double(record.loss)), ("step", .int(record.step)),
            ]))
        case let .checkpointSaved(_, path):
            try write(to: URL(fileURLWithPath: path).appendingPathComponent("trainer_state.json"), saving: true)
        case .warning:
            break
        case let .finished(summary):
            let steps = Double(lossSteps)
            logHistory.append(.object([
                ("epoch", .double(epoch)), ("step", .int(globalStep)),
                ("total_flos", .double(0)),
                ("train_loss", .double(lossSteps > 0 ? lossSum / steps : summary.finalLoss)),
                ("train_runtime", .double((summary.seconds * 1e4).rounded() / 1e4)),
                ("train_samples_per_second", .double(summary.seconds > 0
                    ? (Double(samples) * steps / Double(max(maxSteps, 1)) / summary.seconds * 1e3).rounded() / 1e3 : 0)),
                ("train_steps_per_second", .double(summary.seconds > 0 ? (steps / summary.seconds * 1e3).rounded() / 1e3 : 0)),
            ]))
            finished = true
            let folder = outputDir ?? summary.outputDir
            try write(to: URL(fileURLWithPath: folder).appendingPathComponent("trainer_state.json"), saving: false)
        }
    }

    /// The state as Trainer writes it (2-space indent, sorted keys, trailing newline).
    public func json(saving: Bool = true) -> String {
        let stopped = finished || (maxSteps > 0 && globalStep >= maxSteps)
        let control = PythonJSON.object([
            ("args", .object([
                ("should_epoch_stop", .bool(false)), ("should_evaluate", .bool(false)), ("should_log", .bool(false)),
                ("should_save", .bool(saving)), ("should_training_stop", .bool(stopped)),
            ])),
            ("attributes", .object([])),
        ])
        let state = PythonJSON.object([
            ("best_global_step", .null), ("best_metric", .null), ("best_model_checkpoint", .null),
            ("epoch", .double(epoch)), ("eval_steps", .int(settings.evalSteps)), ("global_step", .int(globalStep)),
            ("is_hyper_param_search", .bool(false)), ("is_local_process_zero", .bool(true)),
            ("is_world_process_zero", .bool(true)), ("log_history", .array(logHistory)),
            ("logging_steps", .int(settings.loggingSteps)), ("max_steps", .int(maxSteps)),
            ("num_input_tokens_seen", .int(inputTokensSeen)), ("num_train_epochs", .int(numTrainEpochs)),
            ("save_steps", .int(settings.saveSteps)),
            ("stateful_callbacks", .object([("TrainerControl", control)])),
            ("total_flos", .double(0)),
            ("train_batch_size", settings.trainBatchSize.map { .int($0) } ?? .null),
            ("trial_name", .null), ("trial_params", .null),
        ])
        return state.rendered(indent: 2, sortKeys: true) + "\n"
    }

    /// Writes `json(saving:)` to `url` atomically.
    /// - Throws: `FormatError.cannotWrite`.
    public func write(to url: URL, saving: Bool = true) throws {
        try AtomicWrite.write(Data(json(saving: saving).utf8), to: url)
    }

    /// Continues the `log_history` of a checkpoint's trainer_state.json (on resume), so the final file
    /// holds the whole run as Trainer's does.
    /// - Throws: `TrainingError.checkpoint` naming the file when it cannot be read or is not a trainer state.
    public func restore(from url: URL) throws {
        let saved: SavedState
        do {
            saved = try JSONDecoder().decode(SavedState.self, from: Data(contentsOf: url))
        } catch {
            throw TrainingError.checkpoint(
                path: url.path,
                problem: "cannot be read as a trainer_state.json (\(error)); the checkpoint is damaged, pick another one")
        }
        logHistory = saved.log_history.map { entry in
            .object(entry.keys.sorted().map { ($0, entry[$0]!.json) })
        }
        globalStep = saved.global_step ?? globalStep
        epoch = saved.epoch ?? epoch
        inputTokensSeen = saved.num_input_tokens_seen ?? inputTokensSeen
    }

    private struct SavedState: Decodable {
        var log_history: [[String: Scalar]]
        var global_step: Int?
        var epoch: Double?
        var num_input_tokens_seen: Int?
    }

    /// A log_history value: numbers, strings, booleans or null.
    private enum Scalar: Decodable {
        case value(PythonJSON)

        var json: PythonJSON {
            switch self { case let .value(value): return value }
        }

        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() { self = .value(.null) }
            else if let bool = try? container.decode(Bool.self) { self = .value(.bool(bool)) }
            else if let int = try? container.decode(Int.self) { self = .value(.int(int)) }
            else if let double = try? container.decode(Double.self) { self = .value(.double(double)) }
            else { self = .value(.string(try container.decode(String.self))) }
        }
    }
}
