/// What a training run reports. The trainer emits events; sinks (console progress, metrics.jsonl,
/// TensorBoard, loss plots, trainer_state.json) consume them. Library code never prints.
public enum TrainingEvent: Sendable {
    /// The run is about to take its first step.
    case started(TrainingPlan)
    /// An optimizer step finished.
    case step(StepRecord)
    /// An evaluation finished.
    case evaluation(EvaluationRecord)
    /// The machine after a step: memory and CPU (`SystemSampler`), a series of its own.
    case system(SystemRecord)
    /// A checkpoint folder was written.
    case checkpointSaved(step: Int, path: String)
    /// Something the user should know that does not stop the run.
    case warning(String)
    /// A stop was requested (SIGINT): the run saved `checkpoint` after step `step` and stops
    /// (`Trainer.train` then throws `TrainingError.interrupted`).
    case interrupted(step: Int, checkpoint: String)
    /// The run ended (normally, or stopped early by `max_steps`).
    case finished(TrainingSummary)
}

/// The shape of a run, known before its first step.
public struct TrainingPlan: Sendable, Equatable {
    public var totalSteps: Int
    public var epochs: Double
    public var samples: Int
    public var trainableParameters: Int
    public var totalParameters: Int
    public var outputDir: String
    /// The first step to run (1, or later when resuming).
    public var firstStep: Int

    public init(totalSteps: Int, epochs: Double, samples: Int, trainableParameters: Int, totalParameters: Int,
                outputDir: String, firstStep: Int = 1) {
        self.totalSteps = totalSteps
        self.epochs = epochs
        self.samples = samples
        self.trainableParameters = trainableParameters
        self.totalParameters = totalParameters
        self.outputDir = outputDir
        self.firstStep = firstStep
    }
}

/// One optimizer step as the sinks see it (HF log_history fields: loss, grad_norm, learning_rate, epoch).
public struct StepRecord: Sendable, Equatable {
    public var step: Int
    public var totalSteps: Int
    public var epoch: Double
    public var loss: Double
    public var gradNorm: Double
    public var learningRate: Double
    /// Label tokens trained on in this step.
    public var labelTokens: Int
    /// All tokens (labelled or not) processed in this step.
    public var tokens: Int
    /// Seconds since the run started.
    public var elapsed: Double
    /// Tokens per second over this step.
    public var tokensPerSecond: Double
    /// The objective's metrics by TRL's names (`rewards/margins`, `logps/chosen`, ...); empty for SFT.
    public var metrics: [String: Double] = [:]

    public init(step: Int, totalSteps: Int, epoch: Double, loss: Double, gradNorm: Double, learningRate: Double,
                labelTokens: Int, tokens: Int, elapsed: Double, tokensPerSecond: Double) {
        self.step = step
        self.totalSteps = totalSteps
        self.epoch = epoch
        self.loss = loss
        self.gradNorm = gradNorm
        self.learningRate = learningRate
        self.labelTokens = labelTokens
        self.tokens = tokens
        self.elapsed = elapsed
        self.tokensPerSecond = tokensPerSecond
    }
}

/// A validation pass (HF: eval_loss).
public struct EvaluationRecord: Sendable, Equatable {
    public var step: Int
    public var epoch: Double
    public var loss: Double
    public var labelTokens: Int
    /// The objective's metrics, without the `eval_` prefix the sinks add; empty for SFT.
    public var metrics: [String: Double] = [:]

    public init(step: Int, epoch: Double, loss: Double, labelTokens: Int) {
        self.step = step
        self.epoch = epoch
        self.loss = loss
        self.labelTokens = labelTokens
    }
}

/// The end of a run.
public struct TrainingSummary: Sendable, Equatable {
    public var steps: Int
    public var seconds: Double
    public var finalLoss: Double
    public var tokensPerSecond: Double
    /// Trained (label) tokens per second over the run.
    public var labelTokensPerSecond: Double
    public var outputDir: String
    /// The mean of every step's loss over the whole run, steps before a resume included
    /// (transformers' `train_loss`); nil when the trainer did not compute it.
    public var trainLoss: Double?

    public init(steps: Int, seconds: Double, finalLoss: Double, tokensPerSecond: Double, labelTokensPerSecond: Double = 0,
                outputDir: String) {
        self.steps = steps
        self.seconds = seconds
        self.finalLoss = finalLoss
        self.tokensPerSecond = tokensPerSecond
        self.labelTokensPerSecond = labelTokensPerSecond
        self.outputDir = outputDir
    }
}

/// Consumes training events. Sinks run on the training thread, in the order they were added.
public protocol TrainingSink: AnyObject {
    func handle(_ event: TrainingEvent) throws
}
