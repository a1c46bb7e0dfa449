import ArgumentParser
import Foundation
import TailorTraining
import Yams

/// `tailor train`'s and `tailor sweep`'s passthrough arguments, read one way: an optional YAML file
/// first, then `--<option> <value>` pairs (flags override the file), with the command's own options
/// (`--dry-run`, `--offline`, and valued ones such as sweep's `--grid KEY=V`) taken out first.
struct RecipeArguments {
    /// The recipe's (key, value) pairs: the file's, then the flags' (a later pair wins).
    var pairs: [(String, RecipeValue)] = []
    /// Top-level mappings of the file that are not options (sweep's `sweep:` block), by key.
    var sections: [String: Node] = [:]
    /// The YAML file given first, if any.
    var file: String?
    var dryRun = false
    var offline = false
    /// Each of the command's own valued options, its values in order (`--grid A --grid=B` → ["A", "B"]).
    var own: [String: [String]] = [:]

    /// Whether the arguments ask for the command's help (ArgumentParser leaves passthrough ones alone).
    static func asksForHelp(_ arguments: [String]) -> Bool {
        arguments.contains("--help") || arguments.contains("-h")
    }

    /// - Parameters:
    ///   - sections: top-level YAML keys that are blocks of their own, not options.
    ///   - ownOptions: valued options of the command (without `--`), taken out before the recipe's flags are read.
    init(_ arguments: [String], sections: Set<String> = [], ownOptions: Set<String> = []) throws {
        var rest = arguments
        dryRun = TrainCommand.take("--dry-run", from: &rest)
        offline = TrainCommand.take("--offline", from: &rest)
        if let first = rest.first, !first.hasPrefix("--") {
            let read = try TrainCommand.readYAML(first, sections: sections)
            (pairs, self.sections, file) = (read.pairs, read.sections, first)
            rest.removeFirst()
        }
        var flags: [String] = []
        var index = 0
        while index < rest.count {
            let argument = rest[index]
            if let name = ownOptions.first(where: { argument == "--" + $0 }) {
                guard index + 1 < rest.count, !rest[index + 1].hasPrefix("--") else {
                    throw ValidationError("--\(name) needs a value")
                }
                own[name, default: []].append(rest[index + 1])
                index += 2
            } else if let name = ownOptions.first(where: { argument.hasPrefix("--" + $0 + "=") }) {
                own[name, default: []].append(String(argument.dropFirst(name.count + 3)))
                index += 1
            } else {
                flags.append(argument)
                index += 1
            }
        }
        pairs += try TrainCommand.parseFlags(flags)
    }

    /// A recipe of these pairs (and `extra` after them), its warnings on standard error.
    func recipe(adding extra: [(String, RecipeValue)] = [], warn: Bool = true) throws -> TrainRecipe {
        var recipe = TrainRecipe()
        let warnings = try RecipeKeys.apply(pairs + extra, to: &recipe)
        if warn { for warning in warnings { printError("warning: \(warning)") } }
        return recipe
    }
}

extension ModelArgument {
    /// Turns the recipe's hub ids into local files: dataset and eval_dataset ids become the files of
    /// their snapshots (tailor_config.yaml records those paths); returns the snapshot folder of
    /// `model_name_or_path` when it is a hub id (nil for a local path or GGUF file).
    static func resolveHubIDs(in recipe: inout TrainRecipe, offline: Bool) async throws -> URL? {
        var datasets: [String] = []
        for item in recipe.datasets {
            datasets += try await datasetFiles(for: item, offline: offline) ?? [item]
        }
        recipe.datasets = datasets
        if let file = recipe.validationFile, let files = try await datasetFiles(for: file, offline: offline) {
            guard files.count == 1 else {
                throw ValidationError("eval_dataset \(file) has \(files.count) training files (\(files.joined(separator: ", "))); eval_dataset takes one file: give its path")
            }
            recipe.validationFile = files[0]
        }
        return try await hubFolder(for: recipe.modelNameOrPath, revision: recipe.modelRevision, offline: offline)
    }
}
