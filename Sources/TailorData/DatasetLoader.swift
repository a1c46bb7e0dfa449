import Foundation
import TailorTokenizers

/// Options for reading data files, named as LLaMA-Factory's dataset_info.json fields read.
public struct LoaderOptions: Sendable {
    /// The record layout; `auto` detects it per file from the first record.
    public var format: DatasetFormat
    /// For `columns` (or any format when set): the prompt/response templates over the columns.
    public var columnTemplate: ColumnTemplate?
    /// Skip and count records that do not parse or convert, instead of stopping (`--skip-invalid`).
    public var skipInvalid: Bool
    /// Keep at most this many samples (`max_samples`).
    public var maxSamples: Int?

    public init(format: DatasetFormat = .auto, columnTemplate: ColumnTemplate? = nil, skipInvalid: Bool = false,
                maxSamples: Int? = nil) {
        self.format = format
        self.columnTemplate = columnTemplate
        self.skipInvalid = skipInvalid
        self.maxSamples = maxSamples
    }
}

/// What `DatasetLoader.load` read.
public struct LoadedDataset: Sendable {
    public var conversations: [Conversation]
    /// Pre-tokenized records (format `tokenized`), in load order: ready to train, no tokenizer needed.
    public var tokenized: [EncodedSample] = []
    /// Pre-tokenized preference pairs (TRL's `prompt_ids` / `chosen_ids` / `rejected_ids`), in load order.
    public var tokenizedPairs: [EncodedPair] = []
    /// Pre-tokenized KTO examples (TRL's `prompt_ids` / `completion_ids` / `label`), in load order.
    public var tokenizedCompletions: [EncodedCompletion] = []
    /// The format of each file, in load order.
    public var formats: [(file: String, format: DatasetFormat)]
    /// Records skipped with `skipInvalid`, each with its file, line and reason.
    public var skipped: [DataIssue]
    /// What was read but is worth knowing, per file (a byte order mark that was skipped).
    public var notes: [DataIssue] = []

    /// Conversations and pre-tokenized samples together.
    public var sampleCount: Int { conversations.count + tokenized.count + tokenizedPairs.count + tokenizedCompletions.count }

    /// Where the first preference pair is (a conversation with a rejected reply, else a
    /// pre-tokenized pair); nil when there is none.
    public var preferenceSource: SourceLocation? {
        conversations.first(where: \.isPreference)?.source ?? tokenizedPairs.first?.source
    }

    /// Nothing loaded yet.
    public init() {
        conversations = []
        formats = []
        skipped = []
    }

    /// Adds `other`'s records, formats and skipped records after this one's (datasets read one by one).
    public mutating func append(_ other: LoadedDataset) {
        conversations += other.conversations
        tokenized += other.tokenized
        tokenizedPairs += other.tokenizedPairs
        tokenizedCompletions += other.tokenizedCompletions
        formats += other.formats
        skipped += other.skipped
        notes += other.notes
    }
}

/// Reads data files into `Conversation`s.
///
///     let data = try DatasetLoader(options: .init(skipInvalid: true)).load(paths: ["data/"])
///     data.conversations.count; data.skipped      // what was left out, with file:line
///     data.tokenized                               // records that held input_ids (format `tokenized`)
public struct DatasetLoader: Sendable {
    public var options: LoaderOptions

    public init(options: LoaderOptions = LoaderOptions()) { self.options = options }

    /// Loads every file that `paths` name (files, folders, globs), in order.
    /// - Throws: `DataError` naming the file, line and field of the first bad record (unless
    ///   `skipInvalid`), `.emptyFile`, `.noFiles`, `.unknownFormat`.
    public func load(paths: [String]) throws -> LoadedDataset {
        var result = LoadedDataset()
        for path in paths {
            for file in try RecordReader.files(for: path) {
                if let max = options.maxSamples, result.sampleCount >= max { return result }
                try load(file: file, into: &result)
            }
        }
        return result
    }

    func load(file: String, into result: inout LoadedDataset) throws {
        var format = options.format
        if options.columnTemplate != nil && format == .auto { format = .columns }
        var skipped: [DataIssue] = []
        var converted = 0
        let skip = options.skipInvalid
        var out = result.conversations
        var tokenized = result.tokenized
        var pairs = result.tokenizedPairs
        var completions = result.tokenizedCompletions
        defer {
            result.tokenizedCompletions = completions
            result.conversations = out
            result.tokenized = tokenized
            result.tokenizedPairs = pairs
        }
        try RecordReader.forEach(file: file, skipInvalid: skip, onInvalid: { error in
            skipped.append(DataIssue(kind: .skippedInvalid, source: Self.location(of: error), message: error.description))
        }) { record in
            if let max = options.maxSamples, out.count + tokenized.count + pairs.count + completions.count >= max { return }
            var recordFormat = format
            if format == .auto || options.format == .auto && options.columnTemplate == nil {
                // Auto-detection looks at every record, so files written by DatasetWriter (messages,
                // text and preference records mixed) read back.
                guard let f = DatasetFormat.detect(record.value) else {
                    let keys = record.value.objectKeys
                    if skip, converted > 0 {
                        skipped.append(DataIssue(kind: .skippedInvalid, source: record.source, message: "fields \(keys) fit no known format"))
                        return
                    }
                    throw DataError.unknownFormat(path: file, reason: "line \(record.source.line): cannot tell the format from fields \(keys); expected instruction/output (alpaca), conversations (sharegpt), messages, prompt/chosen/rejected, text, or input_ids (tokenized)")
                }
                if format == .auto { format = f }
                recordFormat = f
            }
            do {
                if recordFormat == .tokenized, TokenizedRecord.isUnpaired(record) {
                    completions.append(try TokenizedRecord.unpaired(from: record))
                } else if recordFormat == .tokenized, TokenizedRecord.isPair(record) {
                    pairs.append(try TokenizedRecord.pair(from: record))
                } else if recordFormat == .tokenized {
                    tokenized.append(try TokenizedRecord.sample(from: record))
                } else {
                    out.append(try RecordConverter(format: recordFormat, columnTemplate: options.columnTemplate).convert(record))
                }
                converted += 1
            } catch let error as DataError where skip {
                skipped.append(DataIssue(kind: .skippedInvalid, source: record.source, message: error.description))
            }
        }
        if converted == 0 && skipped.isEmpty { throw DataError.emptyFile(path: file) }
        result.formats.append((file, format))
        result.skipped += skipped
        if RecordReader.startsWithByteOrderMark(file: file) { result.notes.append(Self.byteOrderMarkNote(file)) }
    }

    /// The note for a file that starts with a UTF-8 byte order mark, which the readers skip.
    static func byteOrderMarkNote(_ file: String) -> DataIssue {
        let json = ["json", "jsonl", "ndjson"].contains((file as NSString).pathExtension.lowercased())
        return DataIssue(kind: .byteOrderMark, source: SourceLocation(file: file, line: 1, index: 0),
                         message: "the file starts with a UTF-8 byte order mark (EF BB BF), which Tailor skips"
                             + (json ? "; Python's json.load refuses such a file (\"Unexpected UTF-8 BOM\"), so save it"
                                 + " as UTF-8 without a BOM if other tools read it" : " (as pandas does)"))
    }

    static func location(of error: DataError) -> SourceLocation? {
        switch error {
        case .invalidRecord(let at, _), .missingField(let at, _), .wrongType(let at, _, _, _),
             .unknownRole(let at, _, _), .template(let at, _):
            return at
        default: return nil
        }
    }
}

extension ChatValue {
    var objectKeys: [String] {
        if case .object(let o) = self { return o.keys }
        return []
    }
}
