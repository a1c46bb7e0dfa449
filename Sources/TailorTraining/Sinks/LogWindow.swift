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
    }

    let loggingSteps: Int
    let logFirstStep: Bool
    private var lossSum = 0.0
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
        steps += 1
        tokens += record.tokens
        labelTokens += record.labelTokens
        guard record.step % loggingSteps == 0 || (logFirstStep && record.step == 1) else { return nil }
        let seconds = record.elapsed - lastElapsed
        let rate = seconds > 0 && steps > 1 ? Double(tokens) / seconds : record.tokensPerSecond
        let entry = Entry(step: record.step, epoch: record.epoch, loss: lossSum / Double(steps), gradNorm: record.gradNorm,
                          learningRate: record.learningRate, tokensPerSecond: rate, tokens: tokens, labelTokens: labelTokens)
        lossSum = 0
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
