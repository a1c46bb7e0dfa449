import TailorData
import TailorTokenizers

/// The table's entries for the dataset encoding options (`DatasetOptions`), which `tailor data`
/// takes as flags of the same names: one entry per `DatasetOptions.Key`, with its spellings.
extension RecipeKeys {
    /// One entry per `DatasetOptions.Key`, in its order.
    static let encodingKeys: [RecipeKey] = DatasetOptions.Key.allCases.map(entry)

    /// The entry of `key`: how its value reads into `recipe.data` and is written back.
    static func entry(_ key: DatasetOptions.Key) -> RecipeKey {
        let name = key.name, aliases = key.aliases
        switch key {
        case .datasetFormat:
            return RecipeKey(name, aliases: aliases, type: .text,
                             help: DatasetFormat.allCases.map(\.rawValue).joined(separator: " | ")
                                 + "; tokenized: records of input_ids, optional labels (-100 = not trained; absent: all trained), TRL's"
                                 + " completion_mask / assistant_masks (0 masks a label) and attention_mask (right padding dropped);"
                                 + " no tokenizer or chat template needed",
                             unset: "detected",
                             read: { value, spelling, recipe in
                                 let text = try value.text(spelling)
                                 guard let format = DatasetFormat(rawValue: text) else {
                                     throw TrainingError.invalidValue(key: spelling, problem: "'\(text)' is not one of \(DatasetFormat.allCases.map(\.rawValue).joined(separator: ", "))")
                                 }
                                 recipe.data.format = format
                             },
                             yaml: { $0.data.format == .auto ? nil : RecipeYAML.quote($0.data.format.rawValue) })
        case .promptTemplate:
            return .text(name, aliases: aliases, \.data.promptTemplate, nullable: true,
                         "a prompt over any columns, e.g. \"问题:{Question}\\n\"; implies dataset_format columns")
        case .responseTemplate:
            return RecipeKey(name, aliases: aliases, type: .text, help: "the trained reply over columns, with prompt_template",
                             read: { value, spelling, recipe in recipe.data.responseTemplate = try value.text(spelling) },
                             yaml: { RecipeYAML.quote($0.data.responseTemplate) },
                             written: { $0.data.promptTemplate != nil })
        case .template:
            return .text(name, aliases: aliases, \.data.template, unset: "the model's",
                         "chat template: a built-in one (" + BuiltinChatTemplate.allCases.map(\.rawValue).joined(separator: ", ")
                             + "), a .jinja file, or LLaMA-Factory's (" + LlamaFactoryTemplate.names.joined(separator: ", ")
                             + "; llamafactory:NAME for a name both have), encoded slot by slot as LLaMA-Factory does")
        case .systemPrompt:
            return .text(name, aliases: aliases, \.data.systemPrompt, "system turn for samples without one")
        case .maxSeqLength:
            return .integer(name, aliases: aliases, \.data.maxLength, min: 2, unset: "\(TrainRecipe.defaultMaxSeqLength)",
                            "tokens per sample")
        case .truncationMode:
            return RecipeKey(name, aliases: aliases, type: .choice(EncodingOptions.Truncation.names),
                             help: "a sample over max_seq_length: keep its first reply whole (cutting the prompt's start if"
                                 + " needed), cut the end (keep_start) or the start (keep_end), or drop it",
                             read: { value, spelling, recipe in
                                 let text = try value.text(spelling)
                                 guard let mode = EncodingOptions.Truncation.named(text) else {
                                     throw TrainingError.invalidValue(key: spelling, problem: "must be one of \(RecipeValue.wordList(EncodingOptions.Truncation.names)) (got \(value))")
                                 }
                                 recipe.data.truncation = mode
                             },
                             yaml: { $0.data.truncation.rawValue })
        case .trainOnInputs:
            return .bool(name, aliases: aliases, \.data.trainOnInputs, "learn prompt tokens too")
        case .assistantOnlyLoss:
            return RecipeKey(name, aliases: aliases, type: .bool, help: "TRL's spelling: true means train_on_inputs false",
                             read: { value, spelling, recipe in recipe.data.assistantOnlyLoss = try value.bool(spelling) },
                             yaml: { "\($0.data.assistantOnlyLoss)" }, written: { _ in false })
        case .maskHistory:
            return .bool(name, aliases: aliases, \.data.maskHistory, "train only the last assistant turn of each sample")
        case .skipInvalid:
            return .bool(name, aliases: aliases, \.data.skipInvalid,
                         "skip records that do not parse and samples the template cannot render, with a warning, instead of stopping")
        case .enableThinking:
            return RecipeKey(name, aliases: aliases, type: .bool,
                             help: "the chat template's enable_thinking (Qwen3; LLaMA-Factory's reasoning templates: false puts an empty thought in the prompt)",
                             unset: "the template's",
                             read: { value, spelling, recipe in recipe.data.enableThinking = try value.bool(spelling) },
                             yaml: { $0.data.enableThinking.map { "\($0)" } })
        }
    }
}
