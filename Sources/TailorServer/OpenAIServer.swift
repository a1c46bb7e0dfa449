import Foundation
import Hummingbird
import TailorInference
import TailorJSON
import TailorModels

/// How `tailor serve` listens and what it allows.
public struct ServerConfiguration: Sendable {
    /// Address to bind; 127.0.0.1 unless told otherwise.
    public var host = "127.0.0.1"
    /// Port; 0 picks a free one (tests).
    public var port = 8000
    /// Clients must send `Authorization: Bearer <key>` on /v1 routes; nil = no key.
    public var apiKey: String?
    /// Largest request body in bytes (413 above).
    public var maxBodyBytes = 4 << 20
    /// The name clients give as `model` for the base (vLLM's served model name).
    public var modelName: String
    /// Runtime adapter loading's root; nil = /v1/load_lora_adapter is refused.
    public var adapterRoot: AdapterRoot?
    /// A finished request's slot keeps its keys and values for a later prompt with the same prefix and adapter
    /// (vLLM's enable_prefix_caching).
    public var prefixCaching = true
    /// Most tokens one engine step runs: every decoding row's token, then prompt chunks in what is left (vLLM's
    /// max_num_batched_tokens, with chunked prefill).
    public var maxNumBatchedTokens = 256

    public init(modelName: String) { self.modelName = modelName }
}

/// The OpenAI-compatible HTTP server: /v1/chat/completions, /v1/completions, /v1/models,
/// /v1/load_lora_adapter, /v1/unload_lora_adapter, /health, /metrics and the chat page at /, on Hummingbird, with
/// generation on an `Engine` (continuous batching, one adapter per row).
public final class OpenAIServer: @unchecked Sendable {
    public let model: InferenceModel
    public let engine: Engine
    public let configuration: ServerConfiguration
    public let metrics = Metrics()
    /// Where the base was loaded from (`root` in /v1/models).
    public let modelPath: String
    let created = Int(Date().timeIntervalSince1970)  // allowed: whole seconds since 1970 fit Int
    private let lock = NSLock()
    /// Served adapters: name → folder, in load order.
    private var adapterFolders: [(name: String, folder: String)] = []
    /// More routes to serve beside the API (e.g. `tailor serve --runs DIR`'s runs board under /runs):
    /// each adds its own to the router. Set before `run`.
    public var mounts: [@Sendable (Router<ServeRequestContext>) -> Void] = []

    /// A server for `model` (its adapters already loaded, named in `adapters` with their folders),
    /// with `maxBatch` rows decoded together, each of up to `contextLength` positions, and up to
    /// `maxQueue` rows waiting.
    /// - Throws: `InferenceError` when the KV cache cannot be allocated.
    public init(model: InferenceModel, modelPath: String, adapters: [(name: String, folder: String)], configuration: ServerConfiguration,
                maxBatch: Int, maxQueue: Int, contextLength: Int) throws {
        self.model = model
        self.modelPath = modelPath
        self.configuration = configuration
        adapterFolders = adapters
        let decoder: BatchDecoder
        do {
            decoder = try BatchDecoder(model: model.model, tokenizer: model.tokenizer.tokenizer, adapters: model.adapters,
                                       slots: maxBatch, capacity: contextLength)
            decoder.prefixCaching = configuration.prefixCaching
            decoder.maxStepTokens = configuration.maxNumBatchedTokens
        } catch let error as ModelError {
            throw InferenceError.model(error, during: "allocating the KV cache (\(maxBatch) rows × \(contextLength) positions; lower --max-batch or --max-model-len)")
        }
        engine = Engine(decoder: decoder, maxQueue: maxQueue)
    }

    /// Positions per request (prompt + answer).
    public var contextLength: Int { engine.decoder.capacity }

    /// Adapter names served, in load order.
    public var adapterNames: [String] { lock.withLock { adapterFolders.map(\.name) } }

    func adapterFolder(_ name: String) -> String? { lock.withLock { adapterFolders.first { $0.name == name }?.folder } }

    func setAdapter(_ name: String, folder: String?) {
        lock.withLock {
            adapterFolders.removeAll { $0.name == name }
            if let folder { adapterFolders.append((name, folder)) }
        }
    }

    /// Runs until cancelled or, with `handleSignals`, until SIGTERM / SIGINT: then it stops
    /// accepting connections, lets in-flight requests finish, and returns.
    /// `onListening` gets the bound host and port once the socket listens.
    public func run(handleSignals: Bool, onListening: @escaping @Sendable (String, Int) async -> Void = { _, _ in }) async throws {
        engine.start()
        defer { engine.shutdown() }
        let host = configuration.host
        let app = Application(
            router: makeRouter(),
            configuration: .init(address: .hostname(host, port: configuration.port), serverName: "tailor"),
            onServerRunning: { channel in await onListening(host, channel.localAddress?.port ?? 0) })
        if handleSignals { try await app.runService() } else { try await app.run() }
    }

    func makeRouter() -> Router<ServeRequestContext> {
        let router = Router(context: ServeRequestContext.self)
        router.add(middleware: OpenAIGuard(server: self))
        router.get("/health") { _, _ in Response(status: .ok) }
        router.get("/") { _, _ in
            guard let page = WebPage.index else {
                throw ServerError.notFound(method: "GET", path: "/ (the chat page's files, \(WebPage.resourceFolder), are not beside the tailor binary)")
            }
            return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(bytes: page)))
        }
        router.get("/metrics") { [self] _, _ in
            let text = metrics.prometheusText(waiting: engine.queueDepth, running: engine.runningCount, prefixCache: engine.prefixCacheCounts)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        router.get("/v1/models") { [self] _, _ in Self.json(modelList()) }
        router.post("/v1/chat/completions") { [self] request, context in try await generate(request, chat: true, connection: context.channel) }
        router.post("/v1/completions") { [self] request, context in try await generate(request, chat: false, connection: context.channel) }
        router.post("/v1/load_lora_adapter") { [self] request, _ in try await loadAdapter(request) }
        router.post("/v1/unload_lora_adapter") { [self] request, _ in try await unloadAdapter(request) }
        for mount in mounts { mount(router) }
        return router
    }

    /// GET /v1/models: the base, then each adapter with `parent` the base and `root` its folder, as vLLM lists them.
    func modelList() -> JSONValue {
        func entry(_ id: String, root: String, parent: String?) -> JSONValue {
            ["id": .string(id), "object": "model", "created": .int(created), "owned_by": "tailor", "root": .string(root),
             "parent": parent.map(JSONValue.string) ?? .null, "max_model_len": .int(contextLength)]
        }
        let base = configuration.modelName
        let adapters = lock.withLock { adapterFolders }
        return ["object": "list", "data": .array([entry(base, root: modelPath, parent: nil)] + adapters.map { entry($0.name, root: $0.folder, parent: base) })]
    }

    /// The adapter a request's `model` names: nil for the base.
    /// - Throws: `ServerError.unknownModel`.
    func adapter(forModel name: String) throws -> String? {
        if name == configuration.modelName { return nil }
        let names = adapterNames
        guard names.contains(name) else { throw ServerError.unknownModel(name, available: [configuration.modelName] + names) }
        return name
    }

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(bytes: value.bytes(.compact))))
    }

    static func error(_ error: ServerError) -> Response {
        json(error.json, status: HTTPResponse.Status(code: error.status))
    }

    /// The body's bytes, at most `maxBodyBytes`.
    func body(_ request: Request) async throws -> [UInt8] {
        do {
            let buffer = try await request.body.collect(upTo: configuration.maxBodyBytes)
            return Array(buffer.readableBytesView)
        } catch let error as HTTPResponseError where error.status == .contentTooLarge {
            throw ServerError.bodyTooLarge(limit: configuration.maxBodyBytes)
        }
    }
}

/// Checks the API key on /v1 routes (compared in constant time), answers every error as an
/// OpenAI error object, and counts responses by status.
struct OpenAIGuard: RouterMiddleware {
    typealias Context = ServeRequestContext
    let server: OpenAIServer

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let response: Response
        if let key = server.configuration.apiKey, request.uri.path.hasPrefix("/v1/"),
           !Self.authorized(request.headers[.authorization], key: key) {
            response = OpenAIServer.error(.unauthorized)
        } else {
            do {
                response = try await next(request, context)
            } catch let error as ServerError {
                response = OpenAIServer.error(error)
            } catch let error as HTTPResponseError {
                switch error.status {
                case .notFound: response = OpenAIServer.error(.notFound(method: "\(request.method)", path: request.uri.path))
                case .contentTooLarge: response = OpenAIServer.error(.bodyTooLarge(limit: server.configuration.maxBodyBytes))
                case .methodNotAllowed: response = OpenAIServer.error(.notFound(method: "\(request.method)", path: request.uri.path))
                default: response = OpenAIServer.error(.invalidValue(param: "(request)", problem: "was refused: \(error.status)"))
                }
            } catch {
                response = OpenAIServer.error(.internalError("\(error)"))
            }
        }
        server.metrics.response(status: response.status.code)
        return response
    }

    /// `Bearer <key>` compared with the key in time that does not depend on where they differ.
    static func authorized(_ header: String?, key: String) -> Bool {
        let expected = Array(("Bearer " + key).utf8)
        let given = Array((header ?? "").utf8)
        var difference: UInt8 = given.count == expected.count ? 0 : 1
        for i in expected.indices { difference |= expected[i] ^ (i < given.count ? given[i] : 0) }
        return difference == 0
    }
}
