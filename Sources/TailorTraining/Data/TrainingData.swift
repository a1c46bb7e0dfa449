import Foundation
import TailorData
import TailorTokenizers

/// A recipe's data made ready for the Trainer: files read, conversations rendered with the chat
/// template and tokenized with assistant-only labels, truncated or packed, and split.
public struct TrainingData: Sendable {
    public var train: [TrainingRow]
    public var eval: [TrainingSample]
    /// Things the user should see (skipped or truncated samples, fully masked ones, ...).
    public var warnings: [String]
    public var trainSampleCount: Int
    public var trainLabelTokens: Int
    public var longestSample: Int

    /// Reads and encodes `recipe`'s datasets with the tokenizer and chat template of `modelFolder`.
    public static func prepare(recipe: TrainRecipe, modelFolder: URL) throws -> TrainingData {
        guard !recipe.datasets.isEmpty else {
            throw TrainingError.badOption(name: "dataset", problem: "is required: give one or more data files (JSON, JSONL, CSV)")
        }
        let tokenizer = try PretrainedTokenizer(folder: modelFolder)
        var template: ChatTemplate? = nil
        if let name = recipe.template {
            guard let builtin = BuiltinChatTemplate.named(name) else {
                throw TrainingError.badOption(name: "template", problem: "'\(name)' is not a built-in template; known: alpaca, chatml, qwen, llama3, llama2, mistral, deepseek")
            }
            template = try builtin.template()
        } else if tokenizer.chatTemplate == nil {
            throw TrainingError.badOption(name: "template", problem: "is required: \(modelFolder.path) has no chat_template in tokenizer_config.json; name a built-in one (e.g. --template chatml)")
        }
        let format: DatasetFormat
        if let name = recipe.datasetFormat {
            guard let parsed = DatasetFormat(rawValue: name) else {
                throw TrainingError.badOption(name: "dataset_format", problem: "'\(name)' is not one of \(DatasetFormat.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            format = parsed
        } else {
            format = .auto
        }
        let options = EncodingOptions(maxLength: recipe.maxSeqLength, trainOnInputs: recipe.trainOnInputs)
        let encoder = try ConversationEncoder(pretrained: tokenizer, template: template, options: options)
        func load(_ paths: [String]) throws -> (conversations: [Conversation], skipped: [DataIssue]) {
            let loaded = try DatasetLoader(options: LoaderOptions(format: format)).load(paths: paths)
            var conversations = loaded.conversations
            if let system = recipe.systemPrompt {
                for index in conversations.indices where conversations[index].messages.first?.role != .system {
                    conversations[index].messages.insert(Message(role: .system, content: system), at: 0)
                }
            }
            return (conversations, loaded.skipped)
        }
        var warnings: [String] = []
        let (trainConversations, skipped) = try load(recipe.datasets)
        warnings += summarize(skipped)
        var encoded = try encoder.encodeAll(trainConversations)
        warnings += summarize(encoded.issues)
        try encoded.checkTrainable()
        var evalSamples: [EncodedSample] = []
        if let file = recipe.validationFile {
            let (evalConversations, _) = try load([file])
            let result = try encoder.encodeAll(evalConversations)
            evalSamples = result.samples
        } else if recipe.validationSplit > 0 {
            let split = try Splitter.split(encoded.samples, validationRatio: recipe.validationSplit, seed: recipe.training.seed)
            encoded.samples = split.train
            evalSamples = split.validation
        }
        let trainSamples = encoded.samples.map { TrainingSample(ids: $0.inputIds, labels: $0.labels) }
        let rows: [TrainingRow]
        if recipe.packing {
            if recipe.training.groupByLength {
                // As in transformers, the sampler sees packed rows: it groups them by their packed length.
                warnings.append("group_by_length with packing groups packed rows by their length; packed rows are all close to max_seq_length tokens, so it changes little (turn one of them off)")
            }
            rows = Packer(maxLength: recipe.maxSeqLength).pack(encoded.samples).map { row in
                TrainingRow(row.samples.map { TrainingSample(ids: $0.inputIds, labels: $0.labels) })
            }
        } else {
            rows = trainSamples.map { TrainingRow([$0]) }
        }
        return TrainingData(train: rows,
                            eval: evalSamples.map { TrainingSample(ids: $0.inputIds, labels: $0.labels) },
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
