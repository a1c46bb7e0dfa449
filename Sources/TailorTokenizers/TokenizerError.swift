import Foundation

/// Everything that can go wrong while loading a tokenizer folder or file.
///
/// Every message names the file, the JSON path of the offending field (`model.merges[12]`) and
/// says what to do next. Encoding and decoding never throw: once loaded, a tokenizer accepts any text.
public enum TokenizerError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The file does not exist or cannot be read.
    case fileNotReadable(file: String, reason: String)
    /// The file is not valid JSON; `line`/`column` are 1-based.
    case invalidJSON(file: String, line: Int, column: Int, reason: String)
    /// A required field is absent.
    case missingField(file: String, path: String)
    /// A field has the wrong JSON type.
    case wrongType(file: String, path: String, expected: String, found: String)
    /// A pipeline component's `type` is not one Tailor implements.
    case unknownComponent(file: String, path: String, type: String, supported: [String])
    /// A field's value is not acceptable (bad enum value, bad regex, ...).
    case invalidValue(file: String, path: String, value: String, reason: String)
    /// An entry of `model.merges` is not "a b" or ["a", "b"], or names tokens missing from the vocab.
    case malformedMerge(file: String, index: Int, entry: String, reason: String)
    /// A token named by the file (unk_token, a template's special token, ...) is not in the vocabulary.
    case unknownToken(file: String, path: String, token: String)

    public var description: String {
        switch self {
        case let .fileNotReadable(file, reason):
            return "\(file): cannot read the file (\(reason)). Check the path; a model folder needs tokenizer.json."
        case let .invalidJSON(file, line, column, reason):
            return "\(file): not valid JSON at line \(line), column \(column): \(reason). Re-download the file or fix it by hand."
        case let .missingField(file, path):
            return "\(file): required field `\(path)` is missing. The file may be truncated or from an unsupported tokenizer; re-save it with `tokenizers` >= 0.14."
        case let .wrongType(file, path, expected, found):
            return "\(file): `\(path)` should be \(expected) but is \(found)."
        case let .unknownComponent(file, path, type, supported):
            return "\(file): `\(path).type` is \"\(type)\", which Tailor does not implement. Supported: \(supported.joined(separator: ", "))."
        case let .invalidValue(file, path, value, reason):
            return "\(file): `\(path)` = \(value) is not usable: \(reason)."
        case let .malformedMerge(file, index, entry, reason):
            return "\(file): `model.merges[\(index)]` = \(entry) is malformed: \(reason). Each merge must be \"left right\" or [\"left\", \"right\"] of vocabulary tokens."
        case let .unknownToken(file, path, token):
            return "\(file): `\(path)` names the token \"\(token)\", which is not in the vocabulary or added_tokens."
        }
    }
}
