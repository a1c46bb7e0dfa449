import Foundation
import TailorData
import TailorFormats
import TailorModels
import TailorTensor

/// One tokenized training example: ids and unshifted labels (-100 = not trained on).
public struct TrainingSample: Sendable, Equatable {
    public var ids: [Int32]
    public var labels: [Int32]
    /// The data file and line it came from (nil when made in code), named by errors about it.
    public var source: SourceLocation?

    public init(ids: [Int32], labels: [Int32], source: SourceLocation? = nil) {
        self.ids = ids
        self.labels = labels
        self.source = source
    }

    /// Tokens this sample trains on (labels after the shift that are not -100).
    public var labelTokens: Int {
        labels.count > 1 ? labels[1...].filter { $0 != -100 }.count : 0
    }
}

/// One row of a micro-batch: a sample, or several packed end to end (each keeps its own
/// positions and attends only to itself).
public struct TrainingRow: Sendable, Equatable {
    public var samples: [TrainingSample]
    /// KTO's label of the row's example (desirable or not); nil for every other objective.
    public var desirable: Bool?

    public init(_ samples: [TrainingSample], desirable: Bool? = nil) {
        self.samples = samples
        self.desirable = desirable
    }

    public var labelTokens: Int { samples.reduce(0) { $0 + $1.labelTokens } }
    public var tokenCount: Int { samples.reduce(0) { $0 + $1.ids.count } }
}

/// The training loop, with transformers.Trainer's semantics: epochs of (seeded, shuffled or
/// length-grouped) micro-batches, gradient accumulation normalised by the step's label tokens,
/// clipping, the optimizer `optim` names (AdamW or SGD),
/// the learning-rate schedule, a `.step` event per step (sinks log every `logging_steps`),
/// evaluation and checkpoints on their strategies, and exact resume from a checkpoint.
public final class Trainer {
    public let model: CausalLM
    public let trainable: TrainableSet
    public let args: TrainingArguments
    /// Training rows (samples, or packed groups of samples); per_device_train_batch_size rows
    /// make a micro-batch.
    public let trainRows: [TrainingRow]
    /// Evaluation rows (samples; for a preference objective, pairs), per_device_eval_batch_size a batch.
    public let evalRows: [TrainingRow]
    /// Consumers of the run's events, in order.
    public var sinks: [TrainingSink] = []
    /// The base model's folder (tokenizer and config files are copied next to saved weights).
    public var baseFolder: URL?
    /// `base_model_name_or_path` written into adapter configs.
    public var baseName: String
    /// The hub revision the base was taken at (`model_revision`), recorded as adapter_config.json's `revision`; nil: null.
    public var baseRevision: String?
    /// Looked at after each step: when a stop was requested, the trainer saves a checkpoint (unless
    /// the step just saved one), emits `.interrupted` and throws `TrainingError.interrupted`.
    public var stopRequest: StopRequest?
    /// predict_with_generate's metrics, computed at each evaluation with the model as it is then
    /// (dropout off) and logged beside the loss (`eval_<name>`). Generation is TailorInference's, which
    /// the trainer does not import: a program that has both wires it in (tailor train does).
    public var generationMetrics: ((CausalLM) throws -> [String: Double])?
    /// Samples memory and CPU at each logging step (`TrainingEvent.system`); a program with a device sets
    /// its `deviceBytes`.
    public let systemSampler = SystemSampler()
    /// The ranks training together (data parallel), or the world of one. Every rank runs this loop
    /// over the same global order; rank 0 alone writes sinks, checkpoints and the trained weights.
    public let communicator: Communicator
    /// What every rank must agree on before the first step (`TrainingRun` puts the recipe here); the
    /// trainer adds its own rows, steps and parameters.
    public var agreement = ""

    let runner: StepRunner
    /// The current epoch's sample order (drawn once per epoch, not once per step).
    var epochOrder: (epoch: Int, order: [Int])?

    /// A trainer whose rows are single samples.
    public convenience init(model: CausalLM, trainable: TrainableSet, train: [TrainingSample], eval: [TrainingSample] = [],
                            args: TrainingArguments, baseName: String = "") throws {
        try self.init(model: model, trainable: trainable, rows: train.map { TrainingRow([$0]) }, eval: eval.map { TrainingRow([$0]) },
                      args: args, baseName: baseName)
    }

    /// - Parameter objective: what the steps minimise (SFT unless given); it also lays out each
    ///   micro-batch from its rows and evaluates.
    public init(model: CausalLM, trainable: TrainableSet, rows train: [TrainingRow], eval: [TrainingRow] = [],
                args: TrainingArguments, baseName: String = "", objective: TrainingObjective = SFTObjective(),
                communicator: Communicator = SingleProcess()) throws {
        try args.validate()
        guard !train.isEmpty else { throw TrainingError.unusableData("the training set is empty; give more data or a smaller validation_split") }
        guard train.contains(where: { $0.labelTokens > 0 }) else {
            throw TrainingError.unusableData("the training set has no label tokens: every sample is fully masked (-100)")
        }
        if args.evalOnStart && eval.isEmpty {
            throw TrainingError.conflictingKeys(key: "eval_on_start", other: "validation_file",
                                                problem: "needs evaluation data: set validation_file or validation_split")
        }
        try TrainingSample.checkVocabulary(rows: train, eval: eval, vocabSize: model.config.vocabSize)
        self.model = model
        self.trainable = trainable
        self.args = args
        self.trainRows = train
        self.evalRows = eval
        self.baseName = baseName
        self.communicator = communicator
        let total = Self.totalSteps(args: args, samples: train.count, worldSize: communicator.worldSize)
        let warmup = args.warmupSteps > 0 ? args.warmupSteps : LRSchedule.warmupSteps(ratio: args.warmupRatio, totalSteps: total)
        let optimizer: Optimizer
        if communicator.isDistributed && args.sharding.stage > 0 {
            optimizer = try ShardedOptimizer(parameters: trainable.parameters, stage: args.sharding.stage, communicator: communicator,
                                             backend: model.backend) { try args.makeOptimizer(parameters: $0, backend: model.backend) }
        } else {
            optimizer = try args.makeOptimizer(parameters: trainable.parameters, backend: model.backend)
        }
        runner = try StepRunner(model: model, optimizer: optimizer,
                                schedule: LRSchedule(kind: args.lrSchedulerType, baseLR: args.learningRate,
                                                     warmupSteps: warmup, totalSteps: total),
                                maxGradNorm: args.maxGradNorm)
        runner.objective = objective
        runner.communicator = communicator
        if let elements = args.sharding.bucketElements { runner.bucketElements = elements }
        model.gradientCheckpointing = args.gradientCheckpointing
        if case let .adalora(adapters) = trainable {
            try runner.train(adaLoRA: adapters, totalSteps: total, seed: args.seed)
        }
        if case let .encoder(encoder) = trainable { try runner.train(encoder: encoder) }
        if case let .lora(adapters) = trainable, adapters.hasDropout {
            // Masks from (seed, step, micro-batch): reproducible, and identical after a resume.
            let seed = args.seed
            runner.beforeMicroBatch = { step, micro in
                adapters.setDropoutKey(StepRunner.dropoutKey(seed: seed, step: step, micro: micro))
            }
        }
    }

    /// Micro-batches per epoch.
    static func microBatchesPerEpoch(args: TrainingArguments, samples: Int) -> Int {
        (samples + args.perDeviceTrainBatchSize - 1) / args.perDeviceTrainBatchSize
    }

    /// Micro-batches per optimizer step over all ranks: gradient_accumulation_steps on each.
    static func microBatchesPerStep(args: TrainingArguments, worldSize: Int) -> Int {
        args.gradientAccumulationSteps * max(1, worldSize)
    }

    /// Optimizer steps per epoch (a last, shorter accumulation counts as a step, as in transformers).
    static func stepsPerEpoch(args: TrainingArguments, samples: Int, worldSize: Int = 1) -> Int {
        let micro = microBatchesPerEpoch(args: args, samples: samples), perStep = microBatchesPerStep(args: args, worldSize: worldSize)
        return max(1, (micro + perStep - 1) / perStep)
    }

    static func totalSteps(args: TrainingArguments, samples: Int, worldSize: Int = 1) -> Int {
        if args.maxSteps > 0 { return args.maxSteps }
        // Int(exactly:): a num_train_epochs of 1e300 (or NaN) is "no end" rather than a trap.
        return Int(exactly: (args.numTrainEpochs * Double(stepsPerEpoch(args: args, samples: samples, worldSize: worldSize))).rounded(.up)) ?? Int.max
    }

    public var stepsPerEpoch: Int { Self.stepsPerEpoch(args: args, samples: trainRows.count, worldSize: communicator.worldSize) }
    public var totalSteps: Int { Self.totalSteps(args: args, samples: trainRows.count, worldSize: communicator.worldSize) }

    /// The row order of `epoch` (0-based), by train_sampling_strategy: file order, a seeded
    /// permutation, or that permutation grouped by length with transformers' LengthGroupedSampler,
    /// whose batch is per_device_train_batch_size × gradient_accumulation_steps rows (5.23's choice).
    public func order(epoch: Int) -> [Int] {
        switch args.sampling {
        case .sequential:
            return Array(0..<trainRows.count)
        case .random:
            return DataOrder.permutation(count: trainRows.count, seed: args.seed, epoch: epoch)
        case .groupByLength:
            return DataOrder.lengthGrouped(permutation: DataOrder.permutation(count: trainRows.count, seed: args.seed, epoch: epoch),
                                           lengths: trainRows.map(\.tokenCount),
                                           batchSize: args.perDeviceTrainBatchSize * args.gradientAccumulationSteps)
        }
    }

    /// The micro-batches of global step `step` (0-based), of every rank: gradient_accumulation_steps ×
    /// world size consecutive micro-batches of the epoch's order (the runner gives rank r those whose
    /// index is r modulo the world size, as accelerate deals batches to ranks).
    func microBatches(step: Int) throws -> [TokenBatch] {
        let epoch = step / stepsPerEpoch, index = step % stepsPerEpoch
        let order: [Int]
        if let cached = epochOrder, cached.epoch == epoch {
            order = cached.order
        } else {
            order = self.order(epoch: epoch)
            epochOrder = (epoch, order)
        }
        let batch = args.perDeviceTrainBatchSize, ga = Self.microBatchesPerStep(args: args, worldSize: communicator.worldSize)
        let micro = Self.microBatchesPerEpoch(args: args, samples: trainRows.count)
        return try (index * ga..<min((index + 1) * ga, micro)).map { m in
            let members = order[(m * batch)..<min((m + 1) * batch, order.count)]
            return try runner.objective.batch(members.map { trainRows[$0] })
        }
    }

    /// Writes checkpoint-`step` (pruning beyond save_total_limit) and emits `.checkpointSaved`.
    /// Data parallel, rank 0 writes it and the others only name it.
    private func saveCheckpoint(step: Int, state: inout Checkpoint.State, start: Double, outputDir: URL) throws -> URL {
        state.elapsedSeconds = monotonicSeconds() - start
        let sharded = runner.optimizer as? ShardedOptimizer
        try sharded?.gatherState()  // every rank takes part; rank 0 then writes the whole state
        defer { sharded?.dropGathered() }
        guard communicator.isMain else { return Checkpoint.folder(step: step, outputDir: outputDir) }
        let url = try Checkpoint.save(step: step, outputDir: outputDir, model: model, trainable: trainable,
                                      optimizer: runner.optimizer, state: state, baseFolder: baseFolder, baseName: baseName,
                                      baseRevision: baseRevision)
        if let limit = args.saveTotalLimit { Checkpoint.prune(outputDir: outputDir, keep: limit) }
        try emit(.checkpointSaved(step: step, path: url.path))
        return url
    }

    /// The trained weights (adapter or full model) in output_dir, with the tokenizer beside an adapter.
    private func saveTrained(outputDir: URL) throws {
        try trainable.save(model: model, baseFolder: baseFolder, baseName: baseName, baseRevision: baseRevision, to: outputDir)
        if trainable.isAdapter, let baseFolder {
            // Inference renders prompts as training did: the adapter carries the tokenizer and template.
            try ModelFolderWriter.copyFiles(ModelFolderWriter.tokenizerFiles, from: baseFolder, to: outputDir)
        }
    }

    /// Whether a stop was requested on any rank after `step` (every rank then stops after the same step).
    private func stopRequested(step: Int) throws -> Bool {
        let here = stopRequest?.isRequested == true
        guard communicator.isDistributed else { return here }
        var flag = [here ? 1.0 : 0.0]
        try communicator.allReduceSum(&flag, label: "step \(step)'s stop check")
        return flag[0] > 0
    }

    /// Every rank's `agreement`, rows, steps and trainable parameters must be rank 0's; otherwise
    /// every rank fails naming the first rank and line that differ.
    func checkRanksAgree() throws {
        guard communicator.isDistributed else { return }
        let mine = agreement + "\ntraining rows: \(trainRows.count) (\(trainRows.reduce(0) { $0 + $1.labelTokens }) label tokens), evaluation rows: \(evalRows.count)"
            + "\ntotal steps: \(totalSteps)\ntrainable: " + trainable.parameters.map { "\($0.name) \($0.value.shape)" }.joined(separator: ", ")
        let all = try communicator.allGather(Array(mine.utf8), label: "the start-up check that every rank runs the same recipe")
        for (rank, bytes) in all.enumerated() where bytes != all[0] {
            let main = String(decoding: all[0], as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            let other = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            let line = zip(main, other).first { $0 != $1 } ?? (main.last ?? "", other.last ?? "")
            throw TrainingError.distributed("rank \(rank) was started with another recipe or data than rank 0: `\(line.1)` where rank 0 has `\(line.0)`;"
                                            + " start every rank with the same recipe and data files")
        }
    }

    /// Fails before any step when `folder` cannot be created or written.
    static func checkWritable(_ folder: URL) throws {
        let probe = folder.appendingPathComponent(".tailor-write-test-\(getpid())")
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try Data().write(to: probe)
            try FileManager.default.removeItem(at: probe)
        } catch {
            throw TrainingError.unwritableFolder(key: "output_dir", path: folder.path, reason: error.localizedDescription)
        }
    }

    func emit(_ event: TrainingEvent) throws {
        guard communicator.isMain else { return }
        for sink in sinks { try sink.handle(event) }
    }

    /// The objective's loss and metrics over the evaluation rows (SFT: the mean cross-entropy per
    /// label token; a preference loss: the mean per pair), with AdaLoRA's orthogonal regulariser added
    /// as peft adds it to every forward's loss. Data parallel, rank r evaluates the
    /// batches whose index is r modulo the world size, and the sums are added over ranks.
    public func evaluate() throws -> (loss: Double, labelTokens: Int, metrics: [String: Double]) {
        if case let .lora(adapters) = trainable { adapters.setDropoutKey(nil) }  // no dropout in evaluation
        if case let .adalora(adapters) = trainable { adapters.setDropoutKey(nil) }
        var lossSum = 0.0, weight = 0.0, labels = 0
        var metrics: [String: Double] = [:]
        let (rank, world) = (communicator.rank, communicator.worldSize)
        for (index, start) in stride(from: 0, to: evalRows.count, by: args.perDeviceEvalBatchSize).enumerated() where index % world == rank {
            let members = Array(evalRows[start..<min(start + args.perDeviceEvalBatchSize, evalRows.count)])
            let share = try runner.objective.evaluate(try runner.objective.batch(members), model: model)
            lossSum += share.lossSum
            weight += share.weight
            labels += share.labelTokens
            metrics.merge(share.metrics, uniquingKeysWith: +)
        }
        if communicator.isDistributed {
            // Σ loss and each metric's Σ travel as a step's shares do; the weight and label count beside them.
            var mine = MetricShares()
            mine.add(loss: lossSum, metrics: metrics)
            let total = try mine.summed(over: communicator, label: "the evaluation's sums")
            var counts = [weight, Double(labels)]
            try communicator.allReduceSum(&counts, label: "the evaluation's weights")
            (lossSum, weight, labels) = (total.loss, counts[0], Int(exactly: counts[1]) ?? 0)
            metrics = total.metrics.mapValues(\.sum)
        }
        // peft's AdaLoraModel.forward adds the orthogonal regulariser to every loss, evaluation's too.
        var regularizer = 0.0
        if case let .adalora(adapters) = trainable {
            regularizer = try adapters.addOrthogonalRegularizer(gradients: GradientStore(), backend: model.backend)
        }
        return (weight > 0 ? lossSum / weight + regularizer : 0, labels, weight > 0 ? metrics.mapValues { $0 / weight } : [:])
    }

    func evaluationRecord(step: Int) throws -> EvaluationRecord {
        let (loss, labels, metrics) = try evaluate()
        var record = EvaluationRecord(step: step, epoch: Double(step) / Double(stepsPerEpoch), loss: loss, labelTokens: labels)
        record.metrics = metrics
        if let generationMetrics, communicator.isMain { record.metrics.merge(try generationMetrics(model)) { _, generated in generated } }
        return record
    }

    /// Runs the loop to the last step; resumes from `checkpoint` when given.
    @discardableResult
    public func train(resumeFrom checkpoint: URL? = nil) throws -> TrainingSummary {
        let outputDir = URL(fileURLWithPath: args.outputDir)
        if communicator.isMain {
            try Self.checkWritable(outputDir)
            Checkpoint.recover(outputDir: outputDir)  // what a run killed while saving left
        }
        try checkRanksAgree()
        let total = totalSteps
        var state = Checkpoint.State(globalStep: 0, totalSteps: total, seed: args.seed,
                                     parameterNames: trainable.parameters.map(\.name),
                                     parameterShapes: trainable.parameters.map(\.value.shape),
                                     elapsedSeconds: 0)
        if let checkpoint {
            let loaded = try Checkpoint.load(from: checkpoint, trainable: trainable, optimizer: runner.optimizer, backend: model.backend)
            guard loaded.seed == args.seed, loaded.totalSteps == total else {
                throw TrainingError.checkpoint(path: checkpoint.path,
                                               problem: "was written with seed \(loaded.seed) and \(loaded.totalSteps) total steps; this run has seed \(args.seed) and \(total) steps")
            }
            state = loaded
        }
        if communicator.isDistributed {  // every rank starts from rank 0's weights, as DDP does
            try communicator.broadcastFromMain(trainable.parameters, backend: model.backend, label: "the start-up broadcast of the trainable weights")
        }
        // The mean loss of the whole run (transformers' train_loss); before lossSum was kept, of the steps run here.
        var lossSum = state.lossSum ?? 0, lossSteps = state.lossSum == nil ? 0 : state.globalStep
        try emit(.started(TrainingPlan(totalSteps: total, epochs: Double(total) / Double(stepsPerEpoch),
                                       samples: trainRows.count, trainableParameters: trainable.parameterCount,
                                       totalParameters: model.config.parameterCount, outputDir: outputDir.path,
                                       firstStep: state.globalStep + 1)))
        let start = monotonicSeconds() - state.elapsedSeconds
        if args.evalOnStart {  // as Trainer: before the first step run here, on resume too
            try emit(.evaluation(try evaluationRecord(step: state.globalStep)))
        }
        var lastLoss = 0.0, tokensTotal = 0, labelTokensTotal = 0
        while state.globalStep < total {
            let batches = try microBatches(step: state.globalStep)
            let stepStart = monotonicSeconds()
            let log = try runner.step(batches)
            let tokens = batches.reduce(0) { $0 + $1.tokenCount }
            tokensTotal += tokens
            labelTokensTotal += log.labelTokens
            state.globalStep += 1
            lastLoss = log.loss
            lossSum += log.loss
            lossSteps += 1
            state.lossSum = lossSum
            let step = state.globalStep
            let epoch = Double(step) / Double(stepsPerEpoch)
            let now = monotonicSeconds()
            // Every step is reported; sinks average over logging_steps as Trainer's logs do.
            var record = StepRecord(step: step, totalSteps: total, epoch: epoch, loss: log.loss, gradNorm: log.gradNorm,
                                    learningRate: log.learningRate, labelTokens: log.labelTokens, tokens: tokens,
                                    elapsed: now - start, tokensPerSecond: Double(tokens) / max(now - stepStart, 1e-9))
            record.metrics = log.metrics
            try emit(.step(record))
            if step % args.loggingSteps == 0 || step == total { try emit(.system(systemSampler.sample(step: step))) }
            let epochEnd = step % stepsPerEpoch == 0
            if !evalRows.isEmpty,
               (args.evalStrategy == .steps && step % (args.evalSteps ?? args.loggingSteps) == 0) || (args.evalStrategy == .epoch && epochEnd) {
                try emit(.evaluation(try evaluationRecord(step: step)))
            }
            var saved: URL?
            if (args.saveStrategy == .steps && step % args.saveSteps == 0) || (args.saveStrategy == .epoch && epochEnd) {
                saved = try saveCheckpoint(step: step, state: &state, start: start, outputDir: outputDir)
            }
            if try stopRequested(step: step) {
                let url = try saved ?? saveCheckpoint(step: step, state: &state, start: start, outputDir: outputDir)
                try emit(.interrupted(step: step, checkpoint: url.path))
                throw TrainingError.interrupted(step: step, checkpoint: url.path)
            }
        }
        if case let .lora(adapters) = trainable { adapters.setDropoutKey(nil) }
        if case let .adalora(adapters) = trainable { adapters.setDropoutKey(nil) }
        if communicator.isMain {
            try saveTrained(outputDir: outputDir)
        }
        try communicator.barrier(label: "the end of training (rank 0 saving the trained weights)")
        let seconds = monotonicSeconds() - start
        var summary = TrainingSummary(steps: total, seconds: seconds, finalLoss: lastLoss,
                                      tokensPerSecond: Double(tokensTotal) / max(seconds, 1e-9),
                                      labelTokensPerSecond: Double(labelTokensTotal) / max(seconds, 1e-9), outputDir: outputDir.path)
        summary.trainLoss = lossSteps > 0 ? lossSum / Double(lossSteps) : lastLoss
        try emit(.finished(summary))
        return summary
    }
}
