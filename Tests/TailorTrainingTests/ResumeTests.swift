import Foundation
import TailorAdapters
import TailorFormats
import TailorModels
import TailorTensor
import TailorTestSupport
import TailorTraining
import XCTest

/// Collects step records; optionally stops the run after a checkpoint (an interruption).
final class RecordingSink: TrainingSink {
    var steps: [StepRecord] = []
    var checkpoints: [Int] = []
    var stopAfterCheckpoint: Int?

    struct Interrupted: Error {}

    func handle(_ event: TrainingEvent) throws {
        switch event {
        case let .step(record): steps.append(record)
        case let .checkpointSaved(step, _):
            checkpoints.append(step)
            if step == stopAfterCheckpoint { throw Interrupted() }
        default: break
        }
    }
}

/// Resuming from a checkpoint continues bit-identically; a run that dies while saving leaves the
/// previous checkpoint intact.
final class ResumeTests: XCTestCase {
    var output: URL!

    override func setUpWithError() throws {
        output = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-resume-\(UUID().uuidString)")
    }

    override func tearDownWithError() throws {
        Checkpoint.testHookBeforeCommit = nil
        try? FileManager.default.removeItem(at: output)
    }

    static func samples() -> [TrainingSample] {
        var rng = SeededRandom(seed: 21)
        return (0..<24).map { i in
            let ids = rng.ints(6 + i % 5, in: 3..<96)
            var labels = ids
            labels[0] = -100
            labels[1] = -100
            return TrainingSample(ids: ids, labels: labels)
        }
    }

    func makeTrainer(_ folder: URL, dropout: Double = 0,
                     configure: (inout TrainingArguments) -> Void = { _ in }) throws -> (Trainer, LoRAAdapters, RecordingSink) {
        let model = try CausalLM.load(folder: TestPaths.fixture("models/llama"), backend: try CPUBackend())
        let adapters = try LoRAAdapters.attach(to: model, config: LoRAConfig(r: 4, loraAlpha: 8, loraDropout: dropout, targetModules: .allLinear), seed: 9)
        var args = TrainingArguments()
        args.outputDir = folder.path
        args.maxSteps = 10
        args.perDeviceTrainBatchSize = 2
        args.gradientAccumulationSteps = 2
        args.learningRate = 3e-3
        args.lrSchedulerType = .cosine
        args.warmupSteps = 2
        args.weightDecay = 0.01
        args.loggingSteps = 1
        args.saveSteps = 5
        args.seed = 1234
        configure(&args)
        let trainer = try Trainer(model: model, trainable: .lora(adapters), train: Self.samples(), args: args)
        let sink = RecordingSink()
        trainer.sinks = [sink]
        return (trainer, adapters, sink)
    }

    func adapterValues(_ adapters: LoRAAdapters, _ backend: Backend) throws -> [[Float]] {
        try adapters.modules.flatMap { [try backend.download($0.lora.a), try backend.download($0.lora.b)] }
    }

    func testResumeReproducesAnUninterruptedRunExactly() throws {
        let (straight, straightAdapters, straightSink) = try makeTrainer(output.appendingPathComponent("straight"))
        XCTAssertEqual(straight.stepsPerEpoch, 6)  // 12 micro-batches / GA 2: steps cross an epoch boundary
        try straight.train()
        XCTAssertEqual(straightSink.steps.count, 10)
        XCTAssertEqual(straightSink.checkpoints, [5, 10])

        let folder = output.appendingPathComponent("interrupted")
        let (first, _, firstSink) = try makeTrainer(folder)
        firstSink.stopAfterCheckpoint = 5
        XCTAssertThrowsError(try first.train())
        XCTAssertEqual(firstSink.steps.count, 5)

        let (second, secondAdapters, secondSink) = try makeTrainer(folder)
        try second.train(resumeFrom: Checkpoint.resolve("latest", outputDir: folder))
        let resumedLosses = firstSink.steps.map(\.loss) + secondSink.steps.map(\.loss)
        XCTAssertEqual(resumedLosses, straightSink.steps.map(\.loss), "losses bit for bit")
        XCTAssertEqual(secondSink.steps.map(\.step), Array(6...10))
        XCTAssertEqual(try adapterValues(secondAdapters, second.model.backend), try adapterValues(straightAdapters, straight.model.backend),
                       "final adapter bit for bit")
    }

    func testDyingWhileSavingKeepsThePreviousCheckpoint() throws {
        let folder = output.appendingPathComponent("dies")
        let (trainer, _, _) = try makeTrainer(folder)
        struct Killed: Error {}
        Checkpoint.testHookBeforeCommit = { url in
            if url.lastPathComponent.contains("checkpoint-10") { throw Killed() }
        }
        XCTAssertThrowsError(try trainer.train())
        Checkpoint.testHookBeforeCommit = nil
        XCTAssertEqual(Checkpoint.list(in: folder).map(\.step), [5], "no partial checkpoint-10")
        let latest = try Checkpoint.resolve("latest", outputDir: folder)
        XCTAssertEqual(latest.lastPathComponent, "checkpoint-5")
        let (resumed, _, sink) = try makeTrainer(folder)
        try resumed.train(resumeFrom: latest)
        XCTAssertEqual(sink.steps.first?.step, 6)
    }

    func testResumeFromAnotherAdapterShapeIsRefused() throws {
        let folder = output.appendingPathComponent("shape")
        let (trainer, _, sink) = try makeTrainer(folder)
        sink.stopAfterCheckpoint = 5
        XCTAssertThrowsError(try trainer.train())
        let model = try CausalLM.load(folder: TestPaths.fixture("models/llama"), backend: try CPUBackend())
        let adapters = try LoRAAdapters.attach(to: model, config: LoRAConfig(r: 8, loraAlpha: 8, targetModules: .allLinear))
        var args = trainer.args
        args.outputDir = output.appendingPathComponent("other").path
        let other = try Trainer(model: model, trainable: .lora(adapters), train: Self.samples(), args: args)
        XCTAssertThrowsError(try other.train(resumeFrom: folder.appendingPathComponent("checkpoint-5"))) { error in
            guard case let .checkpoint(path, problem)? = error as? TrainingError else { return XCTFail("\(error)") }
            XCTAssertTrue(path.hasSuffix("shape/checkpoint-5"), path)
            XCTAssertTrue(problem.hasPrefix("was written for other trainable parameters"), problem)
            // The first tensor: r 4 in the checkpoint, r 8 here.
            let first = adapters.parameters[0], shape = first.value.shape
            let saved = first.name.hasSuffix("lora_A.weight") ? [4, shape[1]] : [shape[0], 4]
            XCTAssertTrue(problem.contains("its \(first.name) is \(saved) where this run's is \(shape)"), problem)
            // Which setting to match: the checkpoint's r, and no count when the counts agree.
            XCTAssertTrue(problem.contains("it was trained with r 4 and this run has r 8: set r: 4 to resume it"), problem)
            XCTAssertFalse(problem.contains("tensors where this run has"), problem)
        }
    }

    func testFullyMaskedDataAndBadOptionsFailBeforeAnyStep() throws {
        let model = try CausalLM.load(folder: TestPaths.fixture("models/llama"), backend: try CPUBackend(kernels: .reference))
        let adapters = try LoRAAdapters.attach(to: model, config: LoRAConfig(r: 2, targetModules: .names(["q_proj"])))
        let masked = [TrainingSample(ids: [4, 5, 6], labels: [-100, -100, -100])]
        XCTAssertThrowsError(try Trainer(model: model, trainable: .lora(adapters), train: masked, args: TrainingArguments())) { error in
            XCTAssertTrue("\(error)".contains("fully masked"), "\(error)")
        }
        XCTAssertThrowsError(try Trainer(model: model, trainable: .lora(adapters), train: [], args: TrainingArguments()))
        var args = TrainingArguments()
        args.learningRate = 0
        XCTAssertThrowsError(try Trainer(model: model, trainable: .lora(adapters), train: Self.samples(), args: args)) { error in
            XCTAssertTrue("\(error)".contains("learning_rate"), "\(error)")
        }
        XCTAssertThrowsError(try LoRAAdapters.attach(to: model, config: LoRAConfig(r: 0))) { error in
            XCTAssertTrue("\(error)".contains("'r'"), "\(error)")
        }
        XCTAssertThrowsError(try LoRAAdapters.attach(to: model, config: LoRAConfig(r: 2, targetModules: .names(["c_attn"])))) { error in
            XCTAssertTrue("\(error)".contains("q_proj") && "\(error)".contains("c_attn"), "\(error)")
        }
    }
}

extension ResumeTests {
    func testUnwritableOutputFolderFailsBeforeAnyStep() throws {
        let blocker = output.appendingPathComponent("a-file")
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        try Data("x".utf8).write(to: blocker)
        let (trainer, _, sink) = try makeTrainer(blocker.appendingPathComponent("out"))
        XCTAssertThrowsError(try trainer.train()) { error in
            XCTAssertTrue("\(error)".contains("output_dir") && "\(error)".contains("cannot be written"), "\(error)")
        }
        XCTAssertTrue(sink.steps.isEmpty)
    }

    func testNonFiniteLossStopsTheRunAndKeepsTheLastCheckpoint() throws {
        let folder = output.appendingPathComponent("nan")
        let (first, _, firstSink) = try makeTrainer(folder)
        firstSink.stopAfterCheckpoint = 5
        XCTAssertThrowsError(try first.train())
        let (second, _, sink) = try makeTrainer(folder)
        let norm = second.model.finalNorm
        let poisoned = try second.model.backend.upload([Float](repeating: .nan, count: norm.count), shape: norm.shape, dtype: .f32)
        try second.model.replaceParameter(CausalLM.finalNormName, with: poisoned)
        XCTAssertThrowsError(try second.train(resumeFrom: folder.appendingPathComponent("checkpoint-5"))) { error in
            XCTAssertTrue("\(error)".contains("step 6") && "\(error)".contains("nan"), "\(error)")
        }
        XCTAssertTrue(sink.steps.isEmpty)
        XCTAssertEqual(Checkpoint.list(in: folder).map(\.step), [5], "the last good checkpoint stays")
    }
}

extension ResumeTests {
    /// With lora_dropout the masks come from (seed, step, micro-batch), so a resumed run still
    /// reproduces the uninterrupted one exactly, and dropout changes the run.
    func testResumeWithDropoutIsExactToo() throws {
        let (straight, _, straightSink) = try makeTrainer(output.appendingPathComponent("straight"), dropout: 0.1)
        try straight.train()
        let (plain, _, plainSink) = try makeTrainer(output.appendingPathComponent("plain"))
        try plain.train()
        XCTAssertNotEqual(straightSink.steps.map(\.loss), plainSink.steps.map(\.loss), "dropout must change the run")
        let folder = output.appendingPathComponent("interrupted")
        let (first, _, firstSink) = try makeTrainer(folder, dropout: 0.1)
        firstSink.stopAfterCheckpoint = 5
        XCTAssertThrowsError(try first.train())
        let (second, _, secondSink) = try makeTrainer(folder, dropout: 0.1)
        try second.train(resumeFrom: folder.appendingPathComponent("checkpoint-5"))
        XCTAssertEqual(firstSink.steps.map(\.loss) + secondSink.steps.map(\.loss), straightSink.steps.map(\.loss))
    }
}

extension ResumeTests {
    static func sgd(_ args: inout TrainingArguments) {
        args.optim = .sgd
        args.optimArgs = "momentum=0.9,nesterov=True"
        args.learningRate = 0.05
        args.sampling = .groupByLength
    }

    /// SGD's momentum buffers are saved and loaded, so an SGD run (with group_by_length, whose
    /// order is redrawn from the seed) resumes bit-identically; an SGD checkpoint is refused by AdamW.
    func testResumeWithSGDIsExact() throws {
        let (straight, straightAdapters, straightSink) = try makeTrainer(output.appendingPathComponent("straight"), configure: Self.sgd)
        try straight.train()
        let (adamw, _, adamwSink) = try makeTrainer(output.appendingPathComponent("adamw"))
        try adamw.train()
        XCTAssertNotEqual(straightSink.steps.map(\.loss), adamwSink.steps.map(\.loss), "sgd must change the run")

        let folder = output.appendingPathComponent("interrupted")
        let (first, _, firstSink) = try makeTrainer(folder, configure: Self.sgd)
        firstSink.stopAfterCheckpoint = 5
        XCTAssertThrowsError(try first.train())
        let checkpoint = folder.appendingPathComponent("checkpoint-5")
        let state = try SafetensorsFile(url: checkpoint.appendingPathComponent("optimizer.safetensors"))
        XCTAssertEqual(state.metadata["optimizer"], "sgd")
        XCTAssertEqual(Set(state.tensorNames), Set(first.trainable.parameters.map { "momentum_buffer." + $0.name }))

        let (second, secondAdapters, secondSink) = try makeTrainer(folder, configure: Self.sgd)
        try second.train(resumeFrom: checkpoint)
        XCTAssertEqual(firstSink.steps.map(\.loss) + secondSink.steps.map(\.loss), straightSink.steps.map(\.loss), "losses bit for bit")
        XCTAssertEqual(try adapterValues(secondAdapters, second.model.backend), try adapterValues(straightAdapters, straight.model.backend),
                       "final adapter bit for bit")

        let (other, _, _) = try makeTrainer(output.appendingPathComponent("other"))
        XCTAssertThrowsError(try other.train(resumeFrom: checkpoint)) { error in
            XCTAssertTrue("\(error)".contains("optimizer sgd") && "\(error)".contains("adamw"), "\(error)")
        }
    }
}

extension ResumeTests {
    /// A stop request (SIGINT in the CLI) ends the run after the current step with a checkpoint of
    /// that step and `.interrupted`; resuming from it reproduces the uninterrupted run.
    func testAStopRequestSavesACheckpointAndTheRunResumesFromIt() throws {
        let (straight, _, straightSink) = try makeTrainer(output.appendingPathComponent("straight"))
        try straight.train()
        let folder = output.appendingPathComponent("stopped")
        let (first, _, firstSink) = try makeTrainer(folder)
        let stop = StopRequest()
        first.stopRequest = stop
        final class StopAt: TrainingSink {
            let stop: StopRequest
            var interrupted: [Int] = []
            init(_ stop: StopRequest) { self.stop = stop }
            func handle(_ event: TrainingEvent) throws {
                if case let .step(record) = event, record.step == 3 { XCTAssertFalse(stop.request(), "the first request") }
                if case let .interrupted(step, _) = event { interrupted.append(step) }
            }
        }
        let stopAt = StopAt(stop)
        first.sinks.append(stopAt)
        XCTAssertThrowsError(try first.train()) { error in
            guard case let .interrupted(step, checkpoint)? = error as? TrainingError else { return XCTFail("\(error)") }
            XCTAssertEqual(step, 3)
            XCTAssertEqual(checkpoint, folder.appendingPathComponent("checkpoint-3").path)
            XCTAssertTrue("\(error)".contains("resume with resume_from_checkpoint"), "\(error)")
        }
        XCTAssertTrue(stop.request(), "a second request says one was made before")
        XCTAssertEqual(stopAt.interrupted, [3])
        XCTAssertEqual(firstSink.steps.count, 3, "the step in progress finishes; no later one starts")
        XCTAssertEqual(firstSink.checkpoints, [3])
        let (second, _, secondSink) = try makeTrainer(folder)
        try second.train(resumeFrom: Checkpoint.resolve("latest", outputDir: folder))
        XCTAssertEqual(firstSink.steps.map(\.loss) + secondSink.steps.map(\.loss), straightSink.steps.map(\.loss), "losses bit for bit")
    }

    /// A stop requested on a step that saves anyway uses that checkpoint.
    func testAStopOnASavingStepWritesOneCheckpoint() throws {
        let (saving, _, sink) = try makeTrainer(output.appendingPathComponent("every"), configure: { $0.saveSteps = 1 })
        let stop = StopRequest()
        stop.request()
        saving.stopRequest = stop
        XCTAssertThrowsError(try saving.train())
        XCTAssertEqual(sink.steps.count, 1)
        XCTAssertEqual(sink.checkpoints, [1], "one checkpoint, not two of step 1")
    }
}
