import Foundation
import TailorInference
import TailorJSON
import TailorServer
import TailorTensor
import TailorTestSupport
import TailorTokenizers
import XCTest

/// A server on an ephemeral loopback port over the chat-llama fixture, with adapter "a" (the
/// llama fixture adapter) and "b" (the same with lora_alpha tripled).
final class ServerHarness: @unchecked Sendable {
    let server: OpenAIServer
    let port: Int
    private let task: Task<Void, Error>

    static var chatModel: URL { TestPaths.fixture("generation/chat-llama") }
    static var adapterA: URL { TestPaths.fixture("generation/adapters/llama") }

    final class PortBox: @unchecked Sendable {
        private let lock = NSLock()
        private var value = 0
        var port: Int { lock.withLock { value } }
        func set(_ port: Int) { lock.withLock { value = port } }
    }

    static func start(apiKey: String? = nil, maxBatch: Int = 4, maxQueue: Int = 16, adapterRoot: String? = nil,
                      maxBodyBytes: Int = 4 << 20) async throws -> ServerHarness {
        let loaded = try InferenceModel(folder: chatModel, backend: try CPUBackend())
        let scaled = try scaledAdapter()
        try loaded.adapters.load(name: "a", folder: adapterA)
        try loaded.adapters.load(name: "b", folder: scaled)
        var configuration = ServerConfiguration(modelName: "chat-llama")
        configuration.port = 0
        configuration.apiKey = apiKey
        configuration.maxBodyBytes = maxBodyBytes
        if let adapterRoot { configuration.adapterRoot = try AdapterRoot(folder: adapterRoot) }
        let server = try OpenAIServer(model: loaded, modelPath: chatModel.path, adapters: [("a", adapterA.path), ("b", scaled.path)],
                                      configuration: configuration, maxBatch: maxBatch, maxQueue: maxQueue,
                                      contextLength: loaded.model.config.maxPositionEmbeddings)
        let box = PortBox()
        let task = Task { try await server.run(handleSignals: false) { _, port in box.set(port) } }
        let deadline = Date().addingTimeInterval(60)
        while box.port == 0 && Date() < deadline { try await Task.sleep(nanoseconds: 20_000_000) }
        guard box.port != 0 else {
            task.cancel()
            throw XCTSkip("the server did not start listening within 60 s")
        }
        return ServerHarness(server: server, port: box.port, task: task)
    }

    private init(server: OpenAIServer, port: Int, task: Task<Void, Error>) {
        self.server = server
        self.port = port
        self.task = task
    }

    func stop() async {
        task.cancel()
        _ = await task.result
    }

    /// A copy of the llama fixture adapter with lora_alpha 24 instead of 8.
    static func scaledAdapter() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-serve-adapter-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: adapterA.appendingPathComponent("adapter_model.safetensors"),
                                         to: folder.appendingPathComponent("adapter_model.safetensors"))
        let config = try String(contentsOf: adapterA.appendingPathComponent("adapter_config.json"), encoding: .utf8)
        try config.replacingOccurrences(of: "\"lora_alpha\": 8,", with: "\"lora_alpha\": 24,")
            .write(to: folder.appendingPathComponent("adapter_config.json"), atomically: true, encoding: .utf8)
        return folder
    }

    /// POSTs `json` to `path`; the response and its body as JSON (null when it is not JSON).
    func post(_ path: String, _ json: JSONValue, headers: [String: String] = [:]) throws -> (status: Int, json: JSONValue) {
        let response = try RawHTTPClient.request(port: port, path: path, headers: headers, body: json.bytes(.compact))
        return (response.status, (try? JSONValue(parsing: response.body)) ?? .null)
    }

    func get(_ path: String, headers: [String: String] = [:]) throws -> RawHTTPClient.Response {
        try RawHTTPClient.request(port: port, method: "GET", path: path, headers: headers)
    }

    /// The events of a streamed request: each `data:` payload, in order.
    func stream(_ path: String, _ json: JSONValue) throws -> (status: Int, events: [String]) {
        let client = try RawHTTPClient(port: port)
        client.send(method: "POST", path: path, headers: ["Content-Type": "application/json"], body: json.bytes(.compact))
        let (status, headers) = try client.readHead()
        var text = ""
        while let piece = try client.readChunk(chunked: headers["transfer-encoding"]?.lowercased() == "chunked") {
            text += String(decoding: piece, as: UTF8.self)
        }
        let events = text.components(separatedBy: "\n\n").filter { $0.hasPrefix("data: ") }.map { String($0.dropFirst(6)) }
        return (status, events)
    }

    /// A metric's value from GET /metrics.
    func metric(_ name: String) throws -> Double? {
        let text = try get("/metrics").text
        for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
            return Double(line.split(separator: " ")[1])
        }
        return nil
    }

    /// The greedy answer the library gives alone (the Generator, the adapter active), for comparison.
    static func generatorAnswer(messages: [(String, String)], adapter: String?, tokens: Int) throws -> GenerationResult {
        let loaded = try InferenceModel(folder: chatModel, backend: try CPUBackend())
        try loaded.adapters.load(name: "a", folder: adapterA)
        try loaded.adapters.load(name: "b", folder: try scaledAdapter())
        var p = GenerationParameters()   // OpenAI's defaults are the server's: no generation_config penalties
        p.eosTokenIds = loaded.defaults.eosTokenIds
        p.maxNewTokens = tokens
        let prompt = try loaded.chatPrompt(messages.map { ChatMessage(role: $0.0, content: .string($0.1)) })
        return try loaded.generator.generate(prompts: [prompt], parameters: p, adapter: adapter.map { .named($0) } ?? .base)[0]
    }
}

/// A request body's bytes.
func requestBytes(_ value: JSONValue) -> [UInt8] { value.bytes(.compact) }

extension JSONValue {
    /// Element `index` of an array (nil when this is not an array or too short).
    subscript(index: Int) -> JSONValue? {
        guard let items = arrayValue, items.indices.contains(index) else { return nil }
        return items[index]
    }
}
