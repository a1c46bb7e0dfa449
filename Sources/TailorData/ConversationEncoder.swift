import Foundation
import TailorTokenizers

/// Renders conversations with a chat template, tokenizes them, and labels what is trained.
///
/// Assistant-only masking follows transformers' `return_assistant_tokens_mask` (TRL's
/// `assistant_only_loss`): the whole rendered text is tokenized once (`add_special_tokens=False`),
/// and every token from the one holding a span's first character to the one holding its last is
/// labeled. Spans come from `{% generation %}` blocks, or, for templates without them, from prefix
/// renders (see `EncodingOptions.Masking.prefixDifference`). Because the template's end-of-turn /
/// EOS token sits inside the assistant turn, it is labeled, whatever the pad token is.
///
/// The encoder is immutable and `Sendable`; `encodeAll` uses every core.
public struct ConversationEncoder: Sendable {
    public let tokenizer: Tokenizer
    /// The chat template; nil for plain-text-only data.
    public let template: ChatTemplate?
    /// A LLaMA-Factory template, which replaces `template` for chat conversations when set.
    public let llamaFactory: LlamaFactoryTemplate?
    public let options: EncodingOptions
    public let bosToken: String?
    public let eosToken: String?
    /// The id appended to plain-text and raw samples.
    public let eosTokenId: Int32?
    let aligner: TokenAligner
    let rawTemplate: ChatTemplate
    /// Ids the tokenizer's post-processor puts before text (BOS), used for plain text and raw samples.
    let specialPrefix: [Int32]

    /// - Parameters:
    ///   - template: the chat template; `nil` uses none (plain text and raw column samples only).
    ///   - bosToken / eosToken: the strings templates see as `bos_token` / `eos_token`.
    ///   - llamaFactory: a LLaMA-Factory template, used instead of `template` for chat conversations.
    public init(tokenizer: Tokenizer, template: ChatTemplate?, llamaFactory: LlamaFactoryTemplate? = nil,
                bosToken: String? = nil, eosToken: String? = nil, options: EncodingOptions = EncodingOptions()) throws {
        self.tokenizer = tokenizer
        self.template = template
        self.llamaFactory = llamaFactory
        self.options = options
        self.bosToken = bosToken
        self.eosToken = eosToken
        self.eosTokenId = eosToken.flatMap { tokenizer.tokenToId($0) }.map(Int32.init)  // allowed: token ids from the tokenizer, 0...Int32.max (checked on reading), convert both ways
        self.aligner = TokenAligner(tokenizer: tokenizer)
        self.rawTemplate = try ChatTemplate(source: Self.rawTemplateSource, name: "raw")
        let with = tokenizer.encodeInt32("a", addSpecialTokens: true)
        let without = tokenizer.encodeInt32("a", addSpecialTokens: false)
        if let at = with.firstIndex(of: without.first ?? -1), with.count >= without.count {
            specialPrefix = Array(with[..<at])
        } else {
            specialPrefix = []
        }
        if let max = options.maxLength, max < 2 {
            throw DataError.invalidOption(name: "max_length", reason: "\(max) is too small; use at least 2 tokens")
        }
    }

    /// An encoder for a model folder's tokenizer, with its chat template (or `template` when given,
    /// e.g. a built-in for a base model).
    public init(pretrained: PretrainedTokenizer, template: ChatTemplate? = nil, llamaFactory: LlamaFactoryTemplate? = nil,
                options: EncodingOptions = EncodingOptions()) throws {
        let chosen = try template ?? (llamaFactory == nil ? pretrained.parsedChatTemplate() : nil)
        try self.init(tokenizer: pretrained.tokenizer, template: chosen, llamaFactory: llamaFactory,
                      bosToken: pretrained.bosToken, eosToken: pretrained.eosToken, options: options)
    }

    /// Raw rendering for column templates: contents end to end, assistant text plus EOS trained.
    static let rawTemplateSource =
        "{% for m in messages %}{% if m['role'] == 'assistant' %}{% generation %}{{ m['content'] }}"
        + "{% if add_eos and loop.last %}{{ eos_token }}{% endif %}{% endgeneration %}"
        + "{% else %}{{ m['content'] }}{% endif %}{% endfor %}"

    // MARK: Rendering

    /// The rendered text and the UTF-8 byte spans to train, one per trained assistant turn.
    public struct Rendered: Sendable {
        public var text: String
        public var spans: [Range<Int>]
    }

    func variables() -> [String: ChatValue] {
        var v = options.templateVariables
        if let bosToken { v["bos_token"] = v["bos_token"] ?? .string(bosToken) }
        if let eosToken { v["eos_token"] = v["eos_token"] ?? .string(eosToken) }
        return v
    }

    /// Renders a chat conversation and finds the spans to train.
    public func render(_ conversation: Conversation) throws -> Rendered {
        if let llamaFactory, !conversation.raw { return try renderLlamaFactory(conversation, llamaFactory) }
        let messages = conversation.messages
        let values = messages.map(\.chatValue)
        var vars = variables()
        let tmpl: ChatTemplate
        if conversation.raw {
            tmpl = rawTemplate
            vars["add_eos"] = .bool(options.addEOS)
            vars["eos_token"] = vars["eos_token"] ?? .string("")
        } else {
            guard let template else {
                throw DataError.template(conversation.source, message: "no chat template: pass --template (e.g. chatml, llama3, qwen) or use a model with one")
            }
            tmpl = template
        }
        func renderPrefix(_ n: Int, _ agp: Bool) throws -> RenderedChat {
            try tmpl.render(messages: Array(values[..<n]), addGenerationPrompt: agp, tools: conversation.tools,
                            extra: vars, now: options.now)
        }
        let full: RenderedChat
        do { full = try renderPrefix(values.count, false) } catch let e as TemplateError {
            throw DataError.template(conversation.source, message: e.description)
        }
        let text = full.text
        let assistantTurns = messages.indices.filter { messages[$0].role == .assistant }
        let useBlocks: Bool
        switch options.masking {
        case .auto: useBlocks = tmpl.hasGenerationBlocks
        case .generationBlocks: useBlocks = true
        case .prefixDifference: useBlocks = false
        }

        // Where each assistant turn's text starts, from prefix renders (lazily, only when needed).
        let utf8 = Array(text.utf8)
        func isPrefix(_ s: String) -> Int? {
            let p = Array(s.utf8)
            return p.count <= utf8.count && utf8[..<p.count].elementsEqual(p) ? p.count : nil
        }

        var turnSpans: [(turn: Int, span: Range<Int>)] = []
        do {
            if useBlocks {
                let ranges = full.generationUTF8Ranges
                if ranges.count == assistantTurns.count {
                    turnSpans = zip(assistantTurns, ranges).map { ($0, $1) }
                } else {
                    // Several blocks per turn (reasoning + answer), or blocks the turns don't match:
                    // give each block to the last assistant turn whose prefix render precedes it.
                    var starts: [(Int, Int)] = []
                    for t in assistantTurns {
                        if let s = isPrefix(try renderPrefix(t, true).text) { starts.append((t, s)) }
                    }
                    for r in ranges {
                        let owner = starts.last { $0.1 <= r.lowerBound }?.0 ?? assistantTurns.last ?? -1
                        turnSpans.append((owner, r))
                    }
                }
            } else {
                var searchFrom = 0
                for t in assistantTurns {
                    let prompt = try renderPrefix(t, true).text
                    let through = try renderPrefix(t + 1, false).text
                    var start = isPrefix(prompt)
                    var end = isPrefix(through).map { e -> Int in
                        var e = e
                        while e > 0, [0x20, 0x0A, 0x0D, 0x09].contains(utf8[e - 1]) { e -= 1 }
                        return e
                    }
                    if start == nil || end == nil || end! <= start! {
                        // The template rewrites earlier turns (e.g. drops old reasoning): fall back
                        // to finding the reply's text after the previous span.
                        let needle = Array(messages[t].content.utf8)
                        if let hit = Self.find(needle, in: utf8, from: searchFrom), !needle.isEmpty {
                            start = hit
                            end = hit + needle.count
                        } else {
                            continue
                        }
                    }
                    turnSpans.append((t, start!..<end!))
                    searchFrom = end!
                }
            }
        } catch let e as TemplateError {
            throw DataError.template(conversation.source, message: e.description)
        }

        // Which turns are trained.
        let lastAssistant = assistantTurns.last
        let spans = turnSpans.filter { trains(message: $0.turn, of: conversation, isLastReply: $0.turn == lastAssistant) }
            .map(\.span).filter { !$0.isEmpty }
        return Rendered(text: text, spans: spans)
    }

    /// Whether the assistant message at `index` is trained: its own `train` flag, else every
    /// reply (with `mask_history`, the last only).
    func trains(message index: Int, of conversation: Conversation, isLastReply: Bool) -> Bool {
        if conversation.messages.indices.contains(index), let flag = conversation.messages[index].train { return flag }
        return !options.maskHistory || isLastReply
    }

    static func find(_ needle: [UInt8], in hay: [UInt8], from: Int) -> Int? {
        guard !needle.isEmpty, hay.count >= needle.count, from <= hay.count - needle.count else { return nil }
        var i = from
        while i <= hay.count - needle.count {
            if hay[i] == needle[0], hay[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }

    // MARK: Encoding

    /// Encodes one sample (before truncation): ids and labels.
    public func encodeFull(_ conversation: Conversation) throws -> EncodedSample {
        try encodeFull(conversation, workspace: nil)
    }

    func tokenize(_ text: String, _ workspace: TokenizerWorkspace?) -> [Int32] {
        if let workspace { return tokenizer.encodeInt32(text, addSpecialTokens: false, workspace: workspace) }
        return tokenizer.encodeInt32(text, addSpecialTokens: false)
    }

    func encodeFull(_ conversation: Conversation, workspace: TokenizerWorkspace?) throws -> EncodedSample {
        if let text = conversation.text {
            var ids = specialPrefix + tokenize(text, workspace)
            if options.addEOS, let eos = eosTokenId, ids.last != eos { ids.append(eos) }
            return EncodedSample(inputIds: ids, labels: ids, source: conversation.source)
        }
        if let llamaFactory, !conversation.raw {
            return try encodeLlamaFactory(conversation, llamaFactory, workspace: workspace)
        }
        let rendered = try render(conversation)
        let bytes = Array(rendered.text.utf8)
        var ids = tokenize(rendered.text, workspace)
        var labels = [Int32](repeating: EncodedSample.ignoreIndex, count: ids.count)
        if options.trainOnInputs {
            labels = ids
        } else if !rendered.spans.isEmpty {
            if let starts = aligner.offsets(of: ids, in: bytes) {
                for span in rendered.spans {
                    guard let first = TokenAligner.token(containing: span.lowerBound, starts: starts) else { continue }
                    let last = TokenAligner.token(containing: span.upperBound - 1, starts: starts) ?? (ids.count - 1)
                    for t in first...max(first, last) { labels[t] = ids[t] }
                }
            } else {
                // The tokenizer's normalizer changed the text, so offsets are unknown: encode the
                // pieces between span edges separately (exact at the edges, may differ inside).
                (ids, labels) = encodePieces(bytes, spans: rendered.spans)
            }
        }
        if conversation.raw && !specialPrefix.isEmpty {
            ids = specialPrefix + ids
            labels = Array(repeating: EncodedSample.ignoreIndex, count: specialPrefix.count) + labels
        }
        return EncodedSample(inputIds: ids, labels: labels, source: conversation.source)
    }

    func encodePieces(_ bytes: [UInt8], spans: [Range<Int>]) -> ([Int32], [Int32]) {
        var ids: [Int32] = [], labels: [Int32] = []
        var p = 0
        for span in spans.sorted(by: { $0.lowerBound < $1.lowerBound }) where span.lowerBound >= p {
            let before = tokenizer.encodeInt32(String(decoding: bytes[p..<span.lowerBound], as: UTF8.self), addSpecialTokens: false)
            ids += before
            labels += Array(repeating: EncodedSample.ignoreIndex, count: before.count)
            let inside = tokenizer.encodeInt32(String(decoding: bytes[span], as: UTF8.self), addSpecialTokens: false)
            ids += inside
            labels += inside
            p = span.upperBound
        }
        let rest = tokenizer.encodeInt32(String(decoding: bytes[p...], as: UTF8.self), addSpecialTokens: false)
        ids += rest
        labels += Array(repeating: EncodedSample.ignoreIndex, count: rest.count)
        return (ids, labels)
    }

    /// Encodes one sample and applies `maxLength`. Returns nil when the sample is dropped; what
    /// was cut or dropped is appended to `issues`.
    public func encode(_ conversation: Conversation, issues: inout [DataIssue]) throws -> EncodedSample? {
        try encode(conversation, issues: &issues, workspace: nil)
    }

    func encode(_ conversation: Conversation, issues: inout [DataIssue], workspace: TokenizerWorkspace?) throws -> EncodedSample? {
        var sample = try encodeFull(conversation, workspace: workspace)
        if let max = options.maxLength, sample.count > max {
            let original = sample.count
            switch options.truncation {
            case .drop:
                issues.append(DataIssue(kind: .dropped, source: sample.source, message: "\(original) tokens > max_length \(max)"))
                return nil
            case .right:
                sample = Self.cutEnd(sample, to: max, issues: &issues)
            case .left:
                issues.append(DataIssue(kind: .truncated, source: sample.source, message: "cut \(original - max) tokens from the start (\(original) > max_length \(max))"))
                sample.inputIds = Array(sample.inputIds.suffix(max))
                sample.labels = Array(sample.labels.suffix(max))
            case .keepResponse:
                let (cut, note) = keepResponse(sample, max: max)
                sample = cut
                issues.append(DataIssue(kind: .truncated, source: sample.source, message: "\(note) (\(original) > max_length \(max))"))
            }
            sample.truncatedTokens = original - sample.count
        }
        if sample.isFullyMasked {
            issues.append(Self.fullyMaskedIssue(sample))
        } else if !options.trainOnInputs, conversation.text == nil {
            // Each trained run should end with a stop token, or the model never learns to stop.
            for run in Self.labeledRuns(sample.labels) {
                let lastId = Int(sample.inputIds[run.upperBound - 1])  // allowed: token ids from the tokenizer, 0...Int32.max (checked on reading), convert both ways
                if !tokenizer.isSpecial(lastId), lastId != eosTokenId.map(Int.init) {  // allowed: token ids from the tokenizer, 0...Int32.max (checked on reading), convert both ways
                    issues.append(DataIssue(kind: .noStopToken, source: sample.source,
                        message: "a trained reply ends with '\(tokenizer.idToToken(lastId) ?? "?")', not an end-of-turn token: the model will not learn to stop"))
                    break
                }
            }
        }
        return sample
    }

    /// `s` cut to `max` tokens from the end, with the `.truncated` issue that says so.
    static func cutEnd(_ s: EncodedSample, to max: Int, issues: inout [DataIssue]) -> EncodedSample {
        issues.append(DataIssue(kind: .truncated, source: s.source, message: "cut \(s.count - max) tokens from the end (\(s.count) > max_length \(max))"))
        return cutEnd(s, to: max)
    }

    /// The issue of a sample that trains no token.
    static func fullyMaskedIssue(_ s: EncodedSample) -> DataIssue {
        DataIssue(kind: .fullyMasked, source: s.source, message: "no token is trained; the sample only adds compute")
    }

    static func cutEnd(_ s: EncodedSample, to max: Int) -> EncodedSample {
        var s = s
        s.inputIds = Array(s.inputIds[..<max])
        s.labels = Array(s.labels[..<max])
        return s
    }

    /// Contiguous runs of labeled tokens.
    static func labeledRuns(_ labels: [Int32]) -> [Range<Int>] {
        var runs: [Range<Int>] = []
        var start: Int? = nil
        for (i, l) in labels.enumerated() {
            if l != EncodedSample.ignoreIndex { if start == nil { start = i } }
            else if let s = start { runs.append(s..<i); start = nil }
        }
        if let s = start { runs.append(s..<labels.count) }
        return runs
    }

    func keepResponse(_ s: EncodedSample, max: Int) -> (EncodedSample, String) {
        let runs = Self.labeledRuns(s.labels)
        guard let first = runs.first else { return (Self.cutEnd(s, to: max), "cut \(s.count - max) tokens from the end (nothing trained)") }
        if first.upperBound <= max {
            return (Self.cutEnd(s, to: max), "cut \(s.count - max) tokens from the end; the first reply is whole")
        }
        let keepHead = (s.inputIds.first.map { Int($0) } == tokenizer.tokenToId(bosToken ?? "\u{0}")) ? 1 : 0  // allowed: token ids from the tokenizer, 0...Int32.max (checked on reading), convert both ways
        let room = max - keepHead
        if first.count <= room {
            // Drop the oldest prompt tokens so the prompt's end and the whole first reply fit.
            let from = first.upperBound - room
            var out = s
            out.inputIds = Array(s.inputIds[..<keepHead]) + Array(s.inputIds[from..<first.upperBound])
            out.labels = Array(s.labels[..<keepHead]) + Array(s.labels[from..<first.upperBound])
            return (out, "cut \(from - keepHead) prompt tokens from the start and \(s.count - first.upperBound) from the end to keep the first reply whole")
        }
        return (Self.cutEnd(s, to: max), "the first reply alone is longer than max_length: cut \(s.count - max) tokens from the end (its EOS is lost)")
    }

    /// Encodes many samples on every core, in order. A sample the template cannot render is
    /// thrown (the first by input order), or, with `skipInvalid`, reported and left out.
    public func encodeAll(_ conversations: [Conversation], skipInvalid: Bool = false) throws -> EncodeResult {
        let n = conversations.count
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, n))
        let chunk = 64
        let slots = Slots<(EncodedSample?, [DataIssue], DataError?)>(count: n)
        let next = Counter()
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            let workspace = TokenizerWorkspace()
            while true {
                let start = next.add(chunk)
                if start >= n { break }
                for i in start..<min(n, start + chunk) {
                    var issues: [DataIssue] = []
                    do {
                        let s = try encode(conversations[i], issues: &issues, workspace: workspace)
                        slots.set(i, (s, issues, nil))
                    } catch let e as DataError {
                        slots.set(i, (nil, issues, e))
                    } catch {
                        slots.set(i, (nil, issues, .template(conversations[i].source, message: "\(error)")))
                    }
                }
            }
        }
        var result = EncodeResult(samples: [], issues: [])
        result.samples.reserveCapacity(n)
        for i in 0..<n {
            guard let (sample, issues, error) = slots.get(i) else { continue }
            if let error {
                if !skipInvalid { throw error }
                result.issues.append(DataIssue(kind: .skippedInvalid, source: conversations[i].source, message: error.description))
            }
            if let sample { result.samples.append(sample) }
            result.issues += issues
        }
        return result
    }
}

/// Write-once result slots filled from several threads, each index by one thread.
final class Slots<T>: @unchecked Sendable {
    private var storage: [T?]
    init(count: Int) { storage = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ value: T) { storage.withUnsafeMutableBufferPointer { $0[i] = value } }
    func get(_ i: Int) -> T? { storage[i] }
}

/// An atomic-enough work counter (a lock; contention is one add per chunk).
final class Counter: @unchecked Sendable {
    private var value = 0
    private let lock = NSLock()
    func add(_ n: Int) -> Int {
        lock.lock(); defer { lock.unlock() }
        let v = value
        value += n
        return v
    }
}
