import ArgumentParser
import Foundation
import TailorData
import TailorModels
import TailorTensor
import TailorTraining

/// `tailor sweep --parallel N`: each run a `tailor train` process of its own, N at a time, on data
/// this process encodes once per group of runs whose data keys are equal.
extension SweepCommand {
    /// The environment variable naming the encoded data a sweep's train process reads (its recipe,
    /// `<same path>.yaml`, is compared with the run's own: data is reused only when they encode the same).
    static let sharedDataVariable = "TAILOR_SWEEP_DATA"

    static func runParallel(_ runs: [PlannedRun], atOnce: Int, root: URL) throws {
        guard !runs.isEmpty else { return }
        let work = root.appendingPathComponent(".sweep")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let cores = CPUReport.current().threads  // the cores, or TAILOR_NUM_THREADS
        let threads = max(1, cores / atOnce)
        if atOnce > cores {
            printError("warning: --parallel \(atOnce) is more runs than the \(cores) threads Tailor uses; each run gets 1 thread and they share the cores")
        }
        // Each group of runs that encode the same data gets one encoded file, made here before any run starts.
        var producers: [(recipe: TrainRecipe, file: URL)] = []
        var jobs: [ProcessBatch.Job] = []
        for run in runs {
            try run.recipe.validate()
            let recipeFile = work.appendingPathComponent("\(run.name).yaml")
            try DatasetWriter.writeAtomically(Array(RecipeYAML.render(run.recipe).utf8), to: recipeFile.path)
            var environment = ["TAILOR_NUM_THREADS": String(threads)]
            if let producer = producers.first(where: { $0.recipe.encodesSameData(as: run.recipe) }) {
                environment[sharedDataVariable] = producer.file.path
            } else {
                // Only the tokenizer and template are read here: a .gguf model needs no f32 import for that.
                let modelFolder = try run.modelFolder ?? GGUFImport.filesFolder(for: run.recipe.modelNameOrPath) { printError($0.description) }
                let data = try TrainingData.prepare(recipe: run.recipe, modelFolder: modelFolder)
                let file = work.appendingPathComponent("\(run.name).data")
                try data.write(to: file)
                say("sweep: data encoded once for the runs like \(run.name): \(data.train.count) training rows, \(data.eval.count) evaluation rows (\(file.path))")
                producers.append((run.recipe, file))
                environment[sharedDataVariable] = file.path
            }
            jobs.append(ProcessBatch.Job(name: run.name, executable: URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath(),
                                         arguments: ["train", recipeFile.path, "--offline"], environment: environment,
                                         log: work.appendingPathComponent("\(run.name).log")))
        }
        say("sweep: \(runs.count) run\(runs.count == 1 ? "" : "s"), \(atOnce) at a time, \(threads) thread\(threads == 1 ? "" : "s") each; logs in \(work.path)")
        let batch = ProcessBatch(jobs, atOnce: atOnce)
        let stop = StopRequest()
        signal(SIGINT, SIG_IGN)  // delivered to the source instead
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler {
            // Each run is a process group of its own, so Ctrl-C reaches it only through this process.
            let again = stop.request()
            batch.interrupt()
            if again { _exit(130) }  // a second Ctrl-C: the runs, told twice, quit at once too
            printError("\ninterrupt: each running run stops after its step with a checkpoint; no more runs start (Ctrl-C again quits at once)")
        }
        source.resume()
        defer {
            source.cancel()
            signal(SIGINT, SIG_DFL)
        }
        let byName = Dictionary(uniqueKeysWithValues: runs.map { ($0.name, $0) })
        let outcomes = try batch.run { event in
            switch event {
            case let .started(job, pid):
                let run = byName[job.name]
                say("sweep: \(run?.label ?? job.name) started\(run?.resumes == true ? ", resuming from its latest checkpoint" : "") (pid \(pid), log \(job.log.path))")
            case let .ended(job, outcome):
                let label = byName[job.name]?.label ?? job.name
                let lines = ((try? String(contentsOf: job.log, encoding: .utf8)) ?? "").split(separator: "\n")
                if outcome.status == 0 {
                    let trained = lines.last { $0.hasPrefix("trained ") }.map { ": " + $0 } ?? ""
                    say("sweep: \(label) finished in \(fmt(outcome.seconds, 1)) s\(trained)")
                } else {
                    say("sweep: \(label) failed (exit status \(outcome.status)) after \(fmt(outcome.seconds, 1)) s; the end of its log:")
                    for line in lines.suffix(5) { say("  " + line) }
                }
            }
        }
        for producer in producers { try? FileManager.default.removeItem(at: producer.file) }
        let failed = outcomes.filter { $0.status != 0 }
        if batch.isInterrupted || failed.contains(where: { $0.status == 130 }) {
            printError("sweep: stopped; run the same command again to resume the stopped runs and train the rest")
            throw ExitCode(130)
        }
        if !failed.isEmpty {
            throw ValidationError("\(failed.count) of \(outcomes.count) runs failed (\(failed.map(\.name).joined(separator: ", "))); their logs are in \(work.path)")
        }
    }
}
