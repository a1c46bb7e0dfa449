import Foundation
import TailorData
import TailorTokenizers

extension TrainingData {
    /// Stage dpo's data: preference records tokenized as TRL's DPOTrainer does
    /// (`ConversationEncoder.encodePreference`), each pair fitted to max_length with
    /// truncation_mode (TRL's keep_start unless the recipe names another), and held out for
    /// evaluation by pair. Every training row is one pair: prompt + chosen, then prompt + rejected.
    static func preparePairs(recipe: TrainRecipe, modelFolder: URL) throws -> TrainingData {
        let (train, validation, encoder) = try loadPreference(recipe: recipe, modelFolder: modelFolder, check: DatasetEncoder.checkPairs)
        let options = recipe.data
        var warnings = summarize(train.skipped)
        // TRL's DPOConfig truncates with keep_start; Tailor's SFT default (keep_response) only when named.
        let truncation: EncodingOptions.Truncation = recipe.givenKeys.contains(DatasetOptions.Key.truncationMode.name) ? options.truncation : .right
        let (trainPairs, evalPairs) = try encodeAndSplit(recipe: recipe, train: train, validation: validation, warnings: &warnings) {
            let result = try encoder.encodePairs($0, truncation: truncation)
            return (result.pairs, result.issues)
        }
        guard !trainPairs.isEmpty else {
            throw TrainingError.unusableData("no preference pair is left to train on (every one was dropped or skipped; see the warnings)")
        }
        func row(_ pair: EncodedPair) -> TrainingRow {
            TrainingRow([TrainingSample(pair.chosenSample), TrainingSample(pair.rejectedSample)])
        }
        let rows = trainPairs.map(row)
        return TrainingData(train: rows, eval: evalPairs.map(row), warnings: warnings, trainSampleCount: trainPairs.count,
                            trainLabelTokens: rows.reduce(0) { $0 + $1.labelTokens },
                            longestSample: rows.flatMap(\.samples).map(\.ids.count).max() ?? 0)
    }
}

extension TrainingData {
    /// A preference stage's training and validation records, each checked by `check` before
    /// anything is tokenized, and the encoder (with the model's tokenizer when a record needs it).
    static func loadPreference(recipe: TrainRecipe, modelFolder: URL, check: (LoadedDataset) throws -> Void) throws
        -> (train: LoadedDataset, validation: LoadedDataset?, encoder: DatasetEncoder) {
        if recipe.packing {
            throw TrainingError.conflictingKeys(key: "packing", other: "stage",
                                                problem: "packs samples into rows, but stage \(recipe.stage.rawValue) trains each example as its own sequences; set packing: false")
        }
        let train = try load(recipe.datasets, recipe: recipe)
        let validation = try recipe.validationFile.map { try load([$0], recipe: recipe) }
        for loaded in [train] + (validation.map { [$0] } ?? []) {
            do { try check(loaded) } catch let error as DataError { throw TrainingError.unusableData(error.description) }
        }
        var tokenizer: PretrainedTokenizer? = nil
        if !train.conversations.isEmpty || validation?.conversations.isEmpty == false {
            tokenizer = try Self.tokenizer(recipe.data, modelFolder: modelFolder)
        }
        return (train, validation, try recipeKeyErrors { try DatasetEncoder(options: recipe.data, tokenizer: tokenizer) })
    }

    /// A preference stage's training and evaluation examples: `train` encoded by `encode`, and
    /// `validation` too when given, else a validation_split of the training examples; the issues
    /// found go to `warnings`.
    static func encodeAndSplit<Example>(recipe: TrainRecipe, train: LoadedDataset, validation: LoadedDataset?, warnings: inout [String],
                                        encode: (LoadedDataset) throws -> ([Example], [DataIssue])) throws -> (train: [Example], eval: [Example]) {
        func encoded(_ loaded: LoadedDataset) throws -> [Example] {
            do {
                let (examples, issues) = try encode(loaded)
                warnings += summarize(issues)
                return examples
            } catch let error as DataError {
                throw TrainingError.unusableData(error.description)
            }
        }
        let examples = try encoded(train)
        if let validation { return (examples, try encoded(validation)) }
        guard recipe.validationSplit > 0 else { return (examples, []) }
        let split = try Splitter.split(examples, validationRatio: recipe.validationSplit, seed: recipe.training.seed)
        return (split.train, split.validation)
    }
}
