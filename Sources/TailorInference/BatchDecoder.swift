import Foundation
import TailorAdapters
import TailorModels
import TailorTensor
import TailorTokenizers

/// One request of a `BatchDecoder`: a prompt, how to generate, and its own adapter.
public struct BatchRequest: Sendable {
    /// Token ids of the prompt (no padding).
    public var prompt: [Int32]
    public var parameters: GenerationParameters
    /// The loaded adapter this request runs with; nil = the base model.
    public var adapter: String?
    /// OpenAI's presence_penalty: subtracted once from the logit of every token already generated. 0 = off.
    public var presencePenalty: Double = 0
    /// OpenAI's frequency_penalty: subtracted from a token's logit once per time it was generated. 0 = off.
    public var frequencyPenalty: Double = 0
    /// Log-probabilities to report per new token: nil = none, k = the chosen token's and the k most likely.
    public var topLogprobs: Int?

    public init(prompt: [Int32], parameters: GenerationParameters, adapter: String? = nil) {
        self.prompt = prompt
        self.parameters = parameters
        self.adapter = adapter
    }
}

/// The log-probability of a chosen token and of the most likely tokens at its step, from the
/// model's raw logits (before penalties, temperature and filters, as vLLM reports them).
public struct TokenLogprobs: Sendable, Equatable {
    public var id: Int32
    public var logprob: Float
    /// The most likely tokens, most likely first.
    public var top: [(id: Int32, logprob: Float)]

    public static func == (a: TokenLogprobs, b: TokenLogprobs) -> Bool {
        a.id == b.id && a.logprob == b.logprob && a.top.map(\.id) == b.top.map(\.id) && a.top.map(\.logprob) == b.top.map(\.logprob)
    }
}

/// What a `BatchDecoder` reports.
public enum BatchEvent: Sendable {
    /// A new token of request `request`, the text it completes ("" inside a multi-byte character)
    /// and, when asked for, its log-probabilities.
    case token(request: Int, id: Int32, text: String, logprobs: TokenLogprobs?)
    /// Request `request` has finished; its slot is free.
    case finished(request: Int, GenerationResult)
    /// Request `request` failed (its logits became NaN or infinite); its slot is free.
    case failed(request: Int, InferenceError)
}

/// Continuous batching: requests join and leave a running batch between decode steps, each in
/// its own slot of one KV cache and each with its own parameters, sampler and adapter.
///
/// `admit` gives a request a free slot; `step` runs one forward over the newest token of every
/// decoding request and the next chunks of the prompts being prefilled (chunked prefill, as vLLM
/// schedules it: decode rows first, then prompt tokens up to `maxStepTokens` in all), with a
/// different LoRA adapter per run of rows (`LoRAAdapterSet.withRowAdapters`); a prompt whose last
/// chunk ran gets its first token in that step. `add` admits and prefills one request at once and
/// picks its first token; `remove` drops a request at once. The model and its adapters are used
/// by one caller at a time (not thread-safe).
///
/// Rows are grouped by adapter in each step, so each product sees another row count from step to
/// step. On a backend with batch-invariant products (`CPUBackend.batchInvariant`: bf16 products on
/// AVX512-BF16, what `tailor serve` asks for) a request's logits are bit for bit the ones it gets
/// alone; elsewhere they can differ in last bits, and greedy answers can part where a request's top
/// two logits nearly tie.
public final class BatchDecoder: @unchecked Sendable {
    public let model: CausalLM
    public let tokenizer: Tokenizer?
    public let adapters: AdapterLibrary?
    /// Positions per slot: the longest prompt plus new tokens a request may have.
    public let capacity: Int
    let cache: KVCache

    struct Active {
        let id: Int
        let slot: Int
        let request: BatchRequest
        var state: SequenceState
        var sampler: Sampler
        let eos: Set<Int32>
        let stops: StopStringMatcher
        var counts: [Int32: Int] = [:]
        /// Prompt tokens whose keys and values are in the cache: below the prompt's length while it is prefilled.
        var prefilled: Int
        var isPrefilling: Bool { prefilled < request.prompt.count }
    }

    var active: [Active] = []
    private var free: [Int]
    /// Reuse of a repeated prefix's keys and values (vLLM's prefix caching, kept per slot): a finished request's
    /// slot keeps its cache, and a request whose prompt starts with the same tokens under the same adapter takes
    /// that slot and prefills only the rest. Off: every prompt is prefilled whole.
    public var prefixCaching = true
    /// What each free slot's cache still holds: the adapter it ran with and the tokens whose keys and values it has.
    private var held: [Int: (adapter: String?, tokens: [Int32])] = [:]
    /// Prompt tokens asked for, and those whose keys and values came from a slot's earlier request.
    public private(set) var promptTokens = 0
    public private(set) var reusedPromptTokens = 0
    /// Logits of each active request's next token, by request id (set by `add` and `step`).
    private var pending: [Int: [Float]] = [:]
    /// Most tokens one `step` sends through the model (vLLM's `max_num_batched_tokens`): every decoding
    /// request's token, then chunks of the prompts being prefilled, oldest first, in what is left (at
    /// least one token, so a prompt always moves on). Bigger steps use the products better; smaller
    /// ones keep a long prompt from stalling the other rows' next tokens.
    public var maxStepTokens = 256

    /// A decoder with `slots` rows of `capacity` positions each.
    /// - Throws: `ModelError.badBatch` for zero slots or capacity.
    public init(model: CausalLM, tokenizer: Tokenizer?, adapters: AdapterLibrary?, slots: Int, capacity: Int) throws {
        self.model = model
        self.tokenizer = tokenizer
        self.adapters = adapters
        self.capacity = capacity
        cache = try KVCache(config: model.config, slots: slots, capacity: capacity, backend: model.backend)
        free = Array((0..<slots).reversed())
    }

    public var slotCount: Int { cache.slotCount }
    public var freeSlots: Int { free.count }
    public var activeCount: Int { active.count }
    public var activeIds: [Int] { active.map(\.id) }

    /// Checks a request before it is queued: parameters, prompt length against `capacity`, adapter.
    /// - Throws: `InferenceError` naming what is wrong.
    public func check(_ request: BatchRequest) throws {
        try request.parameters.validate()
        guard !request.prompt.isEmpty else { throw InferenceError.emptyPrompt(index: 0) }
        if request.prompt.count > capacity - request.parameters.maxNewTokens {
            throw InferenceError.promptTooLong(index: 0, tokens: request.prompt.count, maxNewTokens: request.parameters.maxNewTokens,
                                               limit: capacity)
        }
        if let name = request.adapter {
            guard let adapters, adapters.adapters(named: name) != nil else {
                throw InferenceError.unknownAdapter(name, loaded: adapters?.names ?? [])
            }
        }
        if let k = request.topLogprobs, k < 0 || k > model.config.vocabSize {
            throw InferenceError.badParameter(name: "top_logprobs", value: "\(k)", problem: "must be from 0 to the vocabulary size \(model.config.vocabSize)")
        }
    }

    /// Gives `request` a free slot under `id` (and the keys and values of a prefix it shares with that slot's
    /// earlier request); the next `step`s prefill its prompt and choose its first token.
    /// - Throws: `InferenceError` for a request `check` rejects or no free slot.
    public func admit(_ request: BatchRequest, id: Int) throws {
        try check(request)
        guard let (slot, reused) = takeSlot(for: request) else {
            throw InferenceError.badParameter(name: "batch", value: "\(slotCount) slots", problem: "are all in use; wait for a request to finish")
        }
        let p = request.parameters
        active.append(Active(id: id, slot: slot, request: request, state: SequenceState(prompt: request.prompt, tokenizer: tokenizer),
                             sampler: Sampler(seed: p.seed ?? UInt64(monotonicSeconds() * 1e9)),  // allowed: monotonic time in ns is positive and below 2^64 for 584 years
                             eos: Set(p.eosTokenIds), stops: StopStringMatcher(p.stopStrings), prefilled: reused))
        promptTokens += request.prompt.count
        reusedPromptTokens += reused
    }

    /// Requests whose prompt is still being prefilled.
    public var prefillingCount: Int { active.count { $0.isPrefilling } }

    /// Prefills `request` into a free slot under `id` at once (no other row runs) and chooses its first token.
    /// - Returns: the first token's event, and `.finished` when one token already ends it.
    /// - Throws: `InferenceError` for a request `check` rejects or no free slot; model errors as `.model` (the
    ///   request is dropped, its slot freed).
    public func add(_ request: BatchRequest, id: Int) throws -> [BatchEvent] {
        try admit(request, id: id)
        let reused = active.last(where: { $0.id == id })?.prefilled ?? 0
        while let index = active.firstIndex(where: { $0.id == id }), active[index].isPrefilling {
            do {
                try runStep(decoding: false, prefilling: id, budget: request.prompt.count)
            } catch {
                promptTokens -= request.prompt.count
                reusedPromptTokens -= reused
                release(at: index, keep: false)
                throw error
            }
        }
        return chooseTokens(only: [id])
    }

    /// A free slot for `request` and how many of its prompt's tokens that slot's cache already holds: the slot
    /// whose earlier request (same adapter) shares the longest prefix with the prompt, keeping at least the
    /// prompt's last token to prefill (its logits pick the first new token); else the free slot freed longest
    /// ago, emptied.
    private func takeSlot(for request: BatchRequest) -> (slot: Int, reused: Int)? {
        guard !free.isEmpty else { return nil }
        var best: (index: Int, length: Int)? = nil
        if prefixCaching {
            for (index, slot) in free.enumerated() {
                guard let kept = held[slot], kept.adapter == request.adapter else { continue }
                let limit = min(kept.tokens.count, request.prompt.count - 1)
                var length = 0
                while length < limit && kept.tokens[length] == request.prompt[length] { length += 1 }
                if length > (best?.length ?? 0) { best = (index, length) }
            }
        }
        let index = best?.index ?? 0
        let slot = free.remove(at: index)
        held[slot] = nil
        let reused = best?.length ?? 0
        if reused > 0 { cache.truncate(slot: slot, to: reused) } else { cache.reset(slot: slot) }
        return (slot, reused)
    }

    /// Forgets what the free slots hold (the model's weights or adapters changed, so their keys and values are stale).
    public func forgetPrefixes() {
        for slot in free { cache.reset(slot: slot) }
        held = [:]
    }

    /// Drops request `id` (cancelled), freeing its slot at once. Unknown ids are ignored.
    public func remove(id: Int) {
        guard let index = active.firstIndex(where: { $0.id == id }) else { return }
        release(at: index)
    }

    /// One step: the newest token of every decoding request (`decoding`; off: only prompts move on) and the next
    /// chunks of the prompts being prefilled, up to `maxStepTokens`, in one forward with rows grouped by adapter.
    /// - Returns: each request's new token (a prompt's first when its last chunk ran) and the requests that finished.
    public func step(decoding: Bool = true) throws -> [BatchEvent] {
        guard !active.isEmpty else { return [] }
        try runStep(decoding: decoding, prefilling: nil)
        return chooseTokens(only: nil)
    }

    /// Runs one forward of the decode rows (when `decoding`) and prompt chunks (only `prefilling`'s when given)
    /// and leaves the logits of each row that needs a next token in `pending`.
    /// `budget`: the most prompt tokens to run (default: what `maxStepTokens` leaves beside the decode rows).
    private func runStep(decoding: Bool, prefilling only: Int?, budget limit: Int? = nil) throws {
        // (index into active, ids, whether its last token's logits pick a next token)
        var parts: [(index: Int, ids: [Int32], picks: Bool)] = []
        if decoding {
            for index in active.indices where !active[index].isPrefilling {
                parts.append((index, [active[index].state.generated.last ?? 0], true))
            }
        }
        var budget = limit ?? max(maxStepTokens - parts.count, 1)
        for index in active.indices where budget > 0 && active[index].isPrefilling && (only == nil || active[index].id == only) {
            let entry = active[index], end = min(entry.request.prompt.count, entry.prefilled + budget)
            parts.append((index, Array(entry.request.prompt[entry.prefilled..<end]), end == entry.request.prompt.count))
            budget -= end - entry.prefilled
        }
        guard !parts.isEmpty else { return }
        // Parts in adapter order (base first), so each adapter's rows are one run.
        let order = parts.indices.sorted {
            (active[parts[$0].index].request.adapter ?? "", $0) < (active[parts[$1].index].request.adapter ?? "", $1)
        }
        var rows: [Int] = [], picking: [Int] = [], offset = 0
        for p in order {
            offset += parts[p].ids.count
            if parts[p].picks { rows.append(offset - 1); picking.append(parts[p].index) }
        }
        let logits = try runModel(order.map { (active[parts[$0].index].request.adapter, parts[$0].ids, active[parts[$0].index].slot) }, rows: rows)
        for part in parts where active[part.index].isPrefilling { active[part.index].prefilled += part.ids.count }
        for (row, index) in picking.enumerated() { pending[active[index].id] = logits[row] }
    }

    /// Runs the model on `parts` (adapter, ids, slot) in order and returns the logits of `rows`.
    private func runModel(_ parts: [(adapter: String?, ids: [Int32], slot: Int)], rows: [Int]) throws -> [[Float]] {
        var ids: [Int32] = [], slots: [Int] = [], adapterOf: [String?] = []
        for part in parts {
            ids += part.ids
            slots += Array(repeating: part.slot, count: part.ids.count)
            adapterOf += Array(repeating: part.adapter, count: part.ids.count)
        }
        // The adapters of all rows, and of the logit rows the model's last layer narrows to.
        func runs(_ rowAdapters: [String?]) -> [AdapterRowRun] {
            var runs: [AdapterRowRun] = []
            for adapter in rowAdapters {
                if let last = runs.last, last.adapter == adapter { runs[runs.count - 1].count += 1 } else { runs.append(AdapterRowRun(adapter: adapter, count: 1)) }
            }
            return runs
        }
        let vocab = model.config.vocabSize
        do {
            let forward = { () throws -> [Float] in
                let logits = try self.model.decode(ids: ids, slots: slots, logitRows: rows, cache: self.cache)
                return try self.model.backend.download(logits)
            }
            let values: [Float]
            if let adapters {
                values = try adapters.adapterSet.withRowAdapters(runs(adapterOf), narrowed: runs(rows.map { adapterOf[$0] }), forward)
            } else {
                values = try forward()
            }
            return rows.indices.map { Array(values[($0 * vocab)..<(($0 + 1) * vocab)]) }
        } catch let error as ModelError {
            throw InferenceError.model(error, during: "batched generation")
        } catch let error as AdapterError {
            throw InferenceError.adapter(error)
        }
    }

    /// Picks the next token of each active request with pending logits (`only`: just these ids).
    private func chooseTokens(only: [Int]?) -> [BatchEvent] {
        var events: [BatchEvent] = []
        var finished: [Int] = []
        var failed: Set<Int> = []
        for index in active.indices {
            let id = active[index].id
            if let only, !only.contains(id) { continue }
            guard var scores = pending.removeValue(forKey: id) else { continue }
            var entry = active[index]
            let p = entry.request.parameters
            if let bad = scores.first(where: { !$0.isFinite }) {
                events.append(.failed(request: id, .nonFiniteLogits(sequence: 0, step: entry.state.generated.count + 1, value: Double(bad))))
                finished.append(index)
                failed.insert(index)  // its keys and values may hold the same non-finite values: not kept for reuse
                continue
            }
            let logprobs = entry.request.topLogprobs.map { Self.logprobs(scores, top: $0) }
            if entry.request.presencePenalty != 0 || entry.request.frequencyPenalty != 0 {
                LogitsProcessing.presenceFrequency(&scores, counts: entry.counts, presence: Float(entry.request.presencePenalty),
                                                   frequency: Float(entry.request.frequencyPenalty))
            }
            LogitsProcessing.apply(&scores, history: entry.state.history, generated: entry.state.generated.count, parameters: p)
            let token = Int32(entry.sampler.choose(scores, sample: p.doSample))  // allowed: an index into a logits row of vocab_size entries; ids are Int32 through the model
            entry.counts[token, default: 0] += 1
            let text = entry.state.append(token)
            events.append(.token(request: id, id: token, text: text, logprobs: logprobs.map { chosen(token, in: $0, scores: $0.all) }))
            if entry.eos.contains(token) {
                entry.state.finish(.eos(token))
            } else if let stop = entry.stops.match(entry.state.text, newBytes: text.utf8.count) {
                entry.state.finish(.stopString(stop))
            } else if entry.state.generated.count >= p.maxNewTokens {
                entry.state.finish(.length)
            }
            active[index] = entry
            if let result = entry.state.result {
                events.append(.finished(request: id, result))
                finished.append(index)
            }
        }
        for index in finished.sorted(by: >) { release(at: index, keep: !failed.contains(index)) }
        return events
    }

    /// Frees `index`'s slot; `keep`: its keys and values stay for a later prompt with the same prefix.
    private func release(at index: Int, keep: Bool = true) {
        let entry = active.remove(at: index)
        pending[entry.id] = nil
        // The cache holds the prompt and every generated token but the last (it was chosen, never fed back).
        let length = cache.lengths[entry.slot]
        let history = entry.state.history
        if keep && prefixCaching && length > 0 && length <= history.count {
            held[entry.slot] = (entry.request.adapter, Array(history.prefix(length)))
        } else {
            cache.reset(slot: entry.slot)
        }
        free.append(entry.slot)
        if active.isEmpty { cache.releaseScratch() }
    }

    /// Log-softmax of raw logits and the `top` most likely ids.
    static func logprobs(_ scores: [Float], top: Int) -> (all: [Float], top: [(id: Int32, logprob: Float)]) {
        let maxScore = scores.max() ?? 0
        let sum = scores.reduce(Float(0)) { $0 + expf($1 - maxScore) }
        let offset = maxScore + logf(sum)
        let all = scores.map { $0 - offset }
        let best = all.indices.sorted { (all[$0], $1) > (all[$1], $0) }.prefix(top)
        return (all, best.map { (Int32($0), all[$0]) })  // allowed: an index into a logits row; ids are Int32 through the model
    }

    private func chosen(_ token: Int32, in computed: (all: [Float], top: [(id: Int32, logprob: Float)]), scores: [Float]) -> TokenLogprobs {
        TokenLogprobs(id: token, logprob: scores[Int(token)], top: computed.top)  // allowed: an Int32 id widens
    }
}
