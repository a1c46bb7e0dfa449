import Foundation
import TailorModels
import TailorTensor
import TailorTokenizers

/// Why a sequence stopped.
public enum FinishReason: Sendable, Equatable, CustomStringConvertible {
    /// It produced one of the eos ids (kept as its last token).
    case eos(Int32)
    /// Its text came to contain a stop string ending in its last token.
    case stopString(String)
    /// It reached max_new_tokens.
    case length

    /// OpenAI-style name: "stop" or "length".
    public var description: String {
        switch self {
        case .eos, .stopString: return "stop"
        case .length: return "length"
        }
    }
}

/// One finished sequence.
public struct GenerationResult: Sendable, Equatable {
    /// The new tokens, including a final eos id.
    public var tokens: [Int32]
    /// Their text (special tokens left out), when the generator has a tokenizer.
    public var text: String
    public var finishReason: FinishReason
    /// Prompt tokens actually used (after truncation).
    public var promptTokenCount: Int
}

/// Timings of one `generate` call.
public struct GenerationStats: Sendable, Equatable {
    /// Prompt tokens run in the prefill (all prompts together).
    public var prefillTokens = 0
    public var prefillSeconds = 0.0
    /// Tokens produced after the first one of each sequence (each needed one decode step).
    public var decodeTokens = 0
    public var decodeSeconds = 0.0
    public init() {}
    public var prefillTokensPerSecond: Double { prefillSeconds > 0 ? Double(prefillTokens) / prefillSeconds : 0 }
    public var decodeTokensPerSecond: Double { decodeSeconds > 0 ? Double(decodeTokens) / decodeSeconds : 0 }
}

/// What a generation reports as it goes (the CLI prints it; the server streams it).
public enum GenerationEvent: Sendable {
    /// A new token of sequence `sequence`, and the text it completes ("" while a multi-byte
    /// character is still incomplete).
    case token(sequence: Int, id: Int32, text: String)
    /// Sequence `sequence` has finished.
    case finished(sequence: Int, GenerationResult)
    /// Every sequence has finished; the call's timings.
    case done(GenerationStats)
}

/// Generates text from a model with a KV cache: one batched prefill of all prompts (each in its
/// own cache slot, no padding), then one token per active sequence per step, each sequence
/// stopping on its own (eos ids, stop strings, max_new_tokens).
///
/// A generator uses its model's adapters as they are set when `generate` runs; `adapters`
/// switches them between calls. Calls must not overlap (the model has one set of adapters).
public final class Generator: @unchecked Sendable {
    public let model: CausalLM
    /// Decodes text for stop strings and streaming; nil = ids only.
    public let tokenizer: Tokenizer?
    /// Named adapters to choose from per call; nil = the model as it is.
    public let adapters: AdapterLibrary?

    public init(model: CausalLM, tokenizer: Tokenizer? = nil, adapters: AdapterLibrary? = nil) {
        self.model = model
        self.tokenizer = tokenizer
        self.adapters = adapters
    }

    /// Generates a continuation of each prompt.
    ///
    /// - Parameters:
    ///   - prompts: token ids of each prompt (no padding).
    ///   - adapter: which adapter to use: `.current` leaves the model as it is, `.base` removes
    ///     adapters, `.named` activates a loaded one.
    ///   - onEvent: called on the calling thread for each token and each finished sequence.
    /// - Returns: one result per prompt, in order.
    /// - Throws: `InferenceError` for bad parameters, an empty prompt, a prompt too long for the
    ///   context, an unknown adapter; model errors wrapped in `.model`.
    public func generate(prompts: [[Int32]], parameters: GenerationParameters, adapter: AdapterSelection = .current,
                         onEvent: (GenerationEvent) -> Void = { _ in }) throws -> [GenerationResult] {
        try generate(prompts: prompts, parameters: parameters, adapter: adapter, isCancelled: { false }, onEvent: onEvent)
    }

    /// `generate`, checking `isCancelled` before each decode step (throws `CancellationError`).
    func generate(prompts: [[Int32]], parameters: GenerationParameters, adapter: AdapterSelection,
                  isCancelled: () -> Bool, onEvent: (GenerationEvent) -> Void) throws -> [GenerationResult] {
        try parameters.validate()
        try adapters?.select(adapter)
        if adapters == nil, case .named(let name) = adapter { throw InferenceError.unknownAdapter(name, loaded: []) }
        let config = model.config
        // Virtual tokens (prompt tuning) take the first positions of every sequence.
        let virtualCount = model.virtualTokens?.count ?? 0
        let limit = config.maxPositionEmbeddings - virtualCount
        var inputs: [[Int32]] = []
        for (index, prompt) in prompts.enumerated() {
            guard !prompt.isEmpty else { throw InferenceError.emptyPrompt(index: index) }
            // `prompt.count > limit - maxNewTokens`, not `prompt.count + maxNewTokens > limit`: a huge
            // --max-new-tokens (validate() keeps it positive) must not overflow the sum.
            if prompt.count > limit - parameters.maxNewTokens {
                let room = limit - parameters.maxNewTokens
                guard parameters.truncatePrompt, room > 0 else {
                    throw InferenceError.promptTooLong(index: index, tokens: prompt.count, maxNewTokens: parameters.maxNewTokens, limit: limit)
                }
                inputs.append(Array(prompt.suffix(room)))
            } else {
                inputs.append(prompt)
            }
        }
        guard !inputs.isEmpty else { return [] }
        var sequences = inputs.map { SequenceState(prompt: $0, tokenizer: tokenizer) }
        let capacity = virtualCount + (inputs.map(\.count).max() ?? 0) + parameters.maxNewTokens
        var stats = GenerationStats()
        var sampler = Sampler(seed: parameters.seed ?? UInt64(monotonicSeconds() * 1e9))  // allowed: monotonic time in ns is positive and below 2^64 for 584 years
        let eos = Set(parameters.eosTokenIds)
        let stops = StopStringMatcher(parameters.stopStrings)
        do {
            let cache = try KVCache(config: config, slots: inputs.count, capacity: capacity, backend: model.backend)
            // Prefill: every prompt in one pass, each in its own slot; logits of each last token.
            var ids: [Int32] = [], slots: [Int] = [], rows: [Int] = []
            for (slot, prompt) in inputs.enumerated() {
                ids += prompt
                slots += Array(repeating: slot, count: prompt.count)
                rows.append(ids.count - 1)
            }
            var start = monotonicSeconds()
            var logits = try model.decode(ids: ids, slots: slots, logitRows: rows, cache: cache)   // [B, V]
            var values = try model.backend.download(logits)
            stats.prefillTokens = ids.count
            stats.prefillSeconds = monotonicSeconds() - start
            var active = Array(inputs.indices)
            let vocab = config.vocabSize
            start = monotonicSeconds()
            while true {
                var stillActive: [Int] = []
                for (row, index) in active.enumerated() {
                    var scores = Array(values[(row * vocab)..<((row + 1) * vocab)])
                    var state = sequences[index]
                    if let bad = scores.first(where: { !$0.isFinite }) {
                        throw InferenceError.nonFiniteLogits(sequence: index, step: state.generated.count + 1, value: Double(bad))
                    }
                    LogitsProcessing.apply(&scores, history: state.history, generated: state.generated.count, parameters: parameters)
                    let token = Int32(sampler.choose(scores, sample: parameters.doSample))  // allowed: an index into a logits row of vocab_size entries; ids are Int32 through the model
                    let text = state.append(token)
                    onEvent(.token(sequence: index, id: token, text: text))
                    if eos.contains(token) {
                        state.finish(.eos(token))
                    } else if let stop = stops.match(state.text, newBytes: text.utf8.count) {
                        state.finish(.stopString(stop))
                    } else if state.generated.count >= parameters.maxNewTokens {
                        state.finish(.length)
                    }
                    sequences[index] = state
                    if let result = state.result {
                        onEvent(.finished(sequence: index, result))
                    } else {
                        stillActive.append(index)
                    }
                }
                active = stillActive
                guard !active.isEmpty else { break }
                if isCancelled() { throw CancellationError() }
                // One decode step: the newest token of every active sequence.
                logits = try model.decode(ids: active.map { sequences[$0].generated.last! }, slots: active,
                                          logitRows: Array(active.indices), cache: cache)   // [A, V]
                values = try model.backend.download(logits)
                stats.decodeTokens += active.count
            }
            stats.decodeSeconds = monotonicSeconds() - start
        } catch let error as ModelError {
            throw InferenceError.model(error, during: "generation")
        }
        onEvent(.done(stats))
        lastStats = stats
        return sequences.map { $0.result! }
    }

    /// Timings of the last completed `generate` call.
    public private(set) var lastStats = GenerationStats()

    /// Streams the generation of one prompt: `.token` events as they come, then `.finished` and
    /// `.done`. The work runs on a background thread; cancelling the consumer stops it after the
    /// current step.
    public func stream(prompt: [Int32], parameters: GenerationParameters,
                       adapter: AdapterSelection = .current) -> AsyncThrowingStream<GenerationEvent, Error> {
        AsyncThrowingStream { continuation in
            let cancelled = CancellationFlag()
            continuation.onTermination = { _ in cancelled.set() }
            let thread = Thread {
                do {
                    _ = try self.generate(prompts: [prompt], parameters: parameters, adapter: adapter,
                                      isCancelled: { cancelled.isSet }) { event in
                        if cancelled.isSet { return }
                        continuation.yield(event)
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
    }
}

/// Which adapter a generation uses.
public enum AdapterSelection: Sendable, Equatable {
    /// Leave the model's adapters as they are.
    case current
    /// No adapter: the base model.
    case base
    /// A loaded adapter by name.
    case named(String)
}

/// One sequence's progress.
struct SequenceState {
    let prompt: [Int32]
    var generated: [Int32] = []
    var decoder: StreamingDecoder?
    var text = ""
    var result: GenerationResult?

    init(prompt: [Int32], tokenizer: Tokenizer?) {
        self.prompt = prompt
        decoder = tokenizer?.streamingDecoder(skipSpecialTokens: true)
    }

    var history: [Int32] { prompt + generated }

    /// Adds a token; returns the text it completes.
    mutating func append(_ token: Int32) -> String {
        generated.append(token)
        let piece = decoder?.next(Int(token)) ?? ""  // allowed: an Int32 id widens
        text += piece
        return piece
    }

    mutating func finish(_ reason: FinishReason) {
        let rest = decoder?.finish() ?? ""
        text += rest
        result = GenerationResult(tokens: generated, text: text, finishReason: reason, promptTokenCount: prompt.count)
    }
}

/// Stop strings as transformers' StopStringCriteria: a match must overlap the newest token.
struct StopStringMatcher {
    let stops: [[UInt8]]
    let strings: [String]

    init(_ strings: [String]) {
        self.strings = strings
        stops = strings.map { Array($0.utf8) }
    }

    /// The first stop string found in `text` that ends within its last `newBytes` bytes or overlaps them.
    func match(_ text: String, newBytes: Int) -> String? {
        guard newBytes > 0, !stops.isEmpty else { return nil }
        let bytes = Array(text.utf8)
        for (stop, string) in zip(stops, strings) {
            let windowStart = max(0, bytes.count - newBytes - stop.count + 1)
            let window = bytes[windowStart...]
            guard window.count >= stop.count else { continue }
            var i = window.startIndex
            while i + stop.count <= bytes.count {
                if bytes[i..<(i + stop.count)].elementsEqual(stop) { return string }
                i += 1
            }
        }
        return nil
    }
}

/// A flag set from another thread.
final class CancellationFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}
