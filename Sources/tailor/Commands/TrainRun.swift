import ArgumentParser
import Foundation
import TailorModels
import TailorCUDA
import TailorTensor
import TailorTraining
import Synchronization

/// `tailor train`'s wiring: the backend (TailorCUDA's GPU backend offered to the library's
/// choice), a GGUF file imported into a model folder, then `TrainingRun` with the console
/// progress sink, and the lines it shows.
struct TrainRun {
    let recipe: TrainRecipe
    let dryRun: Bool
    /// The hub snapshot `model_name_or_path` names, resolved by the caller (`ModelArgument.hubFolder`); nil for a local path.
    var modelFolder: URL? = nil
    /// Data an earlier run of a sweep prepared, with its recipe: used when this recipe encodes the same data.
    var shared: (recipe: TrainRecipe, data: TrainingData)? = nil

    /// Trains (or, with dryRun, shows the plan); returns the recipe as run and its data, for a sweep's next run.
    /// Started by mpirun (or `tailor launch`), this process is one rank of a data-parallel run: rank 0
    /// prints and writes; an error on any rank ends every rank at once.
    @discardableResult
    func run() throws -> (recipe: TrainRecipe, data: TrainingData) {
        try recipe.validate()
        let world = try ProcessWorld.join(timeoutSeconds: recipe.training.ddpTimeout)
        guard world.isDistributed else { return try run(world: world) }
        Console.quiet = !world.isMain
        do {
            let result = try run(world: world)
            world.finish()
            return result
        } catch let exit as ExitCode {  // interrupted: every rank stopped after the same step
            world.finish()
            throw exit
        } catch {
            let text = "\(error)", place = "rank \(world.rank) of \(world.worldSize)"
            FileHandle.standardError.write(Data((text.contains(place) ? "error: \(text)\n" : "\(place): error: \(text)\n").utf8))
            world.abort(code: 1)  // the other ranks may be waiting in a collective for this one
            throw error
        }
    }

    /// The folder the run reads its config and tokenizer from, and a quantized GGUF whose ggml blocks are the
    /// frozen weights (`TrainingRun.ggufBlocksPlan`): for a .gguf model_name_or_path either its cached files
    /// folder and the file, or its cached f32 import (saying why) and nil; otherwise the folder and nil.
    func modelSource(compute: TrainingBackend) throws -> (folder: URL, ggufBlocks: URL?) {
        if let modelFolder { return (modelFolder, nil) }
        guard case let .gguf(url) = ModelSource(path: recipe.modelNameOrPath) else { return (URL(fileURLWithPath: recipe.modelNameOrPath), nil) }
        let plan = try TrainingRun.ggufBlocksPlan(recipe, compute: compute, gguf: url)
        if plan.trainsOnBlocks {
            return (try GGUFImport.filesFolder(for: recipe.modelNameOrPath) { printError($0.description) }, url)
        }
        if !plan.why.isEmpty { say("weights: \(url.lastPathComponent) imported to f32 first: \(plan.why)") }
        return (try GGUFImport.modelFolder(for: recipe.modelNameOrPath), nil)
    }

    func run(world: Communicator) throws -> (recipe: TrainRecipe, data: TrainingData) {
        if world.isMain { try OutputFolder.checkWritable(URL(fileURLWithPath: recipe.training.outputDir)) }  // before any import or load
        let compute = try DeviceOptions.trainingBackend(recipe.device, bf16: recipe.bf16)
        if let note = compute.note { printError(note) }
        say("device: \(compute.backend.name)")
        if !world.isDistributed && recipe.training.sharding.stage > 0 {
            printError("warning: ZeRO stage \(recipe.training.sharding.stage) (\(recipe.training.deepspeed.map { "deepspeed \($0)" } ?? "fsdp")) shards over"
                       + " the ranks of a data-parallel run; in one process it changes nothing (start it with tailor launch --nproc N)")
        }
        if world.isDistributed {
            let training = recipe.training
            say("ranks: \(world.worldSize) (\(world.transport)), \(world.localSize) on this machine; global batch \(training.perDeviceTrainBatchSize)"
                + " × \(training.gradientAccumulationSteps) accumulation × \(world.worldSize) ranks = "
                + "\(training.perDeviceTrainBatchSize * training.gradientAccumulationSteps * world.worldSize) rows per step"
                + (training.sharding.stage > 0 ? "; ZeRO stage \(training.sharding.stage) (\(training.sharding.stage == 1 ? "optimizer state" : "optimizer state and gradients") sharded)" : ""))
        }
        if let backend = compute.backend as? CPUBackend {
            let cpu = CPUReport.current()
            say("cpu: \(cpu.features.summary)")
            say("cpu path: \(cpu.gemmSummary)")
            say("products: " + (backend.matmul == .halfInputs ? "bf16 (bf16: true; bf16 weights multiply bf16 activations, f32 accumulation)"
                                 : "fp32" + (recipe.bf16 ? " (bf16 products unavailable: \(backend.matmulFallback?.reason ?? "?"))" : " (bf16: false)")))
            if recipe.bf16, recipe.givenKeys.contains("bf16"), let why = backend.matmulFallback {
                printError("warning: bf16: true computes in fp32 on this CPU (\(why.reason)); set bf16: false to silence this")
            }
        }
        let (modelFolder, ggufBlocks) = try modelSource(compute: compute)
        let reused = shared.flatMap { $0.recipe.encodesSameData(as: recipe) ? $0.data : nil }
        if reused != nil { say("data: the sweep's earlier run encoded the same data; reused") }
        let run = try TrainingRun(recipe: recipe, modelFolder: modelFolder, compute: compute, lockOutput: !dryRun, data: reused,
                                  communicator: world, ggufBlocks: ggufBlocks)
        let (model, data, trainable) = (run.model, run.data, run.trainable)
        if let file = run.ggufBlocks {
            let blocks = run.ggufBlockTensors
            say("frozen weights: \(file.lastPathComponent)'s ggml blocks as stored, "
                + blocks.map { "\($0.count) \($0.type) tensor\($0.count == 1 ? "" : "s") (\(fmt(Double($0.bytes) / 1_048_576, 1)) MiB)" }.joined(separator: ", ")
                + ", decoded inside each product (no f32 copy; `tailor import gguf FILE --output DIR` writes a dequantized folder)")
        }
        if model.roundedProductWeights > 0 {
            say("frozen weights: \(model.roundedProductWeights) f32 product weights rounded to bf16 at load (autocast rounds them at"
                + " every product; embeddings, norms, biases and what trains stay f32)")
        }
        for warning in data.warnings + run.warnings { printError("warning: \(warning)") }
        if let path = run.recipe.adapterNameOrPath, run.recipe.finetuningType == .lora {
            say("adapter: starting from \(path) (r \(run.recipe.lora.r), lora_alpha \(fmt(run.recipe.lora.loraAlpha, 1)))"
                + (recipe.resumeFromCheckpoint != nil ? "; resume_from_checkpoint is set, so the checkpoint's values replace the adapter's" : ""))
        }
        let total = model.config.parameterCount
        let share = 100 * Double(trainable.parameterCount) / Double(total)
        if dryRun { say("trainable params: \(trainable.parameterCount) || all params: \(total) || trainable%: \(fmt(share, 4))") }
        let estimate = MemoryEstimate(model: model, trainable: trainable, tokens: run.tokensPerMicroBatch,
                                      checkpointing: run.recipe.training.gradientCheckpointing,
                                      optimizerStates: recipe.training.optimizerStatesPerParameter,
                                      optimizerStateBytes: recipe.training.optimizerStateBytes,
                                      runtimeBytes: compute.isAccelerator ? 0 : MemoryEstimate.cpuRuntimeBytes)
        say("estimated peak memory: \(estimate.summary)")
        if run.recipe.training.gradientCheckpointing != recipe.training.gradientCheckpointing {
            say("gradient checkpointing: on for the 4-bit model, as peft's prepare_model_for_kbit_training does (gradient_checkpointing: false turns it off)")
        }
        if let q = run.recipe.quantization.fourBit {
            let linears = model.layers.flatMap(\.linears)
            let bytes = linears.reduce(0) { $0 + $1.weight.byteCount }, count = max(linears.reduce(0) { $0 + $1.weight.count }, 1)
            say("frozen linears: \(q.format)\(q.doubleQuant ? " with double quantization" : ""), \(count) weights in \(bytes) bytes"
                + " (\(fmt(8 * Double(bytes) / Double(count), 3)) bits per weight; \(fmt(q.bitsPerWeight, 3)) without each tensor's 1 KB map)")
        }
        if run.recipe.stage == .kto {
            let desirable = data.train.filter { $0.desirable == true }.count
            say("data: \(data.train.count) KTO examples (\(desirable) desirable, \(data.train.count - desirable) undesirable; \(data.trainLabelTokens)"
                + " completion tokens), \(data.eval.count) evaluation examples; reference: "
                + (run.precomputesReference ? "log-probabilities computed once before the first step (\(ReferenceLogProbs.fileName))"
                    : "the base model with the adapter disabled"))
        } else if run.recipe.stage == .dpo {
            say("data: \(data.train.count) preference pairs (\(data.trainLabelTokens) reply tokens, longest sequence \(data.longestSample)),"
                + " \(data.eval.count) evaluation pairs; reference: "
                + (!run.recipe.preference.usesReference ? "none (\(run.recipe.preference.losses.map(\.rawValue).joined(separator: ", ")) reads none)"
                    : run.precomputesReference ? "log-probabilities computed once before the first step (\(ReferenceLogProbs.fileName))"
                    : "the base model with the adapter disabled"))
        } else {
            say("data: \(data.train.count) training rows (\(data.trainSampleCount) samples, \(data.trainLabelTokens) label tokens), \(data.eval.count) evaluation samples")
        }
        if dryRun {
            say("resolved options:")
            print(RecipeYAML.render(run.recipe), terminator: "")
            return (recipe, data)
        }
        if run.recipe.predictWithGenerate {
            let (metrics, summary) = try PredictWithGenerate.metrics(for: run)
            run.generationMetrics = metrics
            say(summary)
        }
        if let cuda = compute.backend as? CUDABackend {
            run.deviceBytes = { cuda.allocator.allocatedBytes }
            if let gpu = cuda.device as? DriverDevice {
                do {
                    let nvml = try GPUUtilization(pciBusID: gpu.pciBusID)
                    run.deviceUtilization = { nvml.sample() }
                } catch {
                    printError("note: GPU utilisation is not sampled: \(error)")
                }
            }
        }
        let interrupt = InterruptHandler(run.stopRequest, alsoStopOn: world.isDistributed ? [SIGUSR1, SIGUSR2] : [])
        let summary: TrainingSummary
        do {
            summary = try run.train(extraSinks: [ConsoleProgressSink.standardError(lineEvery: recipe.training.loggingSteps)])
        } catch TrainingError.interrupted(_, let checkpoint) {
            let command = Self.resumeCommand(checkpoint: checkpoint)
            // A rank's own command line is `tailor train ...`; the job is resumed as it was started.
            printError("to resume: " + (world.isDistributed ? "tailor launch --nproc \(world.worldSize) -- " + command.dropFirst("tailor ".count) : command))
            printError("(or set resume_from_checkpoint: latest in the recipe)")
            throw ExitCode(130)
        }
        interrupt.cancel()
        say("trained \(summary.steps) steps in \(fmt(summary.seconds, 1)) s, \(fmt(summary.tokensPerSecond, 1)) tokens/s (\(fmt(summary.labelTokensPerSecond, 1)) label tokens/s), final loss \(fmt(summary.finalLoss, 4)), peak RSS \(fmt(Double(peakResidentBytes()) / 1e9, 2)) GB\(DeviceOptions.deviceMemoryReport(compute.backend).map { ", " + $0 } ?? ""); wrote \(summary.outputDir)")
        return (recipe, data)
    }
}

extension TrainRun {
    /// This command line with `--resume_from_checkpoint <checkpoint>` added (a later flag wins).
    static func resumeCommand(checkpoint: String, arguments: [String] = CommandLine.arguments) -> String {
        (["tailor"] + arguments.dropFirst() + ["--resume_from_checkpoint", checkpoint]).map(shellQuoted).joined(separator: " ")
    }

    /// `text` as one POSIX shell word.
    static func shellQuoted(_ text: String) -> String {
        let plain = text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_./=:,+@%".contains($0)) }
        return plain && !text.isEmpty ? text : "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

/// Signals counted by `InterruptHandler`'s plain C handler (a lock-free add is all a handler may do).
private let interruptCount = Atomic<Int>(0)

/// SIGINT while training: the first asks the run to stop after the current step (it saves a
/// checkpoint and says how to resume); a second exits at once with status 130. A rank of a
/// data-parallel run also takes SIGUSR1 and SIGUSR2 as the first (mpirun passes those on to every
/// rank, where its own SIGINT would kill them: `tailor launch` turns Ctrl-C into SIGUSR1).
/// The handler is a plain sigaction that counts; a watcher thread acts on the count. (A dispatch
/// signal source blocks the signal in one thread only, and the MPI library's threads would take
/// and drop it.)
final class InterruptHandler {
    private let numbers: [Int32]
    private let watcher: Thread
    private let stopped = StopRequest()

    init(_ stop: StopRequest, alsoStopOn extra: [Int32] = []) {
        numbers = [SIGINT] + extra
        let start = interruptCount.load(ordering: .relaxed)  // also runs the global's initializer here, not in the handler
        for number in numbers {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { _ in interruptCount.wrappingAdd(1, ordering: .relaxed) }
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            sigaction(number, &action, nil)
        }
        let stopped = self.stopped
        watcher = Thread {
            var seen = start
            while !stopped.isRequested {
                let now = interruptCount.load(ordering: .relaxed)
                while seen < now {
                    seen += 1
                    if stop.request() { _exit(130) }
                    printError("\ninterrupt: stopping after this step to save a checkpoint (press Ctrl-C again to quit at once, saving nothing)")
                }
                usleep(20_000)
            }
        }
        watcher.start()
    }

    /// Gives the signals their default meaning back.
    func cancel() {
        stopped.request()
        for number in numbers { signal(number, SIG_DFL) }
    }
}

/// Whether this process keeps its lines to itself: a rank other than 0 of a data-parallel run.
enum Console {
    nonisolated(unsafe) static var quiet = false
}

/// A line on standard output, flushed at once so it keeps its place among the progress lines.
func say(_ line: String) {
    guard !Console.quiet else { return }
    print(line)
    fflush(nil)  // all output streams
}
