import ArgumentParser
import Foundation
import TailorTraining
import Yams

struct SweepCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Train one run per combination of a grid of recipe values, each into output_dir/<name>, then table them.",
        usage: "tailor sweep [config.yaml] --grid KEY=V1,V2 [--grid KEY=V1,V2 ...] [--parallel N] [--dry-run] [--offline] [--<option> <value> ...]",
        discussion: """
        The recipe is tailor train's (a YAML file and/or --flags); each --grid KEY=V1,V2,... (or, in the
        YAML file, a sweep: mapping of KEY: [V1, V2]) adds an axis, and every combination is one run,
        the first axis varying slowest, written to output_dir/<name>, its name spelled from its values
        (r-8_learning_rate-1e-4). Runs go one after the other; runs whose data keys are equal encode
        the data once. Re-running a sweep skips the runs that finished, resumes a stopped run from its
        latest checkpoint (save_strategy steps makes them) and starts the others afresh; at the end
        the runs are tabled as tailor runs tables them. --offline: hub ids must be in the cache.
        --parallel N trains N runs at once, each a tailor train process of its own with 1/N of the
        threads (TAILOR_NUM_THREADS), its output in output_dir/.sweep/<name>.log; runs whose data
        keys are equal train on data this process encodes once. Ctrl-C stops every running run after
        its step with a checkpoint, as tailor train does, and starts no more.
          tailor sweep --model_name_or_path M --dataset data.json --output_dir runs/sweep \\
            --grid r=8,16 --grid learning_rate=1e-4,2e-4 --num_train_epochs 1
        """
    )

    @Argument(parsing: .captureForPassthrough,
              help: ArgumentHelp("A YAML file of options (optional), then --grid and --<option> <value> pairs.", valueName: "config.yaml | --option value"))
    var arguments: [String] = []

    func run() async throws {
        guard !RecipeArguments.asksForHelp(arguments) else {
            print(Self.helpMessage())
            return
        }
        let parsed = try RecipeArguments(arguments, sections: ["sweep"], ownOptions: ["grid", "parallel"])
        var axes: [Sweep.Axis] = []
        if let file = parsed.file, let block = parsed.sections["sweep"] { axes += try Self.axes(block, path: file) }
        axes += try (parsed.own["grid"] ?? []).map(Sweep.axis(parsing:))
        let parallel = try Self.parallel(parsed.own["parallel"] ?? [])
        let base = try parsed.recipe()
        guard base.givenKeys.contains("output_dir") else {
            throw ValidationError("give output_dir: the sweep's folder, which holds one folder per run")
        }
        let sweep = try Sweep(axes)
        let combinations = try sweep.combinations()
        let root = URL(fileURLWithPath: base.training.outputDir)
        say("sweep: \(combinations.count) runs into \(root.path): " + combinations.map(\.name).joined(separator: ", "))
        var runs: [PlannedRun] = []
        for (number, combination) in combinations.enumerated() {
            let folder = root.appendingPathComponent(combination.name)
            let values = try TrainCommand.parseFlags(combination.values.flatMap { ["--\($0.key)", $0.value] })
            var recipe = try parsed.recipe(adding: values + [("output_dir", .string(folder.path))], warn: false)
            let modelFolder = try await ModelArgument.resolveHubIDs(in: &recipe, offline: parsed.offline)
            let state = Sweep.state(of: folder)
            let settings = combination.values.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
            let label = "run \(number + 1)/\(combinations.count) \(combination.name) (\(settings))"
            switch state {
            case .finished:
                say("sweep: \(label) finished earlier: skipped")
                continue
            case .resumable:
                recipe.resumeFromCheckpoint = "latest"
            case .fresh:
                if FileManager.default.fileExists(atPath: folder.path) { recipe.training.overwriteOutputDir = true }
            }
            runs.append(PlannedRun(name: combination.name, label: label, recipe: recipe, modelFolder: modelFolder, resumes: state == .resumable))
        }
        if parallel > 1 && !parsed.dryRun {
            try Self.runParallel(runs, atOnce: parallel, root: root)
        } else {
            var shared: (recipe: TrainRecipe, data: TrainingData)?
            for run in runs {
                say("sweep: \(run.label)" + (run.resumes ? ": resuming from its latest checkpoint" : ""))
                shared = try TrainRun(recipe: run.recipe, dryRun: parsed.dryRun, modelFolder: run.modelFolder, shared: shared).run()
            }
        }
        guard !parsed.dryRun else { return }
        let summaries = try RunSummary.runFolders(under: root).map { try RunSummary.read(folder: $0, settings: try RunsCommand.settings(of: $0)) }
        let table = RunsTable(summaries)
        let column = summaries.contains { $0.finalEvalLoss != nil } ? "eval_loss" : "loss"
        print(try table.sorted(by: column).text(), terminator: "")
    }

    /// One run the sweep will train: its recipe (output_dir its own folder; resume or overwrite set) and model snapshot.
    struct PlannedRun {
        var name: String
        var label: String
        var recipe: TrainRecipe
        var modelFolder: URL?
        var resumes: Bool
    }

    /// --parallel N: how many runs train at once (1 when not given).
    static func parallel(_ values: [String]) throws -> Int {
        guard let text = values.last else { return 1 }
        guard values.count == 1 else { throw ValidationError("--parallel is given \(values.count) times; give it once") }
        guard let count = Int(text), count >= 1 else {
            throw ValidationError("--parallel \(text): give how many runs train at once, a whole number of at least 1")
        }
        return count
    }

    /// A YAML `sweep:` block's axes: a mapping of key → list of values (or one value).
    static func axes(_ node: Node, path: String) throws -> [Sweep.Axis] {
        guard let mapping = node.mapping else {
            throw ValidationError("\(path): sweep: must be a mapping of option: [values] (e.g. sweep: {r: [8, 16]})")
        }
        return try mapping.map { key, value in
            guard let name = key.string else { throw ValidationError("\(path): sweep: keys must be strings (line \(key.mark?.line ?? 0))") }
            if let sequence = value.sequence {
                return Sweep.Axis(key: name, values: try sequence.map { item in
                    guard let text = item.scalar?.string else { throw ValidationError("\(path): sweep: \(name) must list plain values") }
                    return text
                })
            }
            guard let text = value.scalar?.string else { throw ValidationError("\(path): sweep: \(name) must be a list of values") }
            return Sweep.Axis(key: name, values: [text])
        }
    }
}
