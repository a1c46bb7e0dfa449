import ArgumentParser
import Foundation
import TailorTraining
import Yams

struct SweepCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Train one run per combination of a grid of recipe values, each into output_dir/<name>, then table them.",
        usage: "tailor sweep [config.yaml] --grid KEY=V1,V2 [--grid KEY=V1,V2 ...] [--dry-run] [--<option> <value> ...]",
        discussion: """
        The recipe is tailor train's (a YAML file and/or --flags); each --grid KEY=V1,V2,... (or, in the
        YAML file, a sweep: mapping of KEY: [V1, V2]) adds an axis, and every combination is one run,
        the first axis varying slowest, written to output_dir/<name>, its name spelled from its values
        (r-8_learning_rate-1e-4). Runs go one after the other; runs whose data keys are equal encode the
        data once. Re-running a sweep skips the runs that finished, resumes a stopped run from its
        latest checkpoint (save_strategy steps makes them) and starts the others afresh; at the end the
        runs are tabled as tailor runs tables them. Running several at once is not built yet.
          tailor sweep --model_name_or_path M --dataset data.json --output_dir runs/sweep \\
            --grid r=8,16 --grid learning_rate=1e-4,2e-4 --num_train_epochs 1
        """
    )

    @Argument(parsing: .captureForPassthrough,
              help: ArgumentHelp("A YAML file of options (optional), then --grid and --<option> <value> pairs.", valueName: "config.yaml | --option value"))
    var arguments: [String] = []

    func run() async throws {
        var rest = arguments
        if rest.contains("--help") || rest.contains("-h") {
            print(Self.helpMessage())
            return
        }
        let dryRun = TrainCommand.take("--dry-run", from: &rest)
        var pairs: [(String, RecipeValue)] = []
        var axes: [Sweep.Axis] = []
        if let first = rest.first, !first.hasPrefix("--") {
            let file = try TrainCommand.readYAML(first, sections: ["sweep"])
            pairs += file.pairs
            if let block = file.sections["sweep"] { axes += try Self.axes(block, path: first) }
            rest.removeFirst()
        }
        var flags: [String] = []
        var index = 0
        while index < rest.count {
            if rest[index] == "--grid" {
                guard index + 1 < rest.count else { throw ValidationError("--grid needs KEY=V1,V2") }
                axes.append(try Sweep.axis(parsing: rest[index + 1]))
                index += 2
            } else if rest[index].hasPrefix("--grid=") {
                axes.append(try Sweep.axis(parsing: String(rest[index].dropFirst("--grid=".count))))
                index += 1
            } else {
                flags.append(rest[index])
                index += 1
            }
        }
        pairs += try TrainCommand.parseFlags(flags)
        var base = TrainRecipe()
        for warning in try RecipeKeys.apply(pairs, to: &base) { printError("warning: \(warning)") }
        guard base.givenKeys.contains("output_dir") else {
            throw ValidationError("give output_dir: the sweep's folder, which holds one folder per run")
        }
        let sweep = try Sweep(axes)
        let combinations = try sweep.combinations()
        let root = URL(fileURLWithPath: base.training.outputDir)
        say("sweep: \(combinations.count) runs into \(root.path): " + combinations.map(\.name).joined(separator: ", "))
        let modelFolder = try await ModelArgument.hubFolder(for: base.modelNameOrPath, revision: base.modelRevision)
        var shared: (recipe: TrainRecipe, data: TrainingData)?
        for (number, combination) in combinations.enumerated() {
            var recipe = TrainRecipe()
            let folder = root.appendingPathComponent(combination.name)
            let values = try TrainCommand.parseFlags(combination.values.flatMap { ["--\($0.key)", $0.value] })
            _ = try RecipeKeys.apply(pairs + values + [("output_dir", .string(folder.path))], to: &recipe)
            let state = Sweep.state(of: folder)
            let settings = combination.values.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
            switch state {
            case .finished:
                say("sweep: run \(number + 1)/\(combinations.count) \(combination.name) (\(settings)) finished earlier: skipped")
                continue
            case .resumable:
                recipe.resumeFromCheckpoint = "latest"
                say("sweep: run \(number + 1)/\(combinations.count) \(combination.name) (\(settings)): resuming from its latest checkpoint")
            case .fresh:
                if FileManager.default.fileExists(atPath: folder.path) { recipe.training.overwriteOutputDir = true }
                say("sweep: run \(number + 1)/\(combinations.count) \(combination.name) (\(settings))")
            }
            shared = try TrainRun(recipe: recipe, dryRun: dryRun, modelFolder: modelFolder, shared: shared).run()
        }
        guard !dryRun else { return }
        let runs = try RunSummary.runFolders(under: root).map { try RunSummary.read(folder: $0, settings: try RunsCommand.settings(of: $0)) }
        let table = RunsTable(runs)
        let column = runs.contains { $0.finalEvalLoss != nil } ? "eval_loss" : "loss"
        print(try table.sorted(by: column).text(), terminator: "")
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
