import ArgumentParser
import Foundation
import TailorData
import TailorJSON
import TailorTokenizers
import TailorTraining

struct DataCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Inspect, preview, clean and split training data (alpaca, sharegpt, messages, preference, text, tokenized, CSV).",
        subcommands: [DataInspectCommand.self, DataPreviewCommand.self, DataCleanCommand.self, DataSplitCommand.self,
                      DataBenchCommand.self]
    )
}

/// Options shared by the data subcommands: what to read and how to encode it. The encoding
/// options are `DatasetOptions`, spelled as `tailor train`'s keys (`--mask_history`,
/// `--cutoff_len` ...), with the earlier `tailor data` spellings (`--max-length`) kept.
struct DataInputOptions: ParsableArguments {
    @Argument(help: "Data files, folders or globs (.json, .jsonl, .csv, .tsv, .txt).")
    var paths: [String]

    @Option(name: names(.datasetFormat),
            help: "Record format: auto, alpaca, sharegpt, messages, preference, text, columns, tokenized (input_ids, labels, attention_mask).")
    var format: String = "auto"

    @Option(name: names(.promptTemplate),
            help: "Prompt template over columns, e.g. '问题:{Question}\\n'. Implies --dataset_format columns.")
    var promptTemplate: String?

    @Option(name: names(.responseTemplate), help: "Response template over columns, e.g. '{Response}'.")
    var responseTemplate: String = "{output}"

    @Flag(name: names(.skipInvalid),
          help: "Skip records that do not parse (and samples the template cannot render), and count them, instead of stopping at the first.")
    var skipInvalid = false

    @Option(name: [.customLong("model"), .customLong("model_name_or_path")],
            help: "Model folder with tokenizer.json (and tokenizer_config.json for its chat template).")
    var model: String?

    @Option(name: names(.template),
            help: "Chat template: a built-in name (\(BuiltinChatTemplate.allCases.map(\.rawValue).joined(separator: ", "))), a .jinja file, or LLaMA-Factory's (\(LlamaFactoryTemplate.names.joined(separator: ", ")); llamafactory:NAME for a name both have). Default: the model's.")
    var template: String?

    @Option(name: names(.systemPrompt), help: "A system turn for conversations without one.")
    var systemPrompt: String?

    @Option(name: names(.maxSeqLength),
            parsing: .unconditional, help: "Tokens per sample. Default: none (tailor train: \(TrainRecipe.defaultMaxSeqLength)).")
    var maxLength: Int?

    @Option(name: names(.truncationMode),
            help: "Over-long samples: keep_response, right (keep_start), left (keep_end), drop.")
    var truncation: String = "keep_response"

    @Flag(name: names(.trainOnInputs), help: "Label every token, not only assistant replies.")
    var trainOnInputs = false

    @Option(name: names(.assistantOnlyLoss), help: "TRL's spelling: false means --train_on_inputs.")
    var assistantOnlyLoss: Bool?

    @Flag(name: names(.maskHistory), help: "Train only the last assistant turn.")
    var maskHistory = false

    @Option(name: names(.enableThinking), help: "The chat template's enable_thinking (true or false). Default: the template's.")
    var enableThinking: Bool?

    /// The spellings `tailor data` took before its flags were spelled as the recipe keys.
    static let earlierSpellings: [DatasetOptions.Key: String] = [
        .promptTemplate: "prompt-template", .responseTemplate: "response-template", .skipInvalid: "skip-invalid",
        .maxSeqLength: "max-length", .trainOnInputs: "train-on-inputs", .maskHistory: "mask-history",
    ]

    /// The flag names of an encoding option: its spellings, then the earlier `tailor data` one.
    static func flagNames(_ key: DatasetOptions.Key) -> [String] {
        key.spellings + (earlierSpellings[key].map { [$0] } ?? [])
    }

    static func names(_ key: DatasetOptions.Key) -> NameSpecification {
        NameSpecification(flagNames(key).map { .customLong($0) })
    }

    func validate() throws {
        if let maxLength, maxLength < 1 { throw ValidationError("--max_seq_length must be ≥ 1 (got \(maxLength))") }
    }

    /// The encoding options these flags give.
    func options() throws -> DatasetOptions {
        guard let f = DatasetFormat(rawValue: format) else {
            throw ValidationError("--dataset_format \(format): use one of \(DatasetFormat.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let t = EncodingOptions.Truncation.named(truncation) else {
            throw ValidationError("--truncation_mode \(truncation): use one of \(EncodingOptions.Truncation.names.joined(separator: ", "))")
        }
        var options = DatasetOptions(format: f, promptTemplate: promptTemplate, responseTemplate: responseTemplate,
                                     template: template, systemPrompt: systemPrompt, maxLength: maxLength, truncation: t,
                                     trainOnInputs: trainOnInputs, maskHistory: maskHistory, skipInvalid: skipInvalid)
        if let assistantOnlyLoss { options.assistantOnlyLoss = assistantOnlyLoss }
        options.enableThinking = enableThinking
        return options
    }

    func load() throws -> LoadedDataset {
        try DatasetEncoder.load(paths: paths, options: options())
    }

    /// The encoder: with --model, for conversations and pre-tokenized records; without, for
    /// pre-tokenized records only.
    func encoder() throws -> DatasetEncoder {
        let tokenizer = try model.map { try PretrainedTokenizer(folder: URL(fileURLWithPath: $0)) }
        return try DatasetEncoder(options: options(), tokenizer: tokenizer)
    }
}

struct DataInspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Detected format, sample count, problems found; with --model, token lengths and the share of trained tokens.")

    @OptionGroup var input: DataInputOptions

    @Option(parsing: .unconditional, help: "Problems listed per kind (the rest are counted).")
    var show: Int = 5

    func validate() throws {
        guard show >= 0 else { throw ValidationError("--show must be ≥ 0 (got \(show))") }
    }

    func run() async throws {
        let data = try input.load()
        for (file, format) in data.formats { print("\(file): \(format.rawValue)") }
        let convs = data.conversations
        print("samples: \(data.sampleCount)  (chat \(convs.filter { !$0.isPlainText && !$0.isPreference }.count), text \(convs.filter(\.isPlainText).count), preference \(convs.filter(\.isPreference).count), tokenized \(data.tokenized.count))")
        let turns = convs.map { $0.messages.filter { $0.role == .assistant }.count }
        if let maxTurns = turns.max() { print("assistant turns per sample: max \(maxTurns), mean \(String(format: "%.2f", Double(turns.reduce(0, +)) / Double(max(1, turns.count))))") }
        var issues = data.skipped + data.notes
        let cleaning = Cleaner.clean(convs, options: CleaningOptions(normalizeWhitespace: false))
        issues += cleaning.removed
        // Pre-tokenized records need no tokenizer: their lengths are known as read.
        let encoder = try input.encoder()
        let result = try encoder.encode(data, skipInvalid: true)
        issues += result.issues
        let samples = result.samples
        if encoder.conversations != nil || !data.tokenized.isEmpty {
            Self.printLengths(samples)
            if samples.allSatisfy(\.isFullyMasked) && !samples.isEmpty {
                print("error: every sample is fully masked; training would learn nothing")
            }
        }
        if encoder.conversations == nil && !convs.isEmpty {
            print("(pass --model to see token lengths and trained-token shares\(data.tokenized.isEmpty ? "" : " of the records that are not tokenized"))")
        }
        var pairs = LoadedDataset()
        pairs.conversations = convs.filter(\.isPreference)
        pairs.tokenizedPairs = data.tokenizedPairs
        if !pairs.tokenizedPairs.isEmpty || (!pairs.conversations.isEmpty && encoder.conversations != nil) {
            if encoder.conversations == nil { pairs.conversations = [] }
            let encoded = try encoder.encodePairs(pairs, truncation: .right, skipInvalid: true)
            issues += encoded.issues
            Self.printPairLengths(encoded.pairs, maxLength: try input.options().maxLength)
        }
        let grouped = Dictionary(grouping: issues, by: \.kind)
        if grouped.isEmpty { print("problems: none found") }
        for (kind, list) in grouped.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            print("\(kind.rawValue): \(list.count)")
            for issue in list.prefix(show) { print("  \(issue)") }
        }
    }

    /// Preference pairs as stage dpo tokenizes them: prompt, reply and sequence lengths.
    static func printPairLengths(_ pairs: [EncodedPair], maxLength: Int?) {
        print("preference pairs: \(pairs.count), as stage dpo tokenizes them (TRL's split; keep_start truncation"
              + (maxLength.map { " at max_length \($0)" } ?? "") + ")")
        func line(_ name: String, _ values: [Int]) {
            let sorted = values.sorted()
            guard let last = sorted.last else { return }
            func pct(_ p: Double) -> Int { sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }  // allowed: p is in [0, 1], so the index is at most the count
            print("  \(name) tokens: min \(sorted[0]) / median \(pct(0.5)) / p95 \(pct(0.95)) / max \(last)")
        }
        line("prompt", pairs.map(\.prompt.count))
        line("chosen", pairs.map(\.chosen.count))
        line("rejected", pairs.map(\.rejected.count))
        line("sequence", pairs.map { $0.prompt.count + max($0.chosen.count, $0.rejected.count) })
    }

    /// Token totals, the trained share and a length histogram.
    static func printLengths(_ samples: [EncodedSample]) {
        let lengths = samples.map(\.count).sorted()
        guard let longest = lengths.last else { return }
        let tokens = lengths.reduce(0, +)
        let trained = samples.reduce(0) { $0 + $1.trainedTokenCount }
        func pct(_ p: Double) -> Int { lengths[min(lengths.count - 1, Int(Double(lengths.count) * p))] }  // allowed: p and n / count are in [0, 1], so the result is at most the count of lengths
        print("tokens: \(tokens) total, per sample min \(lengths[0]) / median \(pct(0.5)) / p95 \(pct(0.95)) / max \(longest)")
        print("trained tokens: \(trained) (\(String(format: "%.1f", 100 * Double(trained) / Double(max(1, tokens))))%)")
        print("length histogram:")
        var lower = 0, bound = 16
        while lower < longest {
            let n = lengths.filter { $0 > lower && $0 <= bound }.count
            let bar = String(repeating: "█", count: Int((50 * Double(n) / Double(lengths.count)).rounded(.up)))  // allowed: p and n / count are in [0, 1], so the result is at most the count of lengths
            print(String(format: "  %6d-%-6d %7d ", lower + 1, bound, n) + bar)
            lower = bound
            bound *= 2
        }
    }
}

struct DataPreviewCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preview",
        abstract: "Print one rendered sample with the trained tokens highlighted: what the model will learn.")

    @OptionGroup var input: DataInputOptions

    @Option(parsing: .unconditional, help: "Which sample (0-based).")
    var index: Int = 0

    func validate() throws {
        guard index >= 0 else { throw ValidationError("--index must be ≥ 0 (got \(index)); samples are numbered from 0") }
    }

    @Flag(help: "Mark trained text with [[ ]] instead of colour.")
    var noColor = false

    func run() async throws {
        let data = try input.load()
        guard (0..<data.sampleCount).contains(index) else {
            throw ValidationError("--index \(index): the data has \(data.sampleCount) samples")
        }
        if index >= data.conversations.count + data.tokenized.count {
            // A pre-tokenized pair: its ids, decoded when a tokenizer is given.
            let pair = data.tokenizedPairs[index - data.conversations.count - data.tokenized.count]
            let tokenizer = try input.encoder().conversations?.tokenizer
            if tokenizer == nil { print("(a tokenized record has no text: its ids are shown; pass --model to decode them)") }
            func decode(_ ids: ArraySlice<Int32>) -> String { tokenizer?.decode(ids) ?? ids.map(String.init).joined(separator: " ") + " " }
            print("preference pair: \(pair.prompt.count) prompt tokens, \(pair.chosen.count) chosen, \(pair.rejected.count) rejected")
            print("chosen:")
            show(pair.chosenSample, issues: [], decode: decode)
            print("rejected:")
            show(pair.rejectedSample, issues: [], decode: decode)
            return
        }
        guard index < data.conversations.count else {
            // Pre-tokenized: no text to render; the ids are decoded when a tokenizer is given.
            var issues: [DataIssue] = []
            let encoder = try input.encoder()
            let sample = encoder.fit(data.tokenized[index - data.conversations.count], issues: &issues)
            let tokenizer = encoder.conversations?.tokenizer
            if tokenizer == nil { print("(a tokenized record has no text: its ids are shown; pass --model to decode them)") }
            show(sample, issues: issues) { ids in
                tokenizer?.decode(ids) ?? ids.map(String.init).joined(separator: " ") + " "
            }
            return
        }
        let encoder = try input.encoder()
        guard encoder.conversations != nil else { throw ValidationError("preview needs --model (the tokenizer and chat template)") }
        let conv = data.conversations[index]
        var issues: [DataIssue] = []
        if conv.isPreference, let conversations = encoder.conversations {
            // A pair as stage dpo trains it: prompt + chosen, then prompt + rejected, replies trained.
            let pair = try conversations.encodePreference(conv, issues: &issues)
            print("preference pair: \(pair.prompt.count) prompt tokens, \(pair.chosen.count) chosen, \(pair.rejected.count) rejected (before truncation)")
            print("chosen:")
            show(pair.chosenSample, issues: []) { conversations.tokenizer.decode($0) }
            print("rejected:")
            show(pair.rejectedSample, issues: issues) { conversations.tokenizer.decode($0) }
            return
        }
        guard let sample = try encoder.encode(conv, issues: &issues) else {
            print("sample \(conv.source) is dropped: \(issues.map(\.message).joined(separator: "; "))")
            return
        }
        show(sample, issues: issues) { encoder.conversations?.tokenizer.decode($0) ?? "" }
    }

    /// The sample's text, trained runs highlighted, then its notes.
    func show(_ sample: EncodedSample, issues: [DataIssue], decode: (ArraySlice<Int32>) -> String) {
        print("── \(sample.source)  \(sample.count) tokens, \(sample.trainedTokenCount) trained ──")
        var out = ""
        var i = 0
        let (on, off) = noColor ? ("[[", "]]") : ("\u{1B}[42;30m", "\u{1B}[0m")
        while i < sample.count {
            let trained = sample.labels[i] != -100
            var j = i
            while j < sample.count, (sample.labels[j] != -100) == trained { j += 1 }
            let text = decode(sample.inputIds[i..<j])
            out += trained ? on + text + off : text
            i = j
        }
        print(out)
        for issue in issues { print("note: \(issue)") }
    }
}

struct DataCleanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clean",
        abstract: "Normalize whitespace, drop empty/short/long samples and duplicates; write JSON Lines (messages format).")

    @OptionGroup var input: DataInputOptions

    @Option(name: .shortAndLong, help: "Output .jsonl file (written atomically).")
    var output: String

    @Option(parsing: .unconditional, help: "Drop samples with fewer characters.")
    var minChars: Int = 1

    @Option(parsing: .unconditional, help: "Drop samples with more characters. Default: none.")
    var maxChars: Int?

    @Flag(help: "Keep exact duplicates.")
    var keepDuplicates = false

    @Option(parsing: .unconditional, help: "Also drop near duplicates at this MinHash Jaccard similarity (e.g. 0.85). Default: off.")
    var nearDuplicates: Double?

    func validate() throws {
        guard minChars >= 0 else { throw ValidationError("--min-chars must be ≥ 0 (got \(minChars))") }
        if let maxChars, maxChars < 0 { throw ValidationError("--max-chars must be ≥ 0 (got \(maxChars))") }
        if let nearDuplicates, !(nearDuplicates > 0 && nearDuplicates <= 1) {
            throw ValidationError("--near-duplicates must be a similarity in (0, 1], e.g. 0.85 (got \(nearDuplicates))")
        }
    }

    func run() async throws {
        let data = try input.load()
        guard data.tokenized.isEmpty else {
            throw ValidationError("\(data.tokenized.count) records are tokenized (input_ids): they have no text to clean; clean the data before tokenizing it")
        }
        let report = Cleaner.clean(data.conversations, options: CleaningOptions(
            minCharacters: minChars, maxCharacters: maxChars, deduplicate: !keepDuplicates, nearDuplicateThreshold: nearDuplicates))
        try DatasetWriter.writeJSONL(report.kept, to: output)
        let c = report.count
        print("kept \(report.kept.count) of \(data.conversations.count); removed: empty \(c.empty), short \(c.short), long \(c.long), duplicate \(c.duplicate), near duplicate \(c.nearDuplicate); skipped invalid \(data.skipped.count)")
        print("wrote \(output)")
    }
}

struct DataSplitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "split",
        abstract: "Deterministic train/validation split by ratio and seed; writes train.jsonl and validation.jsonl.")

    @OptionGroup var input: DataInputOptions

    @Option(parsing: .unconditional, help: "Validation share (val_size).")
    var valSize: Double = 0.1

    @Option(parsing: .unconditional, help: "Shuffle seed.")
    var seed: UInt64 = 42

    func validate() throws {
        guard valSize >= 0 && valSize < 1 else { throw ValidationError("--val-size must be a share in [0, 1), e.g. 0.1 (got \(valSize))") }
    }

    @Option(help: "Output folder.")
    var outputDir: String = "."

    func run() async throws {
        let data = try input.load()
        let dir = URL(fileURLWithPath: outputDir)
        if !data.tokenized.isEmpty {
            guard data.conversations.isEmpty else {
                throw ValidationError("the data mixes \(data.tokenized.count) tokenized records with \(data.conversations.count) others; split them separately")
            }
            let (train, val) = try Splitter.split(data.tokenized, validationRatio: valSize, seed: seed)
            try DatasetWriter.writeJSONL(tokenized: train, to: dir.appendingPathComponent("train.jsonl").path)
            try DatasetWriter.writeJSONL(tokenized: val, to: dir.appendingPathComponent("validation.jsonl").path)
            print("train \(train.count), validation \(val.count) tokenized records -> \(dir.path)/{train,validation}.jsonl")
            return
        }
        let (train, val) = try Splitter.split(data.conversations, validationRatio: valSize, seed: seed)
        try DatasetWriter.writeJSONL(train, to: dir.appendingPathComponent("train.jsonl").path)
        try DatasetWriter.writeJSONL(val, to: dir.appendingPathComponent("validation.jsonl").path)
        print("train \(train.count), validation \(val.count) -> \(dir.path)/{train,validation}.jsonl")
    }
}

struct DataBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time formatting + tokenizing + masking N samples on every core (compare: scripts/bench/bench_data.py).")

    @OptionGroup var input: DataInputOptions

    @Option(parsing: .unconditional, help: "Samples to encode (the data is repeated to reach it).")
    var samples: Int = 100_000

    func validate() throws {
        guard samples >= 1 else { throw ValidationError("--samples must be ≥ 1 (got \(samples))") }
    }

    func run() async throws {
        guard let encoder = try input.encoder().conversations else { throw ValidationError("bench needs --model") }
        let data = try input.load()
        guard !data.conversations.isEmpty else {
            throw ValidationError(data.tokenized.isEmpty ? "no samples" : "the records are tokenized: there is nothing to render or tokenize")
        }
        var convs: [Conversation] = []
        convs.reserveCapacity(samples)
        while convs.count < samples { convs += data.conversations.prefix(samples - convs.count) }
        // Rendering alone (one thread), to see where time goes.
        let probe = Array(convs.prefix(2000))
        var t0 = Date()
        var texts: [String] = []
        for c in probe { texts.append(try encoder.render(c).text) }
        let renderPerSample = Date().timeIntervalSince(t0) / Double(probe.count)
        t0 = Date()
        for t in texts { _ = encoder.tokenizer.encodeInt32(t, addSpecialTokens: false) }
        let tokenizePerSample = Date().timeIntervalSince(t0) / Double(probe.count)
        print(String(format: "one thread: render %.1f µs/sample, tokenize %.1f µs/sample", renderPerSample * 1e6, tokenizePerSample * 1e6))
        let start = Date()
        let result = try encoder.encodeAll(convs)
        let seconds = Date().timeIntervalSince(start)
        let tokens = result.samples.reduce(0) { $0 + $1.count }
        let line: JSONValue = [
            "samples": .int(convs.count), "tokens": .int(tokens), "seconds": .double((seconds * 1000).rounded() / 1000),
            "samples_per_s": .double((Double(convs.count) / seconds).rounded()),
            "threads": .int(ProcessInfo.processInfo.activeProcessorCount),
        ]
        print(line.text(.python))
    }
}
