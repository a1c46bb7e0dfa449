import ArgumentParser
import Foundation
import TailorModels
import TailorCUDA
import TailorTensor
import TailorTraining

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
    @discardableResult
    func run() throws -> (recipe: TrainRecipe, data: TrainingData) {
        try recipe.validate()
        try OutputFolder.checkWritable(URL(fileURLWithPath: recipe.training.outputDir))  // before any import or load
        let compute = try DeviceOptions.trainingBackend(recipe.device, bf16: recipe.bf16)
        if let note = compute.note { printError(note) }
        say("device: \(compute.backend.name)")
        if compute.backend is CPUBackend {
            let cpu = CPUReport.current()
            say("cpu: \(cpu.features.summary)")
            say("cpu path: \(cpu.pathSummary)")
            if recipe.bf16 && recipe.givenKeys.contains("bf16") {
                printError("warning: bf16: true computes in fp32 on the CPU (bf16 products on the CPU are not built yet); set bf16: false to silence this")
            }
        }
        let modelFolder = try self.modelFolder ?? GGUFImport.modelFolder(for: recipe.modelNameOrPath)
        let reused = shared.flatMap { $0.recipe.encodesSameData(as: recipe) ? $0.data : nil }
        if reused != nil { say("data: the sweep's earlier run encoded the same data; reused") }
        let run = try TrainingRun(recipe: recipe, modelFolder: modelFolder, compute: compute, lockOutput: !dryRun, data: reused)
        let (model, data, trainable) = (run.model, run.data, run.trainable)
        for warning in data.warnings + run.warnings { printError("warning: \(warning)") }
        if let path = run.recipe.adapterNameOrPath, run.recipe.finetuningType == .lora {
            say("adapter: starting from \(path) (r \(run.recipe.lora.r), lora_alpha \(fmt(run.recipe.lora.loraAlpha, 1)))"
                + (recipe.resumeFromCheckpoint != nil ? "; resume_from_checkpoint is set, so the checkpoint's values replace the adapter's" : ""))
        }
        let total = model.config.parameterCount
        let share = 100 * Double(trainable.parameterCount) / Double(total)
        if dryRun { say("trainable params: \(trainable.parameterCount) || all params: \(total) || trainable%: \(fmt(share, 4))") }
        let estimate = MemoryEstimate(model: model, trainable: trainable, tokens: run.tokensPerMicroBatch,
                                      checkpointing: recipe.training.gradientCheckpointing,
                                      optimizerStates: recipe.training.optimizerStatesPerParameter,
                                      runtimeBytes: compute.isAccelerator ? 0 : MemoryEstimate.cpuRuntimeBytes)
        say("estimated peak memory: \(estimate.summary)")
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
        let interrupt = InterruptHandler(run.stopRequest)
        let summary: TrainingSummary
        do {
            summary = try run.train(extraSinks: [ConsoleProgressSink.standardError(lineEvery: recipe.training.loggingSteps)])
        } catch TrainingError.interrupted(_, let checkpoint) {
            printError("to resume: \(Self.resumeCommand(checkpoint: checkpoint))")
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

/// SIGINT while training: the first asks the run to stop after the current step (it saves a
/// checkpoint and says how to resume); a second exits at once with status 130.
final class InterruptHandler {
    private let source: DispatchSourceSignal

    init(_ stop: StopRequest) {
        signal(SIGINT, SIG_IGN)  // delivered to the source instead
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        self.source = source
        source.setEventHandler {
            // Signals that arrive together come as one event: count each.
            for _ in 0..<max(source.data, 1) where stop.request() { _exit(130) }
            printError("\ninterrupt: stopping after this step to save a checkpoint (press Ctrl-C again to quit at once, saving nothing)")
        }
        source.resume()
    }

    /// Gives SIGINT its default meaning back.
    func cancel() {
        source.setEventHandler(handler: nil)  // the handler holds the source
        source.cancel()
        signal(SIGINT, SIG_DFL)
    }
}

/// A line on standard output, flushed at once so it keeps its place among the progress lines.
func say(_ line: String) {
    print(line)
    fflush(nil)  // all output streams
}
