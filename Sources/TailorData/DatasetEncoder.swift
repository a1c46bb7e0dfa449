import Foundation
import TailorTokenizers

/// Dataset files + a tokenizer + `DatasetOptions` -> samples: the one encoding path of
/// `tailor data` (inspect, preview, bench) and `tailor train` (`TrainingData.prepare`).
///
///     let data = try DatasetEncoder.load(paths: ["train.json"], options: options)
///     let encoder = try DatasetEncoder(options: options, tokenizer: PretrainedTokenizer(folder: model))
///     let result = try encoder.encode(data)      // samples in input order, and the issues found
///
/// Conversations are rendered with the chat template and labeled by `ConversationEncoder`;
/// pre-tokenized records are taken as they are and cut to `maxLength` on the right.
public struct DatasetEncoder: Sendable {
    public let options: DatasetOptions
    /// The conversation encoder; nil without a tokenizer (only pre-tokenized records encode then).
    public let conversations: ConversationEncoder?

    /// - Parameter tokenizer: the model folder's tokenizer; its chat template is used unless
    ///   `options.template` names one.
    /// - Throws: `DataError.invalidOption` for a template that cannot be found or read, or a
    ///   `maxLength` below 2.
    public init(options: DatasetOptions, tokenizer: PretrainedTokenizer?) throws {
        self.options = options
        let template = try options.chatTemplate()
        let llamaFactory = options.llamaFactoryTemplate()
        conversations = try tokenizer.map {
            try ConversationEncoder(pretrained: $0, template: template, llamaFactory: llamaFactory, options: options.encodingOptions)
        }
    }

    /// Reads data files with `options`' format, column templates and `skipInvalid`; conversations
    /// without a system turn get `systemPrompt`.
    public static func load(paths: [String], options: DatasetOptions) throws -> LoadedDataset {
        var loaded = try DatasetLoader(options: options.loaderOptions).load(paths: paths)
        if let system = options.systemPrompt {
            for index in loaded.conversations.indices where loaded.conversations[index].messages.first?.role != .system {
                loaded.conversations[index].messages.insert(Message(role: .system, content: system), at: 0)
            }
        }
        return loaded
    }

    /// Every sample of `loaded`, in load order (conversations, then pre-tokenized records), and
    /// the issues found. A conversation the template cannot render is thrown, or, with
    /// `skipInvalid` (default: the options'), reported and left out. Without a tokenizer only the
    /// pre-tokenized records encode.
    public func encode(_ loaded: LoadedDataset, skipInvalid: Bool? = nil) throws -> EncodeResult {
        var result = EncodeResult()
        if let conversations, !loaded.conversations.isEmpty {
            result = try conversations.encodeAll(loaded.conversations, skipInvalid: skipInvalid ?? options.skipInvalid)
        }
        for sample in loaded.tokenized { result.samples.append(fit(sample, issues: &result.issues)) }
        return result
    }

    /// The preference pairs of `loaded` (preference conversations, then pre-tokenized pairs), each
    /// fitted to `maxLength` with `truncation`, and the issues found.
    /// - Throws: `DataError.notPreference` for a record that is not a pair (the stage needs
    ///   prompt / chosen / rejected), and the errors of encoding (unless `skipInvalid`).
    public func encodePairs(_ loaded: LoadedDataset, truncation: EncodingOptions.Truncation,
                            skipInvalid: Bool? = nil) throws -> PairResult {
        var result = PairResult()
        try Self.checkPairs(loaded)
        let skip = skipInvalid ?? options.skipInvalid
        if !loaded.conversations.isEmpty {
            guard let conversations else {
                throw DataError.invalidOption(name: "model", reason: "\(loaded.conversations[0].source) is a conversation: encoding it needs the model's tokenizer")
            }
            for conversation in loaded.conversations {
                do {
                    let pair = try conversations.encodePreference(conversation, issues: &result.issues)
                    if let fitted = pair.fitted(maxLength: options.maxLength, truncation: truncation, issues: &result.issues) {
                        result.pairs.append(fitted)
                    }
                } catch let error as DataError where skip {
                    result.issues.append(DataIssue(kind: .skippedInvalid, source: conversation.source, message: error.description))
                }
            }
        }
        for pair in loaded.tokenizedPairs {
            if let fitted = pair.fitted(maxLength: options.maxLength, truncation: truncation, issues: &result.issues) {
                result.pairs.append(fitted)
            }
        }
        return result
    }

    /// KTO's unpaired examples of `loaded` (labelled conversations, then pre-tokenized ones), each
    /// fitted as TRL's KTOTrainer fits them: dropped when the prompt alone fills `maxLength`, else
    /// the completion cut to what is left (keep_start).
    public func encodeUnpaired(_ loaded: LoadedDataset, skipInvalid: Bool? = nil) throws -> CompletionResult {
        var result = CompletionResult()
        try Self.checkUnpaired(loaded)
        let skip = skipInvalid ?? options.skipInvalid
        var encoded: [EncodedCompletion] = []
        if !loaded.conversations.isEmpty {
            guard let conversations else {
                throw DataError.invalidOption(name: "model", reason: "\(loaded.conversations[0].source) is a conversation: encoding it needs the model's tokenizer")
            }
            for conversation in loaded.conversations {
                do { encoded.append(try conversations.encodeUnpaired(conversation, issues: &result.issues)) } catch let error as DataError where skip {
                    result.issues.append(DataIssue(kind: .skippedInvalid, source: conversation.source, message: error.description))
                }
            }
        }
        for var example in encoded + loaded.tokenizedCompletions {
            if let max = options.maxLength, example.prompt.count + example.completion.count > max {
                guard example.prompt.count < max else {
                    result.issues.append(DataIssue(kind: .dropped, source: example.source,
                                                   message: "its prompt alone has \(example.prompt.count) tokens, max_length \(max): no completion token would be trained"))
                    continue
                }
                result.issues.append(DataIssue(kind: .truncated, source: example.source,
                                               message: "cut the completion's end to fit max_length \(max) (\(example.prompt.count + example.completion.count) tokens)"))
                example.completion = Array(example.completion.prefix(max - example.prompt.count))
            }
            result.examples.append(example)
        }
        return result
    }

    /// Checks that every record of `loaded` is KTO's unpaired example (a completion with a label).
    public static func checkUnpaired(_ loaded: LoadedDataset) throws {
        if let other = loaded.conversations.first(where: { $0.desirable == nil }) {
            let found = other.isPreference ? "a preference pair (chosen and rejected), which trains with stage dpo"
                : other.isPlainText ? "a text record" : "a conversation without a label"
            throw DataError.notUnpaired(other.source, found: found)
        }
        if let other = loaded.tokenized.first {
            throw DataError.notUnpaired(other.source, found: "a tokenized record with input_ids, not prompt_ids / completion_ids / label")
        }
        if let other = loaded.tokenizedPairs.first {
            throw DataError.notUnpaired(other.source, found: "a tokenized pair, which trains with stage dpo")
        }
    }

    /// Checks that every record of `loaded` is a preference pair, before anything is tokenized.
    /// - Throws: `DataError.notPreference` naming the first record that is not, and what it is.
    public static func checkPairs(_ loaded: LoadedDataset) throws {
        if let other = loaded.conversations.first(where: { !$0.isPreference }) {
            let found = other.isPlainText ? "a text record"
                : other.desirable != nil ? "an unpaired KTO record (a reply with a boolean label), which trains with stage kto"
                : "a conversation without a rejected reply"
            throw DataError.notPreference(other.source, found: found)
        }
        if let other = loaded.tokenized.first {
            throw DataError.notPreference(other.source, found: "a tokenized record with input_ids, not prompt_ids / chosen_ids / rejected_ids")
        }
        if let other = loaded.tokenizedCompletions.first {
            throw DataError.notPreference(other.source, found: "a tokenized KTO example (completion_ids and a label), which trains with stage kto")
        }
    }

    /// One conversation encoded and fitted to `maxLength`; nil when truncation drops it.
    public func encode(_ conversation: Conversation, issues: inout [DataIssue]) throws -> EncodedSample? {
        guard let conversations else {
            throw DataError.invalidOption(name: "model", reason: "\(conversation.source) is a conversation: encoding it needs the model's tokenizer")
        }
        return try conversations.encode(conversation, issues: &issues)
    }

    /// A pre-tokenized sample cut to `maxLength` on the right.
    public func fit(_ sample: EncodedSample, issues: inout [DataIssue]) -> EncodedSample {
        TokenizedRecord.fit(sample, maxLength: options.maxLength, issues: &issues)
    }
}

/// What `DatasetEncoder.encodePairs` made: the pairs in input order and the issues found.
public struct PairResult: Sendable {
    public var pairs: [EncodedPair] = []
    public var issues: [DataIssue] = []

    public init() {}
}

/// What `DatasetEncoder.encodeUnpaired` made: KTO's examples in input order and the issues found.
public struct CompletionResult: Sendable {
    public var examples: [EncodedCompletion] = []
    public var issues: [DataIssue] = []

    public init() {}
}
