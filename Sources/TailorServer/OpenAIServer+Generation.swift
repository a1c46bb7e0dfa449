import Foundation
import Hummingbird
import NIOCore
import TailorInference
import TailorJSON
import TailorTokenizers

/// POST /v1/chat/completions and /v1/completions: decode, validate, queue, and answer whole or
/// as server-sent events.
extension OpenAIServer {
    /// A request made ready for the engine.
    struct Prepared {
        let request: OpenAIRequest
        let chat: Bool
        let adapter: String?
        /// Prompt ids, one per prompt (chat: one).
        let prompts: [[Int32]]
        /// The engine's rows: prompt p's choice i is row p · n + i.
        let rows: [BatchRequest]
    }

    /// Answers one generation request from `connection`. A client that goes away (its connection's
    /// input closes, or a write fails) cancels the request at once, streamed or not: its rows leave
    /// the queue or the batch before the next decode step.
    func generate(_ http: Request, chat: Bool, connection: any Channel) async throws -> Response {
        let received = Metrics.monotonic()
        let prepared = try prepare(try OpenAIRequest(body: try await body(http), chat: chat), chat: chat)
        let watcher = try? await ConnectionWatcher.of(connection)
        let submission = try engine.submit(prepared.rows)
        let watch = watcher?.onGone { submission.cancel() }
        let id = (chat ? "chatcmpl-" : "cmpl-") + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let answer = Answer(server: self, prepared: prepared, id: id, received: received)
        if prepared.request.stream {
            return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                            body: ResponseBody { writer in
                                defer { if let watch { watcher?.stop(watch) } }
                                var answer = answer
                                do {
                                    try await answer.stream(submission) { try await writer.write(ByteBuffer(string: $0)) }
                                    try await writer.finish(nil)
                                } catch {
                                    submission.cancel()   // the client went away: its rows leave the batch now
                                    self.metrics.cancelled()
                                    answer.record(cancelled: true)
                                    throw error
                                }
                            })
        }
        defer { if let watch { watcher?.stop(watch) } }
        var collector = answer
        for await event in submission.events { try collector.take(event) }
        if submission.isCancelled {
            metrics.cancelled()
            collector.record(cancelled: true)
            throw ServerError.clientClosed
        }
        return OpenAIServer.json(try collector.whole())
    }

    /// Checks a decoded request against the model and turns it into engine rows.
    /// - Throws: `ServerError` (unknown model 404, context exceeded 400, template failure 400).
    func prepare(_ request: OpenAIRequest, chat: Bool) throws -> Prepared {
        let adapter = try self.adapter(forModel: request.model)
        var prompts: [[Int32]] = []
        switch request.input {
        case let .chat(messages, tools):
            do { prompts = [try model.chatPrompt(messages, tools: tools, extra: request.templateVariables)] } catch let error as InferenceError {
                throw ServerError.invalidValue(param: "messages", problem: "cannot be rendered with the model's chat template: \(error)")
            }
        case let .completion(list):
            for prompt in list {
                switch prompt {
                case .text(let text): prompts.append(model.rawPrompt(text))
                case .tokens(let ids):
                    let vocab = model.model.config.vocabSize
                    if let bad = ids.first(where: { Int($0) >= vocab }) {  // allowed: an Int32 id widens
                        throw ServerError.invalidValue(param: "prompt", problem: "holds token id \(bad), outside the vocabulary 0..<\(vocab)")
                    }
                    prompts.append(ids)
                }
            }
        }
        let context = contextLength
        var rows: [BatchRequest] = []
        for ids in prompts {
            guard !ids.isEmpty else { throw ServerError.invalidValue(param: chat ? "messages" : "prompt", problem: "gives no tokens") }
            guard ids.count < context else { throw ServerError.contextLengthExceeded(promptTokens: ids.count, maxTokens: request.maxTokens, context: context) }
            if let maxTokens = request.maxTokens, maxTokens > context - ids.count {
                throw ServerError.contextLengthExceeded(promptTokens: ids.count, maxTokens: maxTokens, context: context)
            }
            for choice in 0..<request.n {
                var row = BatchRequest(prompt: ids, parameters: parameters(request, promptTokens: ids.count, choice: choice), adapter: adapter)
                row.presencePenalty = request.presencePenalty
                row.frequencyPenalty = request.frequencyPenalty
                row.topLogprobs = request.logprobs
                rows.append(row)
            }
        }
        return Prepared(request: request, chat: chat, adapter: adapter, prompts: prompts, rows: rows)
    }

    /// OpenAI's sampling defaults (temperature 1, top_p 1, no top_k), the request's values,
    /// the model's end-of-sequence ids; temperature 0 is greedy.
    func parameters(_ r: OpenAIRequest, promptTokens: Int, choice: Int) -> GenerationParameters {
        var p = GenerationParameters()
        p.eosTokenIds = model.defaults.eosTokenIds
        p.maxNewTokens = r.maxTokens ?? (contextLength - promptTokens)
        p.topK = 0
        let temperature = r.temperature ?? 1
        p.doSample = temperature > 0
        if temperature > 0 { p.temperature = temperature }
        if let topP = r.topP { p.topP = topP }
        if let topK = r.topK, topK > 0 { p.topK = topK }
        p.minP = r.minP.flatMap { $0 > 0 ? $0 : nil }
        if let rep = r.repetitionPenalty { p.repetitionPenalty = rep }
        p.stopStrings = r.stop
        p.seed = r.seed.map { $0 &+ UInt64(choice) }  // allowed: a choice index (0..<16) widens
        return p
    }
}

/// The answer to one request as its events arrive: each choice's text, tokens and logprobs.
struct Answer {
    let server: OpenAIServer
    let prepared: OpenAIServer.Prepared
    let id: String
    let received: Double
    var texts: [ChoiceText]
    var tokenCounts: [Int]
    var finish: [String?]
    var finalTexts: [String]
    var logprobs: [[TokenLogprobs]]
    var firstToken: Double?
    var failure: String?
    var recorded = false

    init(server: OpenAIServer, prepared: OpenAIServer.Prepared, id: String, received: Double) {
        self.server = server
        self.prepared = prepared
        self.id = id
        self.received = received
        let count = prepared.rows.count
        texts = Array(repeating: ChoiceText(stops: prepared.request.stop), count: count)
        tokenCounts = Array(repeating: 0, count: count)
        finish = Array(repeating: nil, count: count)
        finalTexts = Array(repeating: "", count: count)
        logprobs = Array(repeating: [], count: count)
    }

    var model: String { prepared.request.model }
    var object: String { prepared.chat ? "chat.completion" : "text_completion" }
    var promptTokens: Int { prepared.prompts.reduce(0) { $0 + $1.count } }
    var completionTokens: Int { tokenCounts.reduce(0, +) }

    var usage: JSONValue {
        ["prompt_tokens": .int(promptTokens), "completion_tokens": .int(completionTokens), "total_tokens": .int(promptTokens + completionTokens)]
    }

    /// Text delta and logprobs of one event, and whether it ended its choice.
    mutating func take(_ event: EngineEvent) throws {
        _ = try apply(event)
    }

    /// Applies an event; returns (choice, text to send, the token's logprobs, finish reason when it ended).
    mutating func apply(_ event: EngineEvent) throws -> (choice: Int, delta: String, logprobs: TokenLogprobs?, finish: String?) {
        switch event {
        case let .token(choice, _, text, lp):
            if firstToken == nil { firstToken = Metrics.monotonic() - received }
            tokenCounts[choice] += 1
            if let lp { logprobs[choice].append(lp) }
            return (choice, texts[choice].add(text), lp, nil)
        case let .finished(choice, result):
            let (text, delta) = texts[choice].finish(result.finishReason, text: result.text)
            finalTexts[choice] = text
            let reason = result.finishReason.description
            finish[choice] = reason
            return (choice, delta, nil, reason)
        case let .failed(choice, message):
            failure = message
            finish[choice] = "error"
            return (choice, "", nil, "error")
        }
    }

    /// Counts the request in the metrics, once (a cancelled one with the tokens it had).
    mutating func record(cancelled: Bool = false) {
        guard !recorded else { return }
        recorded = true
        let reason = cancelled ? "cancelled" : failure == nil ? (finish.contains("length") ? "length" : "stop") : "error"
        server.metrics.request(finish: reason, promptTokens: promptTokens, generationTokens: completionTokens, ttft: firstToken,
                               latency: Metrics.monotonic() - received)
    }

    /// The whole (non-streamed) answer.
    mutating func whole() throws -> JSONValue {
        record()
        if let failure { throw ServerError.internalError(failure) }
        var choices: [JSONValue] = []
        for index in prepared.rows.indices {
            var text = finalTexts[index]
            if !prepared.chat && prepared.request.echo {
                text = server.model.tokenizer.tokenizer.decode(prepared.rows[index].prompt, skipSpecialTokens: true) + text
            }
            var choice: JSONObject = ["index": .int(index)]
            if prepared.chat {
                choice["message"] = ["role": "assistant", "content": .string(text)]
            } else {
                choice["text"] = .string(text)
            }
            choice["logprobs"] = prepared.request.logprobs == nil ? .null : logprobsJSON(logprobs[index])
            choice["finish_reason"] = .string(finish[index] ?? "stop")
            choices.append(.object(choice))
        }
        return ["id": .string(id), "object": .string(object), "created": .int(server.created), "model": .string(model),
                "choices": .array(choices), "usage": usage]
    }

    /// Streams the answer as server-sent events: chunks with the same id, the finish reason on
    /// each choice's last, a usage chunk when asked (stream_options.include_usage), then `[DONE]`.
    /// - Throws: `ServerError.clientClosed` when the submission was cancelled (its client went away), and what `write` throws.
    mutating func stream(_ submission: Engine.Submission, write: (String) async throws -> Void) async throws {
        let chunkObject = prepared.chat ? "chat.completion.chunk" : "text_completion"
        let includeUsage = prepared.request.includeUsage
        func chunk(_ choices: [JSONValue], usage: JSONValue? = nil) -> String {
            var object: JSONObject = ["id": .string(id), "object": .string(chunkObject), "created": .int(server.created),
                                      "model": .string(model), "choices": .array(choices)]
            if includeUsage { object["usage"] = usage ?? .null }
            return "data: " + JSONValue.object(object).text(.compact) + "\n\n"
        }
        func choice(_ index: Int, text: String, logprobs lp: [TokenLogprobs], finish: String?, role: Bool = false) -> JSONValue {
            var c: JSONObject = ["index": .int(index)]
            if prepared.chat {
                var delta: JSONObject = [:]
                if role { delta["role"] = "assistant" }
                if !text.isEmpty || role { delta["content"] = .string(text) }
                c["delta"] = .object(delta)
            } else {
                c["text"] = .string(text)
            }
            c["logprobs"] = prepared.request.logprobs == nil || lp.isEmpty ? .null : logprobsJSON(lp)
            c["finish_reason"] = finish.map(JSONValue.string) ?? .null
            return .object(c)
        }
        if prepared.chat {
            try await write(chunk(prepared.rows.indices.map { choice($0, text: "", logprobs: [], finish: nil, role: true) }))
        }
        for await event in submission.events {
            let (index, delta, lp, reason) = try apply(event)
            if case .failed(_, let message) = event {
                try await write("data: " + ServerError.internalError(message).json.text(.compact) + "\n\n")
                continue
            }
            guard !delta.isEmpty || reason != nil || lp != nil else { continue }
            try await write(chunk([choice(index, text: delta, logprobs: lp.map { [$0] } ?? [], finish: reason)]))
        }
        if submission.isCancelled { throw ServerError.clientClosed }
        record()
        if includeUsage { try await write(chunk([], usage: usage)) }
        try await write("data: [DONE]\n\n")
    }

    /// Logprobs in the endpoint's format: chat's `content` list, or completions' parallel lists.
    func logprobsJSON(_ entries: [TokenLogprobs]) -> JSONValue {
        let tokenizer = server.model.tokenizer.tokenizer
        func token(_ id: Int32) -> String { tokenizer.decode([id]) }
        func bytes(_ id: Int32) -> JSONValue { .array(tokenizer.tokenBytes(Int(id)).map { .int(Int($0)) }) }  // allowed: an Int32 id and bytes widen
        if prepared.chat {
            return ["content": .array(entries.map { e in
                ["token": .string(token(e.id)), "logprob": .double(Double(e.logprob)), "bytes": bytes(e.id),
                 "top_logprobs": .array(e.top.map { ["token": .string(token($0.id)), "logprob": .double(Double($0.logprob)), "bytes": bytes($0.id)] })]
            })]
        }
        var offsets: [JSONValue] = []
        var offset = 0
        for e in entries {
            offsets.append(.int(offset))
            offset += token(e.id).utf8.count
        }
        return ["tokens": .array(entries.map { .string(token($0.id)) }),
                "token_logprobs": .array(entries.map { .double(Double($0.logprob)) }),
                "top_logprobs": .array(entries.map { e in .object(JSONObject(e.top.map { (token($0.id), .double(Double($0.logprob))) })) }),
                "text_offset": .array(offsets)]
    }
}
