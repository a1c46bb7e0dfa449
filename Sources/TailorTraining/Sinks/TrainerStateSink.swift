#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TailorFormats
import TailorJSON

/// Keeps transformers' `TrainerState` and writes it as `trainer_state.json`, in Trainer's layout
/// (`json.dumps(dataclasses.asdict(state), indent=2, sort_keys=True)`): `log_history` holds a train entry
/// every `logging_steps` (`loss` averaged since the last entry, `grad_norm`, `learning_rate`, `epoch`,
/// `step`, and a preference objective's metrics by TRL's names: `rewards/margins`, ...), an entry per
/// evaluation (`eval_loss`, `epoch`, `step`, `eval_rewards/margins`, ...) and, at the end, the train summary
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
    private var logHistory: [JSONValue] = []
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

    /// The loss curve `log_history` holds: its train entries' `loss` and its evaluations' `eval_loss`
    /// against `step` (what `LossPlotSink` draws; on resume, the points before the checkpoint).
    public var lossPoints: (train: [LineChart.Point], eval: [LineChart.Point]) { points(of: "loss") }

    /// The points of `key` in `log_history`'s train entries and of `"eval_" + key` in its
    /// evaluations, against `step` (e.g. `rewards/margins` for the reward chart on resume).
    public func points(of key: String) -> (train: [LineChart.Point], eval: [LineChart.Point]) {
        var train: [LineChart.Point] = [], eval: [LineChart.Point] = []
        for entry in logHistory {
            guard let step = entry["step"]?.doubleValue else { continue }
            if let value = entry[key]?.doubleValue { train.append(.init(x: step, y: value)) }
            if let value = entry["eval_" + key]?.doubleValue { eval.append(.init(x: step, y: value)) }
        }
        return (train, eval)
    }

    public func handle(_ event: TrainingEvent) throws {
        switch event {
        case let .started(plan):
            maxSteps = plan.totalSteps
            numTrainEpochs = Int(exactly: plan.epochs.rounded(.up)) ?? Int.max
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
                logHistory.append(jsonObject([
                    ("epoch", .double(entry.epoch)), ("grad_norm", .double(entry.gradNorm)),
                    ("learning_rate", .double(entry.learningRate)), ("loss", .double(entry.loss)),
                    ("step", .int(entry.step)),
                ] + entry.metrics.map { ($0.name, JSONValue.double($0.value)) }))
            }
        case let .evaluation(record):
            logHistory.append(jsonObject([
                ("epoch", .double(record.epoch)), ("eval_loss", .double(record.loss)), ("step", .int(record.step)),
            ] + LogWindow.orderedMetrics(record.metrics).map { ("eval_" + $0.name, JSONValue.double($0.value)) }))
        case let .checkpointSaved(_, path):
            try write(to: URL(fileURLWithPath: path).appendingPathComponent("trainer_state.json"), saving: true)
        case .warning, .interrupted, .system:  // system metrics stay out of log_history, whose shape is transformers'
            break
        case let .finished(summary):
            let steps = Double(lossSteps)
            logHistory.append(jsonObject([
                ("epoch", .double(epoch)), ("step", .int(globalStep)),
                ("total_flos", .double(0)),
                ("train_loss", .double(summary.trainLoss ?? (lossSteps > 0 ? lossSum / steps : summary.finalLoss))),
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
        let control = jsonObject([
            ("args", jsonObject([
                ("should_epoch_stop", .bool(false)), ("should_evaluate", .bool(false)), ("should_log", .bool(false)),
                ("should_save", .bool(saving)), ("should_training_stop", .bool(stopped)),
            ])),
            ("attributes", [:]),
        ])
        let state = jsonObject([
            ("best_global_step", .null), ("best_metric", .null), ("best_model_checkpoint", .null),
            ("epoch", .double(epoch)), ("eval_steps", .int(settings.evalSteps)), ("global_step", .int(globalStep)),
            ("is_hyper_param_search", .bool(false)), ("is_local_process_zero", .bool(true)),
            ("is_world_process_zero", .bool(true)), ("log_history", .array(logHistory)),
            ("logging_steps", .int(settings.loggingSteps)), ("max_steps", .int(maxSteps)),
            ("num_input_tokens_seen", .int(inputTokensSeen)), ("num_train_epochs", .int(numTrainEpochs)),
            ("save_steps", .int(settings.saveSteps)),
            ("stateful_callbacks", jsonObject([("TrainerControl", control)])),
            ("total_flos", .double(0)),
            ("train_batch_size", settings.trainBatchSize.map { .int($0) } ?? .null),
            ("trial_name", .null), ("trial_params", .null),
        ])
        return state.text(.pythonIndented.sortingKeys()) + "\n"
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
        func damaged(_ problem: String) -> TrainingError {
            .checkpoint(path: url.path, problem: "cannot be read as a trainer_state.json (\(problem)); the checkpoint is damaged, pick another one")
        }
        let root: JSONValue
        do {
            guard let data = FileManager.default.contents(atPath: url.path) else { throw damaged("the file cannot be read") }
            // Python's json writes NaN and Infinity for non-finite floats (a grad_norm of nan), and reads them back.
            root = try JSONValue(parsing: [UInt8](data), file: url.path, options: .python)
        } catch let error as JSONError {
            throw damaged(error.detail)
        }
        guard let history = root["log_history"]?.arrayValue else { throw damaged("log_history is missing or not a list") }
        var entries: [JSONValue] = []
        for (index, entry) in history.enumerated() {
            guard let object = entry.objectValue,
                  object.allSatisfy({ $0.value.arrayValue == nil && $0.value.objectValue == nil }) else {
                throw damaged("log_history[\(index)] is not an object of numbers, strings, booleans and nulls")
            }
            entries.append(entry)
        }
        func field<T>(_ key: String, _ read: (JSONValue) -> T?) throws -> T? {
            guard let value = root[key], !value.isNull else { return nil }
            guard let typed = read(value) else { throw damaged("\(key) is a \(value.typeName) of the wrong kind") }
            return typed
        }
        logHistory = entries
        globalStep = try field("global_step", \.integralValue) ?? globalStep
        epoch = try field("epoch", \.doubleValue) ?? epoch
        inputTokensSeen = try field("num_input_tokens_seen", \.integralValue) ?? inputTokensSeen
    }

    /// An object of `members` in order (written with sorted keys).
    private func jsonObject(_ members: [(String, JSONValue)]) -> JSONValue { .object(JSONObject(members)) }
}
