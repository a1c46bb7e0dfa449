import Foundation
import TailorTraining

/// The sinks `tailor train` attaches to a run: the progress bar (stderr), metrics.jsonl,
/// TensorBoard events in output_dir/runs, loss.png + loss.svg, and trainer_state.json.
enum TrainSinks {
    static func make(outputDir: URL, args: TrainingArguments) -> [TrainingSink] {
        let logging = args.loggingSteps
        return [
            ConsoleProgressSink.standardError(lineEvery: logging),
            MetricsJSONLSink(path: outputDir.appendingPathComponent("metrics.jsonl").path, loggingSteps: logging),
            TensorBoardSink(logDir: outputDir.appendingPathComponent("runs").path, loggingSteps: logging),
            LossPlotSink(folder: outputDir.path, loggingSteps: logging),
            TrainerStateSink(settings: .init(loggingSteps: logging, evalSteps: args.evalSteps, saveSteps: args.saveSteps,
                                             trainBatchSize: args.perDeviceTrainBatchSize)),
        ]
    }
}
