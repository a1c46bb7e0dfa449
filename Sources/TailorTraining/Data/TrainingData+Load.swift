import Foundation
import TailorData
import TailorTokenizers

extension TrainingData {
    /// `modelFolder`'s tokenizer, checked to have a chat template when the recipe names none.
    static func tokenizer(_ options: DatasetOptions, modelFolder: URL) throws -> PretrainedTokenizer {
        let tokenizer = try PretrainedTokenizer(folder: modelFolder)
        if options.template == nil && tokenizer.chatTemplate == nil {
            throw TrainingError.missingKey("template", hint: "\(modelFolder.path) has no chat template (neither chat_template.jinja nor a chat_template in tokenizer_config.json); name a built-in one (e.g. --template chatml) or a .jinja file")
        }
        return tokenizer
    }

    /// `body`'s result; a `DataError.invalidOption` it throws becomes the recipe key's
    /// `TrainingError.invalidValue`, as every other bad key value is.
    static func recipeKeyErrors<Value>(_ body: () throws -> Value) throws -> Value {
        do { return try body() } catch let DataError.invalidOption(name, reason) {
            throw TrainingError.invalidValue(key: name, problem: reason)
        }
    }
}

extension TrainingSample {
    /// A training sample of an encoded one, keeping where it came from.
    init(_ encoded: EncodedSample) {
        self.init(ids: encoded.inputIds, labels: encoded.labels, source: encoded.source)
    }
}

extension TrainingData {
    /// The records of `items`, as `DatasetEncoder.load` reads them: paths, or LLaMA-Factory
    /// dataset names looked up in `dataset_dir/dataset_info.json` (each read in the format its
    /// entry names when dataset_format is auto). With `max_samples`, each dataset keeps only its
    /// first N records, as LLaMA-Factory cuts each dataset. Preference records are refused: their
    /// rejected reply needs a preference objective, and training SFT on the chosen one alone
    /// would be a silent change of method.
    static func load(_ items: [String], recipe: TrainRecipe) throws -> LoadedDataset {
        let datasets = try recipeKeyErrors { try DatasetRegistry.resolve(items, folder: recipe.datasetDir ?? "data") }
        guard !datasets.isEmpty else {
            throw TrainingError.missingKey("dataset", hint: "give one or more data files (JSON, JSONL, CSV) or dataset_info.json names")
        }
        var loaded = LoadedDataset()
        for dataset in datasets {
            var options = recipe.data
            if options.format == .auto, let format = dataset.format { options.format = format }
            var one = try DatasetEncoder.load(paths: [dataset.path], options: options)
            if let limit = recipe.maxSamples {
                one.conversations = Array(one.conversations.prefix(limit))
                one.tokenized = Array(one.tokenized.prefix(limit))
                one.tokenizedPairs = Array(one.tokenizedPairs.prefix(limit))
                one.tokenizedCompletions = Array(one.tokenizedCompletions.prefix(limit))
            }
            loaded.append(one)
        }
        if recipe.stage == .sft || recipe.stage == .pt,
           let unpaired = loaded.conversations.first(where: { $0.desirable != nil })?.source ?? loaded.tokenizedCompletions.first?.source {
            throw TrainingError.unusableData("\(unpaired): an unpaired KTO record (a reply with a boolean label) trains with"
                + " stage: kto (--stage kto); stage \(recipe.stage.rawValue) would train every reply, the undesirable ones"
                + " too: keep only the label: true records and drop the label field to fine-tune on them")
        }
        if recipe.stage == .sft || recipe.stage == .pt {
            let preference = loaded.preferenceSource
            if let preference {
                throw TrainingError.unusableData("\(preference): preference records (prompt/chosen/rejected) train with"
                    + " stage: dpo (--stage dpo); stage \(recipe.stage.rawValue) fine-tunes on messages, sharegpt, alpaca, text or"
                    + " input_ids records: to train on the chosen replies alone, drop the rejected field")
            }
        }
        return loaded
    }
}
