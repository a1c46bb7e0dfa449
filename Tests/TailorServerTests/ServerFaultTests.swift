import Foundation
import TailorJSON
@testable import TailorServer
import XCTest

/// Bad input and faults on a live server: each answers a clear OpenAI error object with the
/// right status, and the server still answers afterwards.
final class ServerFaultTests: XCTestCase {
    func assertError(_ result: (status: Int, json: JSONValue), _ status: Int, contains text: String, code: String? = nil,
                     file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(result.status, status, "\(result.json)", file: file, line: line)
        let message = result.json["error"]?["message"]?.stringValue ?? ""
        XCTAssertTrue(message.contains(text), "'\(message)' should contain '\(text)'", file: file, line: line)
        XCTAssertNotNil(result.json["error"]?["type"]?.stringValue, file: file, line: line)
        if let code { XCTAssertEqual(result.json["error"]?["code"]?.stringValue, code, file: file, line: line) }
    }

    func stillUp(_ harness: ServerHarness, file: StaticString = #filePath, line: UInt = #line) throws {
        let (status, json) = try harness.post("/v1/completions", ["model": "chat-llama", "prompt": "hi", "max_tokens": 2, "temperature": 0])
        XCTAssertEqual(status, 200, "the server should still answer: \(json)", file: file, line: line)
    }

    func raw(_ harness: ServerHarness, _ body: String) throws -> (status: Int, json: JSONValue) {
        let response = try RawHTTPClient.request(port: harness.port, path: "/v1/chat/completions", body: Array(body.utf8))
        return (response.status, (try? JSONValue(parsing: response.body)) ?? .null)
    }

    func testBadRequestsAnswerErrorsAndTheServerStaysUp() async throws {
        let harness = try await ServerHarness.start()
        defer { Task { await harness.stop() } }
        let messages: JSONValue = [["role": "user", "content": "hi"]]
        assertError(try raw(harness, "{\"model\": \"chat-llama\", \"messages\": [}"), 400, contains: "not valid JSON")
        assertError(try harness.post("/v1/chat/completions", ["model": "chat-llama", "messages": messages, "max_tokens": "ten"]), 422,
                    contains: "'max_tokens' must be an integer")
        assertError(try harness.post("/v1/chat/completions", ["model": 5, "messages": messages]), 422, contains: "'model' must be a string")
        assertError(try harness.post("/v1/chat/completions", ["model": "chat-llama"]), 422, contains: "'messages' is required")
        assertError(try harness.post("/v1/chat/completions", ["model": "nope", "messages": messages]), 404, contains: "'nope' does not exist",
                    code: "model_not_found")
        assertError(try harness.post("/v1/chat/completions", ["model": "chat-llama", "messages": messages, "max_tokens": 1_000_000_000]), 400,
                    contains: "maximum context length is 128", code: "context_length_exceeded")
        let long = String(repeating: "many words in a row ", count: 200)
        assertError(try harness.post("/v1/chat/completions", ["model": "chat-llama", "messages": [["role": "user", "content": .string(long)]]]),
                    400, contains: "maximum context length", code: "context_length_exceeded")
        assertError(try harness.post("/v1/chat/completions", ["model": "chat-llama", "messages": messages, "temperature": -1]), 400,
                    contains: "'temperature' is -1.0")
        assertError(try harness.post("/v1/chat/completions", ["model": "chat-llama", "messages": [["role": "wizard", "content": "hi"]]]), 400,
                    contains: "messages[0].role")
        assertError(try harness.post("/v1/nothing", [:]), 404, contains: "no route")
        try stillUp(harness)
        await harness.stop()
    }

    func testTenMegabyteBodyIs413() async throws {
        let harness = try await ServerHarness.start()
        defer { Task { await harness.stop() } }
        // The server stops reading at the limit: sends give up after 3 s, then the answer is read.
        let client = try RawHTTPClient(port: harness.port, timeout: 3)
        let started = Date()
        let body = Array("{\"model\": \"chat-llama\", \"prompt\": \"".utf8) + [UInt8](repeating: UInt8(ascii: "x"), count: 10 << 20) + Array("\"}".utf8)
        client.send(method: "POST", path: "/v1/completions", headers: ["Content-Type": "application/json"], body: body)
        let sent = Date().timeIntervalSince(started)
        let response = try client.readResponse()
        XCTAssertEqual(response.status, 413, "after \(sent) s of sending, \(Date().timeIntervalSince(started)) s in all")
        XCTAssertTrue(response.text.contains("larger than \(4 << 20) bytes"), response.text)
        try stillUp(harness)
        await harness.stop()
    }

    func testApiKey() async throws {
        let harness = try await ServerHarness.start(apiKey: "sekrit-key")
        defer { Task { await harness.stop() } }
        let body: JSONValue = ["model": "chat-llama", "prompt": "hi", "max_tokens": 2]
        assertError(try harness.post("/v1/completions", body), 401, contains: "API key", code: "invalid_api_key")
        assertError(try harness.post("/v1/completions", body, headers: ["Authorization": "Bearer sekrit-kez"]), 401, contains: "API key")
        assertError(try harness.post("/v1/completions", body, headers: ["Authorization": "Bearer sekrit-key-longer"]), 401, contains: "API key")
        XCTAssertEqual(try harness.post("/v1/completions", body, headers: ["Authorization": "Bearer sekrit-key"]).status, 200)
        XCTAssertEqual(try harness.get("/health").status, 200, "/health needs no key")
        XCTAssertEqual(try harness.get("/v1/models").status, 401)
        XCTAssertTrue(OpenAIGuard.authorized("Bearer k", key: "k"))
        XCTAssertFalse(OpenAIGuard.authorized(nil, key: "k"))
        await harness.stop()
    }

    func testBeyondTheQueueAnswers429() async throws {
        let harness = try await ServerHarness.start(maxBatch: 1, maxQueue: 2)
        defer { Task { await harness.stop() } }
        harness.server.engine.pause()
        // Two requests fill the queue (the paused engine admits none) ...
        let held = try (0..<2).map { _ -> RawHTTPClient in
            let client = try RawHTTPClient(port: harness.port)
            client.send(method: "POST", path: "/v1/completions", headers: ["Content-Type": "application/json"],
                        body: requestBytes(["model": "a", "prompt": "hello", "max_tokens": 5, "temperature": 0]))
            return client
        }
        let deadline = Date().addingTimeInterval(30)
        while harness.server.engine.queueDepth < 2 && Date() < deadline { try await Task.sleep(nanoseconds: 10_000_000) }
        XCTAssertEqual(harness.server.engine.queueDepth, 2)
        // ... and 200 more each get 429 at once.
        var statuses: [Int: Int] = [:]
        for _ in 0..<200 {
            let result = try harness.post("/v1/completions", ["model": "chat-llama", "prompt": "hi", "max_tokens": 2])
            statuses[result.status, default: 0] += 1
            if result.status == 429 { XCTAssertEqual(result.json["error"]?["type"]?.stringValue, "rate_limit_error") }
        }
        XCTAssertEqual(statuses, [429: 200])
        harness.server.engine.resume()
        for client in held { XCTAssertEqual(try client.readResponse().status, 200) }
        try stillUp(harness)
        await harness.stop()
    }

    func testClientDroppingMidStreamFreesItsSlot() async throws {
        let harness = try await ServerHarness.start(maxBatch: 1, maxQueue: 4)
        defer { Task { await harness.stop() } }
        // The engine holds the request until its client has gone, so the drop comes mid-stream.
        harness.server.engine.pause()
        var client: RawHTTPClient? = try RawHTTPClient(port: harness.port)
        client?.send(method: "POST", path: "/v1/chat/completions", headers: ["Content-Type": "application/json"],
                     body: requestBytes(["model": "b", "messages": [["role": "user", "content": "hello"]], "max_tokens": 100,
                                      "temperature": 0, "stream": true]))
        XCTAssertEqual(try client?.readHead().status, 200)
        XCTAssertNotNil(try client?.readChunk(chunked: true), "the first chunk (the assistant role)")
        client = nil   // closes the socket
        harness.server.engine.resume()
        let deadline = Date().addingTimeInterval(30)
        while (try harness.metric("tailor:request_cancelled_total") ?? 0) < 1 && Date() < deadline { try await Task.sleep(nanoseconds: 10_000_000) }
        XCTAssertEqual(try harness.metric("tailor:request_cancelled_total"), 1)
        XCTAssertEqual(harness.server.engine.runningCount, 0, "the dropped row left the batch")
        let generated = try harness.metric("tailor:generation_tokens_total") ?? 0
        XCTAssertLessThan(generated, 100, "it left before its 100 tokens")
        try stillUp(harness)
        await harness.stop()
    }

    /// A client that closes its connection while waiting for a non-streamed answer cancels it at once: mid-answer
    /// (in its slot, with decoding held so only the cancellation can free it) and while still queued.
    func testClientDroppingNonStreamedRequestFreesItsSlot() async throws {
        let harness = try await ServerHarness.start(maxBatch: 1, maxQueue: 4)
        defer { Task { await harness.stop() } }
        let engine = harness.server.engine
        func waitUntil(_ what: String, _ condition: () throws -> Bool) async throws {
            let deadline = Date().addingTimeInterval(30)
            while try !condition() && Date() < deadline { try await Task.sleep(nanoseconds: 5_000_000) }
            XCTAssertTrue(try condition(), what)
        }
        let body = requestBytes(["model": "b", "messages": [["role": "user", "content": "hello"]], "max_tokens": 100, "temperature": 0])
        // Mid-answer: admitted (prompt prefilled, first token chosen) but no decode step runs.
        engine.pause(admitting: true)
        var client: RawHTTPClient? = try RawHTTPClient(port: harness.port)
        client?.send(method: "POST", path: "/v1/chat/completions", headers: ["Content-Type": "application/json"], body: body)
        try await waitUntil("the request took the one slot") { engine.runningCount == 1 && engine.decoder.freeSlots == 0 }
        client = nil   // closes the socket before any answer
        try await waitUntil("the dropped row left its slot while decoding is held") { engine.runningCount == 0 && engine.decoder.freeSlots == 1 }
        XCTAssertEqual(engine.decoder.activeCount, 0)
        XCTAssertEqual(try harness.metric("tailor:request_cancelled_total"), 1)
        // Queued: decoding and admission held; the dropped request leaves the queue.
        engine.pause()
        client = try RawHTTPClient(port: harness.port)
        client?.send(method: "POST", path: "/v1/chat/completions", headers: ["Content-Type": "application/json"], body: body)
        try await waitUntil("the request is queued") { engine.queueDepth == 1 }
        client = nil
        try await waitUntil("the dropped request left the queue") { engine.queueDepth == 0 && engine.runningCount == 0 }
        try await waitUntil("both were counted as cancelled") { try harness.metric("tailor:request_cancelled_total") == 2 }
        engine.resume()
        XCTAssertLessThanOrEqual(try harness.metric("tailor:generation_tokens_total") ?? 0, 1, "only the first request's first token was made")
        try stillUp(harness)
        await harness.stop()
    }

    func testRuntimeAdaptersStayInsideTheRoot() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-adapter-root-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: ServerHarness.adapterA, to: root.appendingPathComponent("mine"))
        try FileManager.default.createSymbolicLink(at: root.appendingPathComponent("escape"), withDestinationURL: URL(fileURLWithPath: "/etc"))
        let harness = try await ServerHarness.start(adapterRoot: root.path)
        defer { Task { await harness.stop() } }
        for (name, path) in [("../x", nil), ("/etc", nil), ("ok", "../x"), ("ok", "/etc"), ("ok", "escape"), ("ok", "mine/../../x"), (".hidden", nil)] as [(String, String?)] {
            var body: JSONObject = ["lora_name": .string(name)]
            if let path { body["lora_path"] = .string(path) }
            let result = try harness.post("/v1/load_lora_adapter", .object(body))
            XCTAssertEqual(result.status, 400, "\(name) \(path ?? "") → \(result.json)")
            XCTAssertTrue((result.json["error"]?["message"]?.stringValue ?? "").contains("refused"), "\(result.json)")
        }
        XCTAssertEqual(try harness.post("/v1/load_lora_adapter", ["lora_name": "mine"]).status, 200)
        let models = try JSONValue(parsing: try harness.get("/v1/models").body)
        XCTAssertEqual(models["data"]?.arrayValue?.compactMap { $0["id"]?.stringValue }, ["chat-llama", "a", "b", "mine"])
        let mine = try harness.post("/v1/completions", ["model": "mine", "prompt": "hi", "max_tokens": 6, "temperature": 0]).json
        let a = try harness.post("/v1/completions", ["model": "a", "prompt": "hi", "max_tokens": 6, "temperature": 0]).json
        XCTAssertEqual(mine["choices"]?[0]?["text"], a["choices"]?[0]?["text"], "the same adapter files under another name")
        XCTAssertEqual(try harness.post("/v1/unload_lora_adapter", ["lora_name": "mine"]).status, 200)
        XCTAssertEqual(try harness.post("/v1/completions", ["model": "mine", "prompt": "hi"]).status, 404)
        try stillUp(harness)
        await harness.stop()
        // Without --adapter-root, runtime loading is refused.
        let closed = try await ServerHarness.start()
        defer { Task { await closed.stop() } }
        let refused = try closed.post("/v1/load_lora_adapter", ["lora_name": "mine"])
        XCTAssertEqual(refused.status, 400)
        XCTAssertTrue((refused.json["error"]?["message"]?.stringValue ?? "").contains("--adapter-root"))
        await closed.stop()
    }
}
