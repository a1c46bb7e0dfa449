import ArgumentParser
import Foundation
import TailorModels
import TailorTensor
import TailorTraining
import Yams

struct TrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Fine-tune a model with LoRA or full fine-tuning (SFT), as transformers.Trainer + peft would.",
        usage: "tailor train [config.yaml] [--dry-run] [--<option> <value> ...]",
        discussion: """
        Options come from a YAML file and/or --flags named as in transformers'
        TrainingArguments, peft's LoraConfig, TRL's SFTConfig and LLaMA-Factory
        (flags override the file; old and new spellings in parentheses):
          tailor train --model_name_or_path M --dataset data.json --output_dir out \\
            --r 16 --lora_alpha 32 --learning_rate 2e-4 --num_train_epochs 3

        \(RecipeHelp.text())

        An unknown key is an error naming the nearest one. Writes to output_dir:
        the adapter (peft layout) or model, checkpoint-N/, metrics.jsonl, runs/
        (TensorBoard), loss.png, loss.svg, trainer_state.json, tailor_config.yaml,
        and .tailor.lock, which keeps a second run out while this one trains.
        A folder holding another run's checkpoints is refused unless
        resume_from_checkpoint continues it or overwrite_output_dir replaces it.
        Ctrl-C finishes the step, saves a checkpoint, prints the command that
        resumes from it and exits with status 130; a second Ctrl-C quits at once.
        """
    )

    @Flag(name: .customLong("dry-run"), help: "Print the resolved options, trainable parameters and a memory estimate; train nothing.")
    var dryRun = false

    @Flag(help: "Never touch the network: hub ids (model_name_or_path, dataset, eval_dataset) must already be in the Hugging Face cache (as HF_HUB_OFFLINE=1).")
    var offline = false

    @Argument(parsing: .captureForPassthrough,
              help: ArgumentHelp("A YAML file of options (optional), then --<option> <value> pairs (see below).", valueName: "config.yaml | --option value"))
    var arguments: [String] = []

    func run() async throws {
        guard !RecipeArguments.asksForHelp(arguments) else {
            print(Self.helpMessage())
            return
        }
        let parsed = try RecipeArguments(arguments)
        var recipe = try parsed.recipe()
        let folder = try await ModelArgument.resolveHubIDs(in: &recipe, offline: parsed.offline || offline)
        let dryRun = parsed.dryRun || self.dryRun
        try TrainRun(recipe: recipe, dryRun: dryRun, modelFolder: folder, shared: try Self.sweepData(for: recipe)).run()
    }

    /// The data a parallel sweep encoded for this run (`SweepCommand.sharedDataVariable` names its file;
    /// the recipe it was encoded for is the file beside it, `.yaml`), when that recipe encodes the same data.
    static func sweepData(for recipe: TrainRecipe) throws -> (recipe: TrainRecipe, data: TrainingData)? {
        guard let path = ProcessInfo.processInfo.environment[SweepCommand.sharedDataVariable], !path.isEmpty else { return nil }
        let file = URL(fileURLWithPath: path)
        var producer = TrainRecipe()
        _ = try RecipeKeys.apply(try readYAML(file.deletingPathExtension().appendingPathExtension("yaml").path), to: &producer)
        guard producer.encodesSameData(as: recipe) else {
            printError("warning: \(SweepCommand.sharedDataVariable) names data encoded for another recipe; this run encodes its own")
            return nil
        }
        return (producer, try TrainingData.read(from: file))
    }

    /// Whether `flag` is among `arguments` (the passthrough ones, which ArgumentParser leaves alone); removes it.
    static func take(_ flag: String, from arguments: inout [String]) -> Bool {
        guard let index = arguments.firstIndex(of: flag) else { return false }
        arguments.remove(at: index)
        return true
    }

    /// `--key value`, `--key=value`, a bare `--flag` (true), and `--key v1 v2 ...` (a list, as
    /// HfArgumentParser reads `--target_modules q_proj v_proj`).
    static func parseFlags(_ arguments: [String]) throws -> [(String, RecipeValue)] {
        var result: [(String, RecipeValue)] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            guard argument.hasPrefix("--") else {
                throw ValidationError("unexpected argument '\(argument)'; options are written --name value")
            }
            var name = String(argument.dropFirst(2))
            var values: [String] = []
            if let equals = name.firstIndex(of: "=") {
                values = [String(name[name.index(after: equals)...])]
                name = String(name[..<equals])
            } else {
                while index + 1 < arguments.count, !arguments[index + 1].hasPrefix("--") {
                    values.append(arguments[index + 1])
                    index += 1
                }
            }
            name = name.replacingOccurrences(of: "-", with: "_")
            switch values.count {
            case 0: result.append((name, .bool(true)))
            case 1: result.append((name, Self.scalar(values[0])))
            default: result.append((name, .list(values)))
            }
            index += 1
        }
        return result
    }

    static func scalar(_ text: String) -> RecipeValue {
        if let number = Double(text) { return .number(number) }
        if text == "true" || text == "false" { return .bool(text == "true") }
        if text == "null" || text == "None" { return .null }
        return .string(text)
    }

    static func readYAML(_ path: String) throws -> [(String, RecipeValue)] {
        try readYAML(path, sections: []).pairs
    }

    /// The file's option: value pairs, and the mappings under the top-level keys `sections` names
    /// (tailor sweep's `sweep:` block), which are not options.
    static func readYAML(_ path: String, sections: Set<String>) throws -> (pairs: [(String, RecipeValue)], sections: [String: Node]) {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw ValidationError("\(path): cannot be read (\(error.localizedDescription))")
        }
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch {
            throw ValidationError("\(path): not valid YAML: \(error)")
        }
        guard let mapping = node?.mapping else { throw ValidationError("\(path): expected a mapping of option: value") }
        var pairs: [(String, RecipeValue)] = [], found: [String: Node] = [:]
        for (key, value) in mapping {
            guard let name = key.string else { throw ValidationError("\(path): keys must be strings (line \(key.mark?.line ?? 0))") }
            if sections.contains(name) { found[name] = value } else { pairs.append((name, try recipeValue(value, path: path, key: name))) }
        }
        return (pairs, found)
    }

    static func recipeValue(_ node: Node, path: String, key: String) throws -> RecipeValue {
        switch node {
        case let .scalar(scalar):
            if scalar.style == .plain {
                if let bool = node.bool { return .bool(bool) }
                if let int = node.int { return .number(Double(int)) }
                if let float = node.float { return .number(float) }
                if node.null != nil { return .null }
            }
            return .string(scalar.string)
        case let .sequence(sequence):
            return .list(try sequence.map { item in
                guard let text = item.string else { throw ValidationError("\(path): '\(key)' must be a list of plain values") }
                return text
            })
        case let .mapping(mapping):
            // rank_pattern / alpha_pattern: a mapping of plain values, passed on as "key=value" items in order.
            return .list(try mapping.map { pair in
                guard let name = pair.key.string, let value = pair.value.string else {
                    throw ValidationError("\(path): '\(key)' must map names to plain values (line \(node.mark?.line ?? 0))")
                }
                return name + "=" + value
            })
        default:
            throw ValidationError("\(path): '\(key)' must be a value or a list (line \(node.mark?.line ?? 0))")
        }
    }
}

/// Writes a line to standard error.
func printError(_ line: String) {
    guard !Console.quiet else { return }
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
