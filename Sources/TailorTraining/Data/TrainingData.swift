import Foundation
import TailorData
import TailorTokenizers

/// A recipe's data made ready for the Trainer: files read, conversations rendered with the chat
/// template and tokenized with assistant-only labels (pre-tokenized records taken as they are),
/// truncated or packed, and split.
public struct TrainingData: Sendable {
    public var train: [TrainingRow]
    /// Evaluation rows: single samples, or (stage dpo) pairs.
    public var eval: [TrainingRow]
    /// Things the user should see (skipped or truncated samples, fully masked ones, ...).
    public var warnings: [String]
    public var trainSampleCount: Int
    public var trainLabelTokens: Int
    public var longestSample: Int

    /// Reads and encodes `recipe`'s datasets with the tokenizer and chat template of `modelFolder`.
    /// Pre-tokenized records (`dataset_format: tokenized`, or detected by their `input_ids`) are
    /// taken as they are; when every record is, the folder needs no tokenizer or chat template.
    public static func prepare(recipe: TrainRecipe, modelFolder: URL) throws -> TrainingData {
        guard !recipe.datasets.isEmpty else {
            throw TrainingError.missingKey("dataset", hint: "give one or more data files (JSON, JSONL, CSV)")
        }
        let options = recipe.data
        _ = try recipeKeyErrors { try options.chatTemplate() }  // a bad template fails before the data is read
        if recipe.stage == .dpo { return try preparePairs(recipe: recipe, modelFolder: modelFolder) }
        if recipe.stage == .kto { return try prepareUnpaired(recipe: recipe, modelFolder: modelFolder) }
        let train = try load(recipe.datasets, recipe: recipe)
        let validation = try recipe.validationFile.map { try load([$0], recipe: recipe) }
        var warnings = summarize(train.skipped)
        // The tokenizer and chat template are read only when some record needs them.
        var tokenizer: PretrainedTokenizer? = nil
        if !train.conversations.isEmpty || validation?.conversations.isEmpty == false {
            tokenizer = try Self.tokenizer(options, modelFolder: modelFolder)
        } else if options.template != nil || options.systemPrompt != nil || options.trainOnInputs || options.maskHistory {
            warnings.append("template, system_prompt, train_on_inputs and mask_history have no effect on tokenized records: their ids and labels are used as they are")
        }
        let encoder = try recipeKeyErrors { try DatasetEncoder(options: options, tokenizer: tokenizer) }
        var encoded = try encoder.encode(train)
        warnings += summarize(encoded.issues)
        try encoded.checkTrainable()
        var evalSamples: [EncodedSample] = []
        if let validation {
            evalSamples = try encoder.encode(validation).samples
        } else if recipe.validationSplit > 0 {
            let split = try Splitter.split(encoded.samples, validationRatio: recipe.validationSplit, seed: recipe.training.seed)
            encoded.samples = split.train
            evalSamples = split.validation
        }
        let trainSamples = encoded.samples.map(TrainingSample.init)
        let rows: [TrainingRow]
        if recipe.packing {
            if recipe.training.groupByLength {
                // As in transformers, the sampler sees packed rows: it groups them by their packed length.
                warnings.append("group_by_length with packing groups packed rows by their length; packed rows are all close to max_seq_length tokens, so it changes little (turn one of them off)")
            }
            rows = Packer(maxLength: recipe.maxSeqLength).pack(encoded.samples).map { row in
                TrainingRow(row.samples.map(TrainingSample.init))
            }
        } else {
            rows = trainSamples.map { TrainingRow([$0]) }
        }
        return TrainingData(train: rows,
                            eval: evalSamples.map { TrainingRow([TrainingSample($0)]) },
                            warnings: warnings,
                            trainSampleCount: trainSamples.count,
                            trainLabelTokens: trainSamples.reduce(0) { $0 + $1.labelTokens },
                            longestSample: trainSamples.map(\.ids.count).max() ?? 0)
    }
}

/// One line per kind of issue: its count and the first two occurrences (file:line and detail).
func summarize(_ issues: [DataIssue]) -> [String] {
    var order: [DataIssue.Kind] = []
    var byKind: [DataIssue.Kind: [DataIssue]] = [:]
    for issue in issues {
        if byKind[issue.kind] == nil { order.append(issue.kind) }
        byKind[issue.kind, default: []].append(issue)
    }
    return order.map { kind in
        let all = byKind[kind] ?? []
        let examples = all.prefix(2).map(\.description).joined(separator: "; ")
        return all.count == 1 ? examples : "\(all.count) samples: \(kind.rawValue), e.g. \(examples)"
    }
}

extension TrainRecipe {
    /// Whether `other` encodes the very same data as this recipe (every key `TrainingData.prepare`
    /// reads is equal), so that runs of a sweep differing only in other keys encode it once.
    public func encodesSameData(as other: TrainRecipe) -> Bool {
        modelNameOrPath == other.modelNameOrPath && datasets == other.datasets && datasetDir == other.datasetDir && data == other.data
            && maxSamples == other.maxSamples && validationFile == other.validationFile && validationSplit == other.validationSplit
            && packing == other.packing && stage == other.stage && training.seed == other.training.seed
            && training.groupByLength == other.training.groupByLength
            && training.perDeviceTrainBatchSize == other.training.perDeviceTrainBatchSize
            && training.perDeviceEvalBatchSize == other.training.perDeviceEvalBatchSize
            && givenKeys.contains(DatasetOptions.Key.truncationMode.name) == other.givenKeys.contains(DatasetOptions.Key.truncationMode.name)
    }
}
