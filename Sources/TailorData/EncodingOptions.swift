import Foundation
import TailorTokenizers

/// How samples become token ids and labels. Names follow TRL's SFTConfig and LLaMA-Factory.
public struct EncodingOptions: Sendable {
    /// `max_length` / `max_seq_length` / `cutoff_len`: longer samples are truncated or dropped.
    public var maxLength: Int?
    /// What to do with a sample longer than `maxLength`.
    public var truncation: Truncation
    /// `train_on_inputs` / `train_on_prompt` (TRL `assistant_only_loss = false`): every token is labeled.
    public var trainOnInputs: Bool
    /// `mask_history`: only the last assistant turn is trained; earlier replies are context.
    public var maskHistory: Bool
    /// Plain-text and raw (column template) samples end with EOS, added when missing and labeled.
    public var addEOS: Bool
    /// How assistant spans are found in the rendered text.
    public var masking: Masking
    /// Extra chat-template variables (`enable_thinking`, `date_string`, ...).
    public var templateVariables: [String: ChatValue]
    /// The time `strftime_now` renders (fixed, so encodings are reproducible).
    public var now: Date

    public enum Truncation: String, Sendable, CaseIterable {
        /// Keep the first complete trained reply: cut the end, or, when that would cut into the
        /// first reply, drop the oldest prompt tokens (after BOS) instead.
        case keepResponse = "keep_response"
        /// Cut the end (`truncation_side = right`; TRL's `truncation_mode = keep_start`).
        case right
        /// Cut the start, keeping the last tokens (TRL's `truncation_mode = keep_end`).
        case left
        /// Drop the sample and report it.
        case drop
    }

    public enum Masking: String, Sendable, CaseIterable {
        /// `{% generation %}` blocks when the template has them, else prefix differences.
        case auto
        /// transformers' `return_assistant_tokens_mask`: the tokens overlapping each generation block.
        case generationBlocks = "generation"
        /// For each assistant turn i: from the end of `render(messages[..<i], add_generation_prompt: true)`
        /// to the end of `render(messages[...i])` with trailing whitespace dropped.
        case prefixDifference = "prefix"
    }

    public init(maxLength: Int? = nil, truncation: Truncation = .keepResponse, trainOnInputs: Bool = false,
                maskHistory: Bool = false, addEOS: Bool = true, masking: Masking = .auto,
                templateVariables: [String: ChatValue] = [:],
                now: Date = Date(timeIntervalSince1970: 1_721_995_200)) {
        self.maxLength = maxLength
        self.truncation = truncation
        self.trainOnInputs = trainOnInputs
        self.maskHistory = maskHistory
        self.addEOS = addEOS
        self.masking = masking
        self.templateVariables = templateVariables
        self.now = now
    }
}

/// One encoded sample: what the trainer consumes.
public struct EncodedSample: Sendable, Hashable {
    /// Token ids [T].
    public var inputIds: [Int32]
    /// Labels [T], unshifted as in transformers: -100 where not trained; the trainer shifts.
    public var labels: [Int32]
    public var source: SourceLocation
    /// Tokens removed by truncation (0 when the sample fit).
    public var truncatedTokens: Int

    public static let ignoreIndex: Int32 = -100

    public init(inputIds: [Int32], labels: [Int32], source: SourceLocation, truncatedTokens: Int = 0) {
        self.inputIds = inputIds
        self.labels = labels
        self.source = source
        self.truncatedTokens = truncatedTokens
    }

    public var count: Int { inputIds.count }
    /// Tokens with a label (not -100).
    public var trainedTokenCount: Int { labels.reduce(0) { $0 + ($1 == Self.ignoreIndex ? 0 : 1) } }
    public var isFullyMasked: Bool { !labels.contains { $0 != Self.ignoreIndex } }
    /// (ids, labels), the element `TailorModels.TokenBatch(sequences:)` takes.
    public var sequence: (ids: [Int32], labels: [Int32]) { (inputIds, labels) }
}

/// What `ConversationEncoder.encodeAll` produced.
public struct EncodeResult: Sendable {
    /// Encoded samples in input order (dropped and failed ones left out).
    public var samples: [EncodedSample]
    /// Truncations, drops, fully masked samples, missing EOS, template failures skipped.
    public var issues: [DataIssue]

    public init(samples: [EncodedSample] = [], issues: [DataIssue] = []) {
        self.samples = samples
        self.issues = issues
    }

    public var fullyMasked: [DataIssue] { issues.filter { $0.kind == .fullyMasked } }

    /// Throws `.allSamplesFullyMasked` when no sample has a trained token (training would learn nothing).
    public func checkTrainable() throws {
        guard !samples.isEmpty, samples.allSatisfy(\.isFullyMasked) else { return }
        throw DataError.allSamplesFullyMasked(count: samples.count, first: samples.first?.source)
    }
}
