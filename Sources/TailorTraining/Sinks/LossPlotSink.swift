#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import TailorFormats

/// Draws the loss curve at the end of a run, as seed scripts' `LossCallback` + matplotlib do: train loss
/// (every `loggingSteps` steps, averaged as Trainer logs it) and eval loss (with markers) against the step,
/// with axes, ticks, title and legend, written atomically as `loss.png` and `loss.svg` in `folder`
/// (default: the output folder). A preference run (metrics with `rewards/margins`) also gets
/// `rewards.png` and `rewards.svg`: the reward margin of train and eval, the curve TRL users watch rise.
public final class LossPlotSink: TrainingSink {
    public private(set) var folder: String?
    public var title: String
    public var width: Int
    public var height: Int
    public private(set) var train: [LineChart.Point] = []
    public private(set) var eval: [LineChart.Point] = []
    /// `rewards/margins` of the train log entries and of the evaluations (empty for SFT).
    public private(set) var margins: [LineChart.Point] = []
    public private(set) var evalMargins: [LineChart.Point] = []
    private var window: LogWindow

    /// - Parameters:
    ///   - folder: where `loss.png` / `loss.svg` go; nil: the plan's `outputDir`.
    ///   - loggingSteps: one train point per this many steps (their mean loss).
    public init(folder: String? = nil, loggingSteps: Int = 1, title: String = "Training loss", width: Int = 800,
                height: Int = 500) {
        self.folder = folder
        self.title = title
        self.width = width
        self.height = height
        window = LogWindow(loggingSteps: loggingSteps)
    }

    public func handle(_ event: TrainingEvent) throws {
        switch event {
        case let .started(plan):
            if folder == nil { folder = plan.outputDir }
            window.reset()
            // A resumed run redraws from its first step on; earlier points come from `restore(train:eval:)`.
            train.removeAll { $0.x >= Double(plan.firstStep) }
            eval.removeAll { $0.x >= Double(plan.firstStep) }
            margins.removeAll { $0.x >= Double(plan.firstStep) }
            evalMargins.removeAll { $0.x >= Double(plan.firstStep) }
        case let .step(record):
            if let entry = window.add(record) {
                train.append(.init(x: Double(entry.step), y: entry.loss))
                if let margin = entry.metrics.first(where: { $0.name == Self.marginKey }) {
                    margins.append(.init(x: Double(entry.step), y: margin.value))
                }
            }
        case let .evaluation(record):
            eval.append(.init(x: Double(record.step), y: record.loss))
            if let margin = record.metrics[Self.marginKey] { evalMargins.append(.init(x: Double(record.step), y: margin)) }
        case let .finished(summary):
            try write(to: folder ?? summary.outputDir)
        case .interrupted:
            if let folder { try write(to: folder) }  // the curve so far; a resumed run redraws it whole
        case .checkpointSaved, .warning, .system:
            break
        }
    }

    static let marginKey = "rewards/margins"

    /// Seeds the curves with a resumed run's earlier points.
    public func restore(train: [LineChart.Point], eval: [LineChart.Point], margins: [LineChart.Point] = [],
                        evalMargins: [LineChart.Point] = []) {
        self.train = train
        self.eval = eval
        self.margins = margins
        self.evalMargins = evalMargins
    }

    /// The reward-margin chart, or nil when the run logged no margins.
    public func rewardChart() -> LineChart? {
        guard !margins.isEmpty || !evalMargins.isEmpty else { return nil }
        var chart = LineChart(title: "Reward margin (chosen − rejected)", xLabel: "step", yLabel: "rewards/margins",
                              width: width, height: height)
        chart.series.append(.init(name: "train margin", points: margins, color: .blue))
        if !evalMargins.isEmpty { chart.series.append(.init(name: "eval margin", points: evalMargins, color: .orange, markers: true)) }
        return chart
    }

    /// The chart of the points so far.
    public func chart() -> LineChart {
        var chart = LineChart(title: title, xLabel: "step", yLabel: "loss", width: width, height: height)
        chart.series.append(.init(name: "train loss", points: train, color: .blue))
        if !eval.isEmpty { chart.series.append(.init(name: "eval loss", points: eval, color: .orange, markers: true)) }
        return chart
    }

    /// Writes `loss.png` and `loss.svg` into `folder`, each atomically.
    /// - Throws: `FormatError.cannotWrite`.
    public func write(to folder: String) throws {
        let chart = chart()
        let base = URL(fileURLWithPath: folder)
        try AtomicWrite.write(Data(try chart.png()), to: base.appendingPathComponent("loss.png"))
        try AtomicWrite.write(Data(chart.svg().utf8), to: base.appendingPathComponent("loss.svg"))
        if let rewards = rewardChart() {
            try AtomicWrite.write(Data(try rewards.png()), to: base.appendingPathComponent("rewards.png"))
            try AtomicWrite.write(Data(rewards.svg().utf8), to: base.appendingPathComponent("rewards.svg"))
        }
    }
}
