import Foundation

/// Where a sample came from: file, 1-based line (the line its JSON element starts on, or its
/// CSV/JSONL row), and its index among the file's records.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var index: Int

    public init(file: String, line: Int, index: Int) {
        self.file = file
        self.line = line
        self.index = index
    }

    public var description: String { "\(file):\(line)" }
}

/// Every error TailorData throws. Messages name the file, line and field at fault and say what to do.
public enum DataError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A file or folder could not be read (missing, permissions, not UTF-8).
    case fileNotReadable(path: String, reason: String)
    /// No data file matched the path, folder or glob.
    case noFiles(pattern: String)
    /// The file has no records.
    case emptyFile(path: String)
    /// A record is not valid JSON (JSONL line, JSON array element) or CSV.
    case invalidRecord(SourceLocation, reason: String)
    /// The file as a whole is not readable as its format, so no record can be trusted (not skippable with
    /// `skipInvalid`): bytes that are not UTF-8, a JSON array followed by more text, a bracket that closes
    /// nothing, a trailing comma. `line` and `column` (1-based, in characters) are where it goes wrong.
    case malformedFile(path: String, line: Int, column: Int, reason: String)
    /// A field the format needs is absent.
    case missingField(SourceLocation, field: String)
    /// A field has the wrong JSON type.
    case wrongType(SourceLocation, field: String, expected: String, found: String)
    /// A message role (or sharegpt `from`) that is not known.
    case unknownRole(SourceLocation, field: String, role: String)
    /// The format could not be detected, or the file does not fit the format asked for.
    case unknownFormat(path: String, reason: String)
    /// The chat template failed on a sample.
    case template(SourceLocation, message: String)
    /// Every sample is fully masked: training would learn nothing.
    case allSamplesFullyMasked(count: Int, first: SourceLocation?)
    /// An option value makes no sense.
    case invalidOption(name: String, reason: String)
    /// A preference stage (dpo) was given a record that is not a preference pair.
    case notPreference(SourceLocation, found: String)
    /// Stage kto was given a record that is not an unpaired, labelled example.
    case notUnpaired(SourceLocation, found: String)
    /// Writing an output file failed.
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case .fileNotReadable(let path, let reason):
            return "\(path): cannot read (\(reason)). Check the path and permissions."
        case .noFiles(let pattern):
            return "\(pattern): no .json, .jsonl, .csv, .tsv or .txt file matches. Pass a file, a folder or a glob such as 'data/*.jsonl'."
        case .emptyFile(let path):
            return "\(path): the file has no records."
        case .invalidRecord(let at, let reason):
            return "\(at): not a valid record: \(reason). Fix the line, or skip bad records with --skip-invalid (skip_invalid: true in a train recipe)."
        case .malformedFile(let path, let line, let column, let reason):
            return "\(path):\(line):\(column): \(reason)."
        case .notPreference(let at, let found):
            return "\(at): \(found). Preference training (stage dpo) needs pairs: prompt + chosen + rejected (strings or message lists, TRL's form), LLaMA-Factory's conversations + chosen + rejected, or prompt_ids + chosen_ids + rejected_ids; train other records with stage sft."
        case .notUnpaired(let at, let found):
            return "\(at): \(found). KTO (stage kto) needs unpaired examples with a boolean label: TRL's prompt + completion + label, LLaMA-Factory's messages + label (as kto_en_demo.json), or prompt_ids + completion_ids + label."
        case .missingField(let at, let field):
            return "\(at): field '\(field)' is missing. Add it, map another column to it, or skip such records with --skip-invalid (skip_invalid: true in a train recipe)."
        case .wrongType(let at, let field, let expected, let found):
            return "\(at): field '\(field)' of record \(at.index + 1) is \(found); expected \(expected)."
        case .unknownRole(let at, let field, let role):
            return "\(at): field '\(field)' has unknown role '\(role)'. Known: system, user/human, assistant/gpt, tool/observation/function, function_call."
        case .unknownFormat(let path, let reason):
            return "\(path): \(reason). Name the format with --format (alpaca, sharegpt, messages, preference, text, columns, tokenized)."
        case .template(let at, let message):
            return "\(at): the chat template failed: \(message)"
        case .allSamplesFullyMasked(let count, let first):
            return "all \(count) samples have every label -100 (first: \(first.map(\.description) ?? "?")): nothing would be trained. Check the template's assistant turns, max_length and the masking options."
        case .invalidOption(let name, let reason):
            return "option \(name): \(reason)"
        case .writeFailed(let path, let reason):
            return "\(path): cannot write (\(reason))."
        }
    }
}

/// A problem found in one sample that does not stop the run (skipped records, truncation, masking).
public struct DataIssue: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        case skippedInvalid = "skipped invalid record"
        case fullyMasked = "all labels -100"
        case truncated = "truncated"
        case dropped = "dropped (too long)"
        case noStopToken = "trained turn does not end with EOS"
        case duplicate = "duplicate"
        case nearDuplicate = "near duplicate"
        case filtered = "filtered"
        case byteOrderMark = "byte order mark"
        case identicalReplies = "chosen identical to rejected"
        case promptNotPrefix = "prompt not a token prefix"
    }

    public var kind: Kind
    public var source: SourceLocation?
    public var message: String

    public init(kind: Kind, source: SourceLocation?, message: String) {
        self.kind = kind
        self.source = source
        self.message = message
    }

    public var description: String {
        "\(source.map { "\($0): " } ?? "")\(kind.rawValue): \(message)"
    }
}
