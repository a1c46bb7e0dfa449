import Foundation
import TailorJSON
import TailorServer
import XCTest

/// The OpenAI endpoints on a live loopback server: answers equal the library's, streams are
/// well formed, usage counts are right, /v1/models lists base and adapters.
final class ServerEndpointTests: XCTestCase {
    let question: [(String, String)] = [("system", "You are terse."), ("user", "Hello there, who are you?")]

    func chatBody(model: String, tokens: Int, stream: Bool = false, extra: [(String, JSONValue)] = []) -> JSONValue {
        var object: JSONObject = [
            "model": .string(model), "max_tokens": .int(tokens), "temperature": 0,
            "messages": .array(question.map { ["role": .string($0.0), "content": .string($0.1)] }),
        ]
        if stream { object["stream"] = true }
        for (key, value) in extra { object[key] = value }
        return .object(object)
    }

    func testGreedyAnswerPerModelNameEqualsTheGenerators() async throws {
        let harness = try await ServerHarness.start()
        defer { Task { await harness.stop() } }
        for (model, adapter) in [("chat-llama", nil), ("a", "a"), ("b", "b")] as [(String, String?)] {
            let expected = try ServerHarness.generatorAnswer(messages: question, adapter: adapter, tokens: 20)
            let (status, json) = try harness.post("/v1/chat/completions", chatBody(model: model, tokens: 20))
            XCTAssertEqual(status, 200, "\(json)")
            XCTAssertEqual(json["object"]?.stringValue, "chat.completion")
            XCTAssertEqual(json["model"]?.stringValue, model)
            let choice = json["choices"]?.arrayValue?.first
            XCTAssertEqual(choice?["message"]?["content"]?.stringValue, expected.text, "model \(model)")
            XCTAssertEqual(choice?["finish_reason"]?.stringValue, expected.finishReason.description)
            XCTAssertEqual(json["usage"]?["prompt_tokens"]?.intValue, expected.promptTokenCount)
            XCTAssertEqual(json["usage"]?["completion_tokens"]?.intValue, expected.tokens.count)
            XCTAssertEqual(json["usage"]?["total_tokens"]?.intValue, expected.promptTokenCount + expected.tokens.count)
        }
        let a = try harness.post("/v1/chat/completions", chatBody(model: "a", tokens: 20)).json
        let b = try harness.post("/v1/chat/completions", chatBody(model: "b", tokens: 20)).json
        XCTAssertNotEqual(a["choices"]?[0]?["message"], b["choices"]?[0]?["message"], "two adapters should answer differently")
        await harness.stop()
    }

    func testStreamingChatChunks() async throws {
        let harness = try await ServerHarness.start()
        defer { Task { await harness.stop() } }
        let expected = try ServerHarness.generatorAnswer(messages: question, adapter: "a", tokens: 16)
        let (status, events) = try harness.stream("/v1/chat/completions",
                                                  chatBody(model: "a", tokens: 16, stream: true, extra: [("stream_options", ["include_usage": true])]))
        XCTAssertEqual(status, 200)
        XCTAssertEqual(events.last, "[DONE]")
        let chunks = try events.dropLast().map { try JSONValue(parsing: $0) }
        XCTAssertGreaterThan(chunks.count, 2)
        let ids = Set(chunks.compactMap { $0["id"]?.stringValue })
        XCTAssertEqual(ids.count, 1, "the same id on every chunk")
        XCTAssertTrue(chunks.allSatisfy { $0["object"]?.stringValue == "chat.completion.chunk" })
        XCTAssertEqual(chunks[0]["choices"]?[0]?["delta"]?["role"]?.stringValue, "assistant")
        var text = ""
        var reasons: [String] = []
        for chunk in chunks {
            for choice in chunk["choices"]?.arrayValue ?? [] {
                text += choice["delta"]?["content"]?.stringValue ?? ""
                if let reason = choice["finish_reason"]?.stringValue { reasons.append(reason) }
            }
        }
        XCTAssertEqual(text, expected.text)
        XCTAssertEqual(reasons, [expected.finishReason.description], "finish_reason once, on the last content chunk")
        // The usage chunk: no choices, the counts; earlier chunks carry usage null.
        let usage = chunks.last
        XCTAssertEqual(usage?["choices"]?.arrayValue?.count, 0)
        XCTAssertEqual(usage?["usage"]?["prompt_tokens"]?.intValue, expected.promptTokenCount)
        XCTAssertEqual(usage?["usage"]?["completion_tokens"]?.intValue, expected.tokens.count)
        XCTAssertTrue(chunks.dropLast().allSatisfy { $0["usage"]?.isNull == true })
        await harness.stop()
    }

    func testCompletionsStopLogprobsAndN() async throws {
        let harness = try await ServerHarness.start()
        defer { Task { await harness.stop() } }
        let body: JSONValue = ["model": "chat-llama", "prompt": "the cat sat", "max_tokens": 12, "temperature": 0, "logprobs": 2]
        let (status, json) = try harness.post("/v1/completions", body)
        XCTAssertEqual(status, 200, "\(json)")
        XCTAssertEqual(json["object"]?.stringValue, "text_completion")
        let text = json["choices"]?[0]?["text"]?.stringValue ?? ""
        let logprobs = json["choices"]?[0]?["logprobs"]
        XCTAssertEqual(logprobs?["tokens"]?.arrayValue?.count, json["usage"]?["completion_tokens"]?.intValue)
        XCTAssertEqual(logprobs?["top_logprobs"]?[0]?.objectValue?.count ?? 0, 2)
        // A stop string taken from the greedy answer ends it there, and is not part of the text.
        if text.count > 4 {
            let stop = String(text.dropFirst(2).prefix(2))
            let stopped = try harness.post("/v1/completions", ["model": "chat-llama", "prompt": "the cat sat", "max_tokens": 12,
                                                                "temperature": 0, "stop": .string(stop)]).json
            let cut = stopped["choices"]?[0]?["text"]?.stringValue ?? ""
            XCTAssertEqual(stopped["choices"]?[0]?["finish_reason"]?.stringValue, "stop")
            XCTAssertFalse(cut.contains(stop))
            XCTAssertTrue(text.hasPrefix(cut))
            // Streamed with the same stop: the same text.
            let (_, events) = try harness.stream("/v1/completions", ["model": "chat-llama", "prompt": "the cat sat", "max_tokens": 12,
                                                                     "temperature": 0, "stop": .string(stop), "stream": true])
            let streamed = try events.dropLast().map { try JSONValue(parsing: $0) }.map { $0["choices"]?[0]?["text"]?.stringValue ?? "" }.joined()
            XCTAssertEqual(streamed, cut)
        }
        // n = 3 samples with a seed: three choices; the same seed gives the same choices.
        let sampled: JSONValue = ["model": "b", "prompt": "the cat sat", "max_tokens": 8, "temperature": 1, "n": 3, "seed": 7]
        let first = try harness.post("/v1/completions", sampled).json, second = try harness.post("/v1/completions", sampled).json
        XCTAssertEqual(first["choices"]?.arrayValue?.count, 3)
        XCTAssertEqual(first["choices"], second["choices"])
        XCTAssertEqual(first["usage"]?["prompt_tokens"]?.intValue, harness.server.model.rawPrompt("the cat sat").count)
        await harness.stop()
    }

    func testModelsHealthAndMetrics() async throws {
        let harness = try await ServerHarness.start()
        defer { Task { await harness.stop() } }
        let models = try JSONValue(parsing: try harness.get("/v1/models").body)
        let data = models["data"]?.arrayValue ?? []
        XCTAssertEqual(data.compactMap { $0["id"]?.stringValue }, ["chat-llama", "a", "b"])
        XCTAssertEqual(data[0]["parent"], .null)
        XCTAssertEqual(data[1]["parent"]?.stringValue, "chat-llama")
        XCTAssertEqual(data[1]["root"]?.stringValue, ServerHarness.adapterA.path)
        XCTAssertEqual(try harness.get("/health").status, 200)
        let page = try harness.get("/")
        XCTAssertEqual(page.status, 200, "the chat page (Tailor_TailorServer.resources beside the test binary)")
        XCTAssertTrue(page.text.contains("<title>Tailor chat</title>"))
        XCTAssertFalse(page.text.contains("http://") || page.text.contains("https://"), "no CDN: the page loads nothing from elsewhere")
        _ = try harness.post("/v1/completions", ["model": "chat-llama", "prompt": "hi", "max_tokens": 3, "temperature": 0])
        let metrics = try harness.get("/metrics").text
        for name in ["tailor:num_requests_running", "tailor:num_requests_waiting", "tailor:prompt_tokens_total", "tailor:generation_tokens_total",
                     "tailor:time_to_first_token_seconds_bucket", "tailor:e2e_request_latency_seconds_count", "tailor:generation_tokens_per_second"] {
            XCTAssertTrue(metrics.contains(name), "missing \(name)")
        }
        XCTAssertEqual(try harness.metric("tailor:generation_tokens_total"), 3)
        await harness.stop()
    }

    /// The same prompt twice: the second request's prompt comes from the first's slot but its last token, and
    /// the answer is the same (prefix caching, counted as vLLM counts it).
    func testARepeatedPromptIsServedFromTheKeptPrefix() async throws {
        let harness = try await ServerHarness.start()
        defer { Task { await harness.stop() } }
        let body: JSONValue = ["model": "a", "prompt": "the cat sat on the mat and", "max_tokens": 4, "temperature": 0]
        let first = try harness.post("/v1/completions", body).json, second = try harness.post("/v1/completions", body).json
        XCTAssertEqual(first["choices"]?.arrayValue?.first?["text"], second["choices"]?.arrayValue?.first?["text"])
        XCTAssertNotNil(first["choices"]?.arrayValue?.first?["text"]?.stringValue)
        let prompt = harness.server.model.rawPrompt("the cat sat on the mat and").count
        XCTAssertEqual(try harness.metric("tailor:prefix_cache_queries_total"), Double(2 * prompt))
        XCTAssertEqual(try harness.metric("tailor:prefix_cache_hits_total"), Double(prompt - 1))
        await harness.stop()
    }
}
