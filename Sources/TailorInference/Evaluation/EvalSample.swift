import Foundation
import TailorData
import TailorTokenizers

/// One record of an evaluation set: the conversation up to its last assistant reply (the prompt
/// the model answers), that reply (the reference answer), and the record encoded as training
/// encodes it (ids and labels, for perplexity).
public struct EvalSample: Sendable {
    public var source: SourceLocation
    /// The messages before the reference answer (system and user turns, earlier exchanges).
    public var prompt: [ChatMessage]
    /// The last assistant reply; nil when the record ends with another role.
    public var reference: String?
    /// The record with the training masking; nil when the template could not encode it.
    public var encoded: EncodedSample?

    public init(source: SourceLocation, prompt: [ChatMessage], reference: String?, encoded: EncodedSample?) {
        self.source = source
        self.prompt = prompt
        self.reference = reference
        self.encoded = encoded
    }

    /// Labeled tokens of the record (what perplexity scores).
    public var labeledTokens: Int { encoded?.trainedTokenCount ?? 0 }

    /// The samples of data files, read and encoded as `tailor train` reads them (`options`: format,
    /// template, system prompt, masking), the first `maxSamples` of them when given.
    /// - Throws: `DataError` naming the file and line of a record that cannot be read or rendered;
    ///   `EvalError.noSamples` for files without conversations (plain text or pre-tokenized only).
    public static func load(paths: [String], options: DatasetOptions, tokenizer: PretrainedTokenizer,
                            maxSamples: Int? = nil) throws -> [EvalSample] {
        var loaded = try DatasetEncoder.load(paths: paths, options: options)
        if let maxSamples { loaded.conversations = Array(loaded.conversations.prefix(maxSamples)) }
        let chats = loaded.conversations.filter { !$0.isPlainText }
        guard !chats.isEmpty else { throw EvalError.noSamples(paths: paths) }
        let encoder = try DatasetEncoder(options: options, tokenizer: tokenizer)
        var issues: [DataIssue] = []
        return try chats.map { conversation in
            var messages = conversation.messages
            var reference: String? = nil
            if let last = messages.last, last.role == .assistant {
                reference = last.content
                messages.removeLast()
            }
            let prompt = messages.map { m in
                ChatMessage(role: m.role.rawValue, content: .string(m.content), reasoningContent: m.reasoning, toolCalls: m.toolCalls, extra: m.extra)
            }
            let encoded = try encoder.encode(conversation, issues: &issues)
            return EvalSample(source: conversation.source, prompt: prompt, reference: reference, encoded: encoded)
        }
    }
}

/// Errors of `tailor eval`'s library side: each names what is missing and which metric needs it.
public enum EvalError: Error, Equatable, CustomStringConvertible {
    /// The data files hold no conversations to evaluate.
    case noSamples(paths: [String])
    /// Records lack what a metric needs.
    case missingReference(metric: String, needs: String, records: [String])

    public var description: String {
        switch self {
        case let .noSamples(paths):
            return "\(paths.joined(separator: ", ")): no conversations to evaluate (plain-text and pre-tokenized records have no prompt and answer); give alpaca, sharegpt or messages records"
        case let .missingReference(metric, needs, records):
            let shown = records.prefix(3).joined(separator: ", ") + (records.count > 3 ? " and \(records.count - 3) more" : "")
            return "metric \(metric) needs \(needs); \(shown) \(records.count == 1 ? "has" : "have") none: add the answers, or leave \(metric) out of --metrics"
        }
    }
}
