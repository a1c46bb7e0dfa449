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

/// KTO's unpaired example tokenized as TRL's KTOTrainer tokenizes it: the prompt's ids, the
/// completion's, and whether the completion is desirable.
public struct EncodedCompletion: Sendable, Hashable {
    public var prompt: [Int32]
    public var completion: [Int32]
    public var desirable: Bool
    public var source: SourceLocation

    public init(prompt: [Int32], completion: [Int32], desirable: Bool, source: SourceLocation) {
        self.prompt = prompt
        self.completion = completion
        self.desirable = desirable
        self.source = source
    }

    /// prompt + `completion` (this one's, or another's for KTO's KL estimate) with the prompt's labels -100.
    public func sample(_ completion: [Int32]? = nil) -> EncodedSample {
        let reply = completion ?? self.completion
        return EncodedSample(inputIds: prompt + reply,
                             labels: Array(repeating: EncodedSample.ignoreIndex, count: prompt.count) + reply, source: source)
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
        if parts.chosen == parts.rejected {
            issues.append(DataIssue(kind: .identicalReplies, source: conversation.source,
                                    message: "chosen and rejected are the same reply: the pair's loss has no gradient"))
        }
        let split = try splitReplies(conversation, prompt: parts.prompt, replies: [parts.chosen, parts.rejected], issues: &issues)
        return EncodedPair(prompt: split.prompt, chosen: split.replies[0], rejected: split.replies[1], source: conversation.source)
    }

    /// KTO's unpaired record (a prompt, one completion and its label), tokenized as TRL's KTOTrainer
    /// tokenizes conversational data: as `encodePreference` splits a pair, with one reply.
    public func encodeUnpaired(_ conversation: Conversation, issues: inout [DataIssue]) throws -> EncodedCompletion {
        guard let desirable = conversation.desirable, let parts = conversation.completionParts else {
            throw DataError.missingField(conversation.source, field: "label")
        }
        guard !parts.completion.isEmpty else { throw DataError.missingField(conversation.source, field: "completion") }
        let split = try splitReplies(conversation, prompt: parts.prompt, replies: [parts.completion], issues: &issues)
        return EncodedCompletion(prompt: split.prompt, completion: split.replies[0], desirable: desirable, source: conversation.source)
    }

    /// The prompt's ids and each reply's, as TRL splits them: the prompt rendered with the generation
    /// prompt, prompt + reply rendered whole, the replies after the prefix the prompt shares with
    /// all of them (a `.promptNotPrefix` issue when that is shorter than the prompt). With a
    /// LLaMA-Factory template: the prompt's slots, then each reply's.
    func splitReplies(_ conversation: Conversation, prompt: [Message], replies: [[Message]],
                      issues: inout [DataIssue]) throws -> (prompt: [Int32], replies: [[Int32]]) {
        func whole(_ reply: [Message]) -> Conversation {
            var one = conversation
            one.messages = prompt + reply
            one.rejected = nil
            one.promptCount = nil
            one.desirable = nil
            return one
        }
        if let llamaFactory, !conversation.raw {
            let split = try replies.map { try llamaFactorySplit(whole($0), template: llamaFactory) }
            let shared = split.map { Self.commonPrefix(split[0].prompt, $0.prompt) }.min() ?? 0
            return (Array(split[0].prompt[..<shared]), split.map { Array($0.prompt[shared...]) + $0.reply })
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
        let promptIds = try ids(prompt, generationPrompt: true)
        let full = try replies.map { try ids(prompt + $0, generationPrompt: false) }
        let shared = full.map { Self.commonPrefix(promptIds, $0) }.min() ?? promptIds.count
        if shared < promptIds.count {
            issues.append(DataIssue(kind: .promptNotPrefix, source: conversation.source,
                                    message: "the prompt's last \(promptIds.count - shared) of \(promptIds.count) tokens are not a prefix of prompt + reply"
                                        + " (the template renders the prompt alone differently, or tokens merge across the boundary):"
                                        + " the replies start where they differ, as TRL does, so the model trains on a context it will"
                                        + " not see at inference; end the prompt on a token boundary or fix the template"))
        }
        return (Array(promptIds[..<shared]), full.map { Array($0[shared...]) })
    }

    /// LLaMA-Factory's encoding of a prompt and its last reply: the slots of every turn before the
    /// reply, then the reply's, tokenized slot by slot.
    func llamaFactorySplit(_ conversation: Conversation, template: LlamaFactoryTemplate) throws -> (prompt: [Int32], reply: [Int32]) {
        let turns = try llamaFactoryPieces(conversation, template)
        guard let last = turns.last else { return ([], []) }
        let before = turns.dropLast().flatMap { $0.prompt + $0.reply } + last.prompt
        return (llamaFactoryIds(before, nil), llamaFactoryIds(last.reply, nil))
    }

    static func commonPrefix(_ a: [Int32], _ b: [Int32]) -> Int {
        var n = 0
        while n < a.count, n < b.count, a[n] == b[n] { n += 1 }
        return n
    }
}
