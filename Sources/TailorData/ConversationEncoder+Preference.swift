import TailorTokenizers

/// A preference pair tokenized as TRL's DPOTrainer tokenizes it: the prompt's ids, then each
/// reply's. The trained sequences are prompt + chosen and prompt + rejected, with labels on the
/// reply tokens only (TRL's `completion_mask`).
public struct EncodedPair: Sendable, Hashable {
    public var prompt: [Int32]
    public var chosen: [Int32]
    public var rejected: [Int32]
    public var source: SourceLocation

    public init(prompt: [Int32], chosen: [Int32], rejected: [Int32], source: SourceLocation) {
        self.prompt = prompt
        self.chosen = chosen
        self.rejected = rejected
        self.source = source
    }

    /// prompt + chosen with the prompt's labels -100.
    public var chosenSample: EncodedSample { sample(chosen) }
    /// prompt + rejected with the prompt's labels -100.
    public var rejectedSample: EncodedSample { sample(rejected) }

    func sample(_ reply: [Int32]) -> EncodedSample {
        EncodedSample(inputIds: prompt + reply,
                      labels: Array(repeating: EncodedSample.ignoreIndex, count: prompt.count) + reply, source: source)
    }

    /// The pair fitted to `maxLength` tokens per sequence, as TRL's collator truncates each of
    /// prompt + chosen and prompt + rejected (`truncation_mode`), or nil when it is dropped; what
    /// was cut or dropped goes to `issues`.
    /// - `.right` (TRL's keep_start, its default): the end of each sequence goes; a pair whose
    ///   prompt alone fills `maxLength` is dropped, as TRL drops it (no reply token would be left).
    /// - `.left` (keep_end): the start of each sequence goes (the prompt's first tokens first).
    /// - `.keepResponse`: the prompt's oldest tokens go so that the longer reply fits whole; a
    ///   reply longer than `maxLength − 1` keeps one prompt token and loses its end.
    /// - `.drop`: a pair with a sequence over `maxLength` is dropped.
    public func fitted(maxLength: Int?, truncation: EncodingOptions.Truncation, issues: inout [DataIssue]) -> EncodedPair? {
        guard let max = maxLength else { return self }
        let longest = prompt.count + Swift.max(chosen.count, rejected.count)
        guard longest > max else { return self }
        var pair = self
        switch truncation {
        case .drop:
            issues.append(DataIssue(kind: .dropped, source: source, message: "\(longest) tokens > max_length \(max)"))
            return nil
        case .right:
            guard prompt.count < max else {
                issues.append(DataIssue(kind: .dropped, source: source,
                                        message: "its prompt alone has \(prompt.count) tokens, max_length \(max): no reply token would be trained"))
                return nil
            }
            pair.chosen = Array(chosen.prefix(max - prompt.count))
            pair.rejected = Array(rejected.prefix(max - prompt.count))
            issues.append(DataIssue(kind: .truncated, source: source, message: "cut the replies' ends to fit max_length \(max) (\(longest) tokens)"))
        case .left:
            // Each sequence keeps its last `max` tokens; the replies stay aligned on one prompt.
            let keepPrompt = Swift.max(0, max - Swift.max(chosen.count, rejected.count))
            pair.prompt = Array(prompt.suffix(keepPrompt))
            pair.chosen = Array(chosen.suffix(max - pair.prompt.count))
            pair.rejected = Array(rejected.suffix(max - pair.prompt.count))
            issues.append(DataIssue(kind: .truncated, source: source, message: "cut the start to fit max_length \(max) (\(longest) tokens)"))
        case .keepResponse:
            let reply = Swift.max(chosen.count, rejected.count)
            let keepPrompt = Swift.max(1, max - reply)
            pair.prompt = Array(prompt.suffix(Swift.min(prompt.count, keepPrompt)))
            pair.chosen = Array(chosen.prefix(max - pair.prompt.count))
            pair.rejected = Array(rejected.prefix(max - pair.prompt.count))
            issues.append(DataIssue(kind: .truncated, source: source,
                                    message: "cut the prompt's oldest tokens to fit max_length \(max) (\(longest) tokens)"))
        }
        return pair
    }
}

extension ConversationEncoder {
    /// A preference record's pair, as TRL's DPOTrainer (the TRL of scripts/reference/requirements.txt)
    /// tokenizes conversational data: the prompt rendered with `add_generation_prompt`, prompt +
    /// chosen and prompt + rejected rendered whole, each tokenized without special tokens; the
    /// replies are what follows the longest prefix the prompt's ids share with both. When that prefix
    /// is shorter than the prompt's ids (the template renders the prompt alone differently, or
    /// tokens merge across the boundary) the tail of the prompt is left out, as TRL leaves it out,
    /// and a `.promptNotPrefix` issue says so. With a LLaMA-Factory template the pair is encoded as
    /// LLaMA-Factory's pairwise stage does: the prompt's slots, then each reply's.
    /// Not truncated: see `EncodedPair.fitted`.
    public func encodePreference(_ conversation: Conversation, issues: inout [DataIssue]) throws -> EncodedPair {
        guard let parts = conversation.preferenceParts else {
            throw DataError.missingField(conversation.source, field: "rejected")
        }
        guard !parts.chosen.isEmpty else { throw DataError.missingField(conversation.source, field: "chosen") }
        guard !parts.rejected.isEmpty else { throw DataError.missingField(conversation.source, field: "rejected") }
        var chosen = conversation, rejected = conversation
        chosen.rejected = nil
        chosen.promptCount = nil
        rejected.rejected = nil
        rejected.promptCount = nil
        rejected.messages = parts.prompt + parts.rejected
        if parts.chosen == parts.rejected {
            issues.append(DataIssue(kind: .identicalReplies, source: conversation.source,
                                    message: "chosen and rejected are the same reply: the pair's loss has no gradient"))
        }
        if let llamaFactory, !conversation.raw {
            return try llamaFactoryPair(chosen, rejected, template: llamaFactory)
        }
        guard let template else {
            throw DataError.template(conversation.source, message: "no chat template: pass --template (e.g. chatml, llama3, qwen) or use a model with one")
        }
        let vars = variables()
        func ids(_ messages: [Message], generationPrompt: Bool) throws -> [Int32] {
            do {
                let text = try template.render(messages: messages.map(\.chatValue), addGenerationPrompt: generationPrompt,
                                               tools: conversation.tools, extra: vars, now: options.now).text
                return tokenizer.encodeInt32(text, addSpecialTokens: false)
            } catch let e as TemplateError {
                throw DataError.template(conversation.source, message: e.description)
            }
        }
        let prompt = try ids(parts.prompt, generationPrompt: true)
        let withChosen = try ids(chosen.messages, generationPrompt: false)
        let withRejected = try ids(rejected.messages, generationPrompt: false)
        let shared = Swift.min(Self.commonPrefix(prompt, withChosen), Self.commonPrefix(prompt, withRejected))
        if shared < prompt.count {
            issues.append(DataIssue(kind: .promptNotPrefix, source: conversation.source,
                                    message: "the prompt's last \(prompt.count - shared) of \(prompt.count) tokens are not a prefix of prompt + reply"
                                        + " (the template renders the prompt alone differently, or tokens merge across the boundary):"
                                        + " the replies start where they differ, as TRL does, so the model trains on a context it will"
                                        + " not see at inference; end the prompt on a token boundary or fix the template"))
        }
        return EncodedPair(prompt: Array(prompt[..<shared]), chosen: Array(withChosen[shared...]),
                           rejected: Array(withRejected[shared...]), source: conversation.source)
    }

    /// LLaMA-Factory's pairwise encoding: the prompt's slots (every turn before the reply), then each
    /// reply's slots, tokenized slot by slot.
    func llamaFactoryPair(_ chosen: Conversation, _ rejected: Conversation, template: LlamaFactoryTemplate) throws -> EncodedPair {
        func split(_ conversation: Conversation) throws -> (prompt: [Int32], reply: [Int32]) {
            let turns = try llamaFactoryPieces(conversation, template)
            guard let last = turns.last else { return ([], []) }
            let before = turns.dropLast().flatMap { $0.prompt + $0.reply } + last.prompt
            return (llamaFactoryIds(before, nil), llamaFactoryIds(last.reply, nil))
        }
        let c = try split(chosen), r = try split(rejected)
        let shared = Swift.min(c.prompt.count, Self.commonPrefix(c.prompt, r.prompt))
        return EncodedPair(prompt: Array(c.prompt[..<shared]), chosen: Array(c.prompt[shared...]) + c.reply,
                           rejected: Array(r.prompt[shared...]) + r.reply, source: chosen.source)
    }

    static func commonPrefix(_ a: [Int32], _ b: [Int32]) -> Int {
        var n = 0
        while n < a.count, n < b.count, a[n] == b[n] { n += 1 }
        return n
    }
}
