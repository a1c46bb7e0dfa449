import Foundation
import TailorData
import TailorTokenizers

extension TrainingData {
    /// `dataset_format`, or `auto`.
    static func datasetFormat(_ recipe: TrainRecipe) throws -> DatasetFormat {
        guard let name = recipe.datasetFormat else { return .auto }
        guard let format = DatasetFormat(rawValue: name) else {
            throw TrainingError.invalidValue(key: "dataset_format", problem: "'\(name)' is not one of \(DatasetFormat.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return format
    }

    /// The built-in template `template` names, or nil when the recipe names none.
    static func builtinTemplate(_ recipe: TrainRecipe) throws -> ChatTemplate? {
        guard let name = recipe.template else { return nil }
        guard let builtin = BuiltinChatTemplate.named(name) else {
            throw TrainingError.invalidValue(key: "template", problem: "'\(name)' is not a built-in template; known: \(BuiltinChatTemplate.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return try builtin.template()
    }

    /// The encoder for `modelFolder`'s tokenizer and its chat template (or the built-in one).
    static func makeEncoder(_ recipe: TrainRecipe, modelFolder: URL, template: ChatTemplate?) throws -> ConversationEncoder {
        let tokenizer = try PretrainedTokenizer(folder: modelFolder)
        if template == nil && tokenizer.chatTemplate == nil {
            throw TrainingError.missingKey("template", hint: "\(modelFolder.path) has no chat_template in tokenizer_config.json; name a built-in one (e.g. --template chatml)")
        }
        let options = EncodingOptions(maxLength: recipe.maxSeqLength, trainOnInputs: recipe.trainOnInputs)
        return try ConversationEncoder(pretrained: tokenizer, template: template, options: options)
    }

    /// Reads data files; conversations get `system_prompt` when they have no system turn.
    /// With `max_samples`, each path (a dataset) keeps only its first N records, as LLaMA-Factory
    /// cuts each dataset. Preference records are refused: their rejected reply needs a preference
    /// objective, and training SFT on the chosen one alone would be a silent change of method.
    static func load(_ paths: [String], format: DatasetFormat, recipe: TrainRecipe) throws -> LoadedDataset {
        let loader = DatasetLoader(options: LoaderOptions(format: format))
        var loaded: LoadedDataset
        if let limit = recipe.maxSamples, let first = paths.first {
            func cut(_ path: String) throws -> LoadedDataset {
                var one = try loader.load(paths: [path])
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
            loaded = try loader.load(paths: paths)
        }
        if let preference = loaded.conversations.first(where: \.isPreference) {
            throw TrainingError.unusableData("\(preference.source): preference records (prompt/chosen/rejected) train with"
                + " stage dpo, which Tailor does not have yet; tailor train fine-tunes (stage sft) on messages, sharegpt, alpaca or text"
                + " records: to train on the chosen replies alone, drop the rejected field")
        }
        if let system = recipe.systemPrompt {
            for index in loaded.conversations.indices where loaded.conversations[index].messages.first?.role != .system {
                loaded.conversations[index].messages.insert(Message(role: .system, content: system), at: 0)
            }
        }
        return loaded
    }

    /// Conversations encoded with `encoder`, then the pre-tokenized samples cut to `maxLength`
    /// on the right; the issues of both.
    static func encode(_ loaded: LoadedDataset, encoder: ConversationEncoder?, maxLength: Int) throws -> EncodeResult {
        var result = EncodeResult(samples: [], issues: [])
        if let encoder, !loaded.conversations.isEmpty {
            result = try encoder.encodeAll(loaded.conversations)
        }
        for sample in loaded.tokenized {
            result.samples.append(TokenizedRecord.fit(sample, maxLength: maxLength, issues: &result.issues))
        }
        return result
    }
}

extension TrainingSample {
    /// A training sample of an encoded one, keeping where it came from.
    init(_ encoded: EncodedSample) {
        self.init(ids: encoded.inputIds, labels: encoded.labels, source: encoded.source)
    }
}
