/// What Trainer logs every `logging_steps` steps: the mean loss over the steps since the last log, and the
/// last step's grad_norm, learning rate and epoch. Sinks that write log_history-like records share it.
struct LogWindow {
    /// One log_history train entry.
    struct Entry: Equatable {
        var step: Int
        var epoch: Double
        var loss: Double
        var gradNorm: Double
        var learningRate: Double
        /// Tokens per second over the window (all tokens).
        var tokensPerSecond: Double
        /// Tokens processed in the window.
        var tokens: Int
        var labelTokens: Int
        /// The objective's metrics, each the mean over the window's steps, in `orderedMetrics`' order.
        var metrics: [(name: String, value: Double)] = []

        static func == (a: Entry, b: Entry) -> Bool {
            a.step == b.step && a.epoch == b.epoch && a.loss == b.loss && a.gradNorm == b.gradNorm
                && a.learningRate == b.learningRate && a.tokensPerSecond == b.tokensPerSecond && a.tokens == b.tokens
                && a.labelTokens == b.labelTokens && a.metrics.map(\.name) == b.metrics.map(\.name)
                && a.metrics.map(\.value) == b.metrics.map(\.value)
        }
    }

    /// TRL's order of its logged metrics; other names follow, sorted.
    static let metricOrder = ["rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins",
                              "logps/chosen", "logps/rejected", "logits/chosen", "logits/rejected"]

    /// `metrics` in the order sinks write them (TRL's, then by name).
    static func orderedMetrics(_ metrics: [String: Double]) -> [(name: String, value: Double)] {
        let known = metricOrder.compactMap { name in metrics[name].map { (name, $0) } }
        let rest = metrics.keys.filter { !metricOrder.contains($0) }.sorted().map { ($0, metrics[$0] ?? 0) }
        return known + rest
    }

    let loggingSteps: Int
    let logFirstStep: Bool
    private var lossSum = 0.0
    private var metricSums: [String: Double] = [:]
    private var steps = 0
    private var tokens = 0
    private var labelTokens = 0
    private var lastElapsed = 0.0

    init(loggingSteps: Int, logFirstStep: Bool = false) {
        self.loggingSteps = max(1, loggingSteps)
        self.logFirstStep = logFirstStep
    }

    /// Adds a step; returns the entry to log when Trainer would log at this step
    /// (`step % logging_steps == 0`, or step 1 with `logging_first_step`).
    mutating func add(_ record: StepRecord) -> Entry? {
        lossSum += record.loss
        metricSums.merge(record.metrics, uniquingKeysWith: +)
        steps += 1
        tokens += record.tokens
        labelTokens += record.labelTokens
        guard record.step % loggingSteps == 0 || (logFirstStep && record.step == 1) else { return nil }
        let seconds = record.elapsed - lastElapsed
        let rate = seconds > 0 && steps > 1 ? Double(tokens) / seconds : record.tokensPerSecond
        var entry = Entry(step: record.step, epoch: record.epoch, loss: lossSum / Double(steps), gradNorm: record.gradNorm,
                          learningRate: record.learningRate, tokensPerSecond: rate, tokens: tokens, labelTokens: labelTokens)
        entry.metrics = Self.orderedMetrics(metricSums.mapValues { $0 / Double(steps) })
        lossSum = 0
        metricSums = [:]
        steps = 0
        tokens = 0
        labelTokens = 0
        lastElapsed = record.elapsed
        return entry
    }

    /// Starts a new window (at `.started`, e.g. after a resume; `elapsed` restarts at 0).
    mutating func reset() {
        self = LogWindow(loggingSteps: loggingSteps, logFirstStep: logFirstStep)
    }
}
