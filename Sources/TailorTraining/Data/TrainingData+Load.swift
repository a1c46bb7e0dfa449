import Foundation
import TailorData
import TailorTokenizers

extension TrainingData {
    /// `modelFolder`'s tokenizer, checked to have a chat template when the recipe names none.
    static func tokenizer(_ options: DatasetOptions, modelFolder: URL) throws -> PretrainedTokenizer {
        let tokenizer = try PretrainedTokenizer(folder: modelFolder)
        if options.template == nil && tokenizer.chatTemplate == nil {
            throw TrainingError.missingKey("template", hint: "\(modelFolder.path) has no chat_template in tokenizer_config.json; name a built-in one (e.g. --template chatml) or a .jinja file")
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
    /// The records of `paths`, as `DatasetEncoder.load` reads them. With `max_samples`, each path
    /// (a dataset) keeps only its first N records, as LLaMA-Factory cuts each dataset. Preference
    /// records are refused: their rejected reply needs a preference objective, and training SFT on
    /// the chosen one alone would be a silent change of method.
    static func load(_ paths: [String], recipe: TrainRecipe) throws -> LoadedDataset {
        var loaded: LoadedDataset
        if let limit = recipe.maxSamples, let first = paths.first {
            func cut(_ path: String) throws -> LoadedDataset {
                var one = try DatasetEncoder.load(paths: [path], options: recipe.data)
                one.conversations = Array(one.conversations.prefix(limit))
                one.tokenized = Array(one.tokenized.prefix(limit))
                return one
            }
            loaded = try cut(first)
            for path in paths.dropFirst() {
                let one = try cut(path)
                loaded.conversations += one.conversations
                loaded.tokenized += one.tokenized
                loaded.formats += one.formats
                loaded.skipped += one.skipped
            }
        } else {
            loaded = try DatasetEncoder.load(paths: paths, options: recipe.data)
        }
        if let preference = loaded.conversations.first(where: \.isPreference) {
            throw TrainingError.unusableData("\(preference.source): preference records (prompt/chosen/rejected) train with"
                + " stage dpo, which Tailor does not have yet; tailor train fine-tunes (stage sft) on messages, sharegpt, alpaca or text"
                + " records: to train on the chosen replies alone, drop the rejected field")
        }
        return loaded
    }
}
