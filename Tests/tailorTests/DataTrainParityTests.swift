import Foundation
@testable import tailor
import TailorData
import TailorTestSupport
import TailorTraining
import XCTest

/// `tailor data` and `tailor train` take the same encoding options (`DatasetOptions.Key`) under
/// the same spellings, and encode the same data to the same token ids and labels with them.
/// The options covered come from `DatasetOptions.Key.allCases` through an exhaustive switch, so
/// an option added to one front end and not the other fails here.
final class DataTrainParityTests: XCTestCase {
    /// A tokenizer with a chat template (ChatML without generation blocks: prefix masking).
    let model = TestPaths.fixture("tokenizers/qwen2")
    let data = TestPaths.fixture("data/parity.jsonl").path
    let invalid = TestPaths.fixture("data/parity-invalid.jsonl").path
    /// Records of alpaca fields only (for the column templates and an explicit format).
    let alpaca = TestPaths.fixture("data/parity-alpaca.jsonl").path
    let jinja = TestPaths.fixture("data/parity.jinja").path

    /// One run of the option: the flags (the same for both front ends) and the data file.
    struct Run {
        var flags: [String]
        var file: String
    }

    /// The runs that exercise `key`. The switch is exhaustive: a new key needs its runs here.
    func runs(_ key: DatasetOptions.Key) -> [Run] {
        switch key {
        case .datasetFormat:
            return [Run(flags: ["--dataset_format", "alpaca"], file: alpaca)]
        case .promptTemplate:
            return [Run(flags: ["--prompt_template", #"Q: {instruction}\n"#], file: alpaca)]
        case .responseTemplate:
            return [Run(flags: ["--prompt_template", "Q: {instruction}\n", "--response_template", "A: {output}"], file: alpaca)]
        case .template:
            return [Run(flags: ["--template", "llama3"], file: data), Run(flags: ["--template", jinja], file: data),
                    Run(flags: ["--template", "qwen3"], file: data), Run(flags: ["--template", "llamafactory:llama3"], file: data)]
        case .systemPrompt:
            return [Run(flags: ["--system_prompt", "Answer briefly."], file: data)]
        case .maxSeqLength:
            return [Run(flags: ["--max_seq_length", "40"], file: data)]
        case .truncationMode:
            return ["keep_response", "right", "left", "drop", "keep_start", "keep_end"].map {
                Run(flags: ["--max_seq_length", "40", "--truncation_mode", $0], file: data)
            }
        case .trainOnInputs:
            return [Run(flags: ["--train_on_inputs"], file: data)]
        case .assistantOnlyLoss:
            return [Run(flags: ["--assistant_only_loss", "false"], file: data)]
        case .maskHistory:
            return [Run(flags: ["--mask_history"], file: data)]
        case .skipInvalid:
            return [Run(flags: ["--skip_invalid"], file: invalid)]
        case .enableThinking:
            return [Run(flags: ["--template", "qwen3", "--enable_thinking", "false"], file: data),
                    Run(flags: ["--enable_thinking", "true"], file: data)]
        }
    }

    /// `tailor data`'s options and samples for `flags` on `file`.
    func dataSide(_ flags: [String], _ file: String) throws -> (DatasetOptions, [EncodedSample]) {
        let input = try DataInputOptions.parse([file, "--model", model.path] + flags)
        let options = try input.options()
        let samples = try input.encoder().encode(input.load()).samples
        return (options, samples)
    }

    /// `tailor train`'s options and training samples for the same flags.
    func trainSide(_ flags: [String], _ file: String) throws -> (DatasetOptions, [TrainingSample]) {
        var recipe = TrainRecipe()
        recipe.modelNameOrPath = model.path
        recipe.datasets = [file]
        _ = try RecipeKeys.apply(TrainCommand.parseFlags(flags), to: &recipe)
        let prepared = try TrainingData.prepare(recipe: recipe, modelFolder: model)
        return (recipe.data, prepared.train.flatMap(\.samples))
    }

    func testEveryOptionEncodesIdenticallyInDataAndTrain() throws {
        for key in DatasetOptions.Key.allCases {
            let keyRuns = runs(key)
            XCTAssertFalse(keyRuns.isEmpty, key.name)
            for run in keyRuns {
                let what = "\(key.name): \(run.flags.joined(separator: " "))"
                let (dataOptions, dataSamples) = try dataSide(run.flags, run.file)
                var (trainOptions, trainSamples) = try trainSide(run.flags, run.file)
                XCTAssertNotEqual(dataOptions, DatasetOptions(), "\(what) changes no option of tailor data")
                if !run.flags.contains(where: { DatasetOptions.Key.maxSeqLength.spellings.contains(String($0.dropFirst(2))) }) {
                    // Unset, tailor data has no limit and tailor train cuts at 1024 (TRL's default).
                    XCTAssertEqual(trainOptions.maxLength, TrainRecipe.defaultMaxSeqLength)
                    trainOptions.maxLength = dataOptions.maxLength
                }
                XCTAssertEqual(dataOptions, trainOptions, what)
                XCTAssertFalse(dataSamples.isEmpty, what)
                XCTAssertEqual(dataSamples.map(\.inputIds), trainSamples.map(\.ids), what)
                XCTAssertEqual(dataSamples.map(\.labels), trainSamples.map(\.labels), what)
            }
        }
    }

    /// The options make a difference (so the runs above compare something): each differs from
    /// the encoding without it where it can.
    func testTheRunsChangeTheEncoding() throws {
        let (_, plain) = try dataSide([], data)
        for flags in [["--template", "llama3"], ["--template", jinja], ["--system_prompt", "Answer briefly."],
                      ["--max_seq_length", "40"], ["--train_on_inputs"], ["--mask_history"],
                      ["--max_seq_length", "40", "--truncation_mode", "keep_end"]] {
            let (_, samples) = try dataSide(flags, data)
            XCTAssertNotEqual(samples.map(\.labels), plain.map(\.labels), flags.joined(separator: " "))
        }
        let (_, dropped) = try dataSide(["--max_seq_length", "40", "--truncation_mode", "drop"], data)
        XCTAssertLessThan(dropped.count, plain.count)
        XCTAssertThrowsError(try dataSide([], invalid), "without skip_invalid a broken line stops both")
        XCTAssertThrowsError(try trainSide([], invalid))
    }

    /// Every spelling of every option is accepted by both: the recipe table's spellings are the
    /// key's, tailor data takes each of them (and its earlier spellings) as a flag with the same
    /// effect, and each of tailor data's flags is a spelling tailor train knows.
    func testEverySpellingIsAcceptedByBoth() throws {
        for key in DatasetOptions.Key.allCases {
            XCTAssertEqual(RecipeKeys.entry(key.name)?.spellings, key.spellings, key.name)
            let flagNames = DataInputOptions.flagNames(key)
            XCTAssertTrue(Set(key.spellings).isSubset(of: flagNames), key.name)
            let run = runs(key)[0]
            let expected = try DataInputOptions.parse([run.file] + run.flags).options()
            guard let at = run.flags.lastIndex(of: "--" + key.name) else { XCTFail("\(key.name): no run sets it"); continue }
            for flag in flagNames {
                var flags = run.flags
                flags[at] = "--" + flag
                XCTAssertEqual(try DataInputOptions.parse([run.file] + flags).options(), expected, "tailor data --\(flag)")
                var recipe = TrainRecipe(), byName = TrainRecipe()
                _ = try RecipeKeys.apply(TrainCommand.parseFlags(flags), to: &recipe)
                _ = try RecipeKeys.apply(TrainCommand.parseFlags(run.flags), to: &byName)
                XCTAssertEqual(recipe.data, byName.data, "tailor train --\(flag)")
                XCTAssertEqual(RecipeKeys.entry(flag.replacingOccurrences(of: "-", with: "_"))?.name, key.name, "tailor train --\(flag)")
            }
        }
    }
}
