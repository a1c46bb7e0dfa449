import ArgumentParser
import Foundation
import TailorBoard
import TailorInference
import TailorModels
import TailorServer

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a model and its LoRA adapters over an OpenAI-compatible HTTP API.",
        discussion: """
        Endpoints as OpenAI and vLLM name them: POST /v1/chat/completions and /v1/completions
        (streaming with "stream": true), GET /v1/models, POST /v1/load_lora_adapter and
        /v1/unload_lora_adapter (only with --adapter-root), GET /health and GET /metrics (Prometheus).
        A request picks an adapter by giving its name as "model"; the base answers to --served-model-name.
        Concurrent requests share decode steps (continuous batching), each row with its own adapter.
        SIGTERM or Ctrl-C stops accepting connections, lets running requests finish, then exits.
        """
    )

    @Option(help: "Hugging Face model folder, or a .gguf file (imported once into ~/.cache/tailor), or a hub id ORG/NAME (from the Hugging Face cache, downloaded into it when missing).")
    var model: String

    @Option(name: .customLong("adapter"), help: "A LoRA adapter to serve, as NAME=DIR (repeatable). Default: none.")
    var adapters: [String] = []

    @Option(help: "Allow POST /v1/load_lora_adapter for folders inside this one (names and paths cannot leave it). Default: runtime loading off.")
    var adapterRoot: String?

    @Option(help: "Address to listen on. Default: 127.0.0.1 (this machine only); 0.0.0.0 listens on every interface.")
    var host = "127.0.0.1"

    @Option(parsing: .unconditional, help: "Port to listen on; 0 picks a free one.")
    var port = 8000

    @Option(help: "Clients must send 'Authorization: Bearer KEY' on /v1 routes. Default: $TAILOR_API_KEY, else no key.")
    var apiKey: String?

    @Option(parsing: .unconditional, help: "Requests (rows) decoded together.")
    var maxBatch = 8

    @Option(parsing: .unconditional, help: "Rows that may wait for a batch slot; beyond it requests get 429.")
    var maxQueue = 64

    @Flag(inversion: .prefixedNo, help: "Keep a finished request's keys and values in its slot, so a later prompt with the same prefix (system prompt, earlier turns) and adapter prefills only the rest, as vLLM's prefix caching.")
    var enablePrefixCaching = true

    @Option(parsing: .unconditional, help: "Positions per request, prompt and answer together (the KV cache holds --max-batch of them). Default: the model's max_position_embeddings, at most 4096.")
    var maxModelLen: Int?

    @Option(parsing: .unconditional, help: "Most tokens one engine step runs: each decoding request's next token, then chunks of the prompts being prefilled in what is left (chunked prefill; vLLM's name). Larger uses the products better; smaller keeps a long prompt from delaying the other streams' tokens.")
    var maxNumBatchedTokens = 256

    @Option(parsing: .unconditional, help: "Largest request body in bytes; larger ones get 413.")
    var maxBodyBytes = 4 << 20

    @Option(help: "The name of the base model in requests and /v1/models. Default: the --model argument.")
    var servedModelName: String?

    @Option(help: "Also serve the runs board (tailor board) of this folder of runs at /runs/. Default: none.")
    var runs: String?

    @OptionGroup var compute: DeviceOptions

    @OptionGroup var hub: HubOptions

    func validate() throws {
        guard maxBatch > 0 else { throw ValidationError("--max-batch must be ≥ 1 (got \(maxBatch))") }
        guard maxNumBatchedTokens > 0 else { throw ValidationError("--max-num-batched-tokens must be ≥ 1 (got \(maxNumBatchedTokens))") }
        guard maxQueue >= 0 else { throw ValidationError("--max-queue must be ≥ 0 (got \(maxQueue))") }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be from 0 to 65535 (got \(port))") }
        guard maxBodyBytes > 0 else { throw ValidationError("--max-body-bytes must be ≥ 1 (got \(maxBodyBytes))") }
        if let maxModelLen, maxModelLen < 2 { throw ValidationError("--max-model-len must be ≥ 2 (got \(maxModelLen))") }
        for pair in adapters { _ = try Self.adapterPair(pair) }
    }

    static func adapterPair(_ pair: String) throws -> (name: String, folder: String) {
        guard let eq = pair.firstIndex(of: "="), eq != pair.startIndex, pair.index(after: eq) != pair.endIndex else {
            throw ValidationError("--adapter '\(pair)' is not NAME=DIR (e.g. --adapter zhenhuan=runs/zhenhuan/adapter)")
        }
        let name = String(pair[..<eq])
        do { try AdapterRoot.checkName(name) } catch { throw ValidationError("--adapter '\(pair)': \(error)") }
        return (name, String(pair[pair.index(after: eq)...]))
    }

    func run() async throws {
        let (backend, deviceNote) = try compute.backend(batchInvariant: true)
        if let deviceNote { note(deviceNote) }
        let loaded = try DeviceOptions.inferenceModel(folder: try await ModelArgument.folder(for: model, hub: hub), backend: backend)
        var served: [(name: String, folder: String)] = []
        for pair in adapters {
            let (name, folder) = try Self.adapterPair(pair)
            if let refusal = OpenAIServer.unbatchedRefusal(name, folder: URL(fileURLWithPath: folder)) { throw ValidationError("--adapter \(name): " + refusal) }
            try loaded.adapters.load(name: name, folder: URL(fileURLWithPath: folder))
            guard loaded.adapters.adapterSet.canBatchPerRow(name) else {
                throw ValidationError("--adapter \(name): it trains full tensors (bias or modules_to_save), which cannot differ between the rows of a batch; merge it with `tailor merge` and serve the merged folder")
            }
            served.append((name, URL(fileURLWithPath: folder).standardizedFileURL.path))
        }
        var configuration = ServerConfiguration(modelName: servedModelName ?? model)
        configuration.host = host
        configuration.port = port
        configuration.prefixCaching = enablePrefixCaching
        configuration.maxNumBatchedTokens = maxNumBatchedTokens
        configuration.apiKey = apiKey ?? ProcessInfo.processInfo.environment["TAILOR_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        configuration.maxBodyBytes = maxBodyBytes
        if let adapterRoot { configuration.adapterRoot = try AdapterRoot(folder: adapterRoot) }
        let context = min(loaded.model.config.maxPositionEmbeddings, maxModelLen ?? 4096)
        let server = try OpenAIServer(model: loaded, modelPath: loaded.folder.path, adapters: served, configuration: configuration,
                                      maxBatch: maxBatch, maxQueue: maxQueue, contextLength: context)
        if let runs {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: runs, isDirectory: &isFolder), isFolder.boolValue else {
                throw ValidationError("--runs \(runs): no such folder")
            }
            let board = RunsBoard(folders: [URL(fileURLWithPath: runs)]) { try RunsCommand.settings(of: $0) }
            server.mounts.append { router in board.addRoutes(to: router, prefix: "/runs") }
        }
        let name = configuration.modelName
        let summary = "model \(name)\(served.isEmpty ? "" : ", adapters \(served.map(\.name).joined(separator: ", "))"); batch \(maxBatch), queue \(maxQueue), context \(context)\(DeviceOptions.productsNote(backend).map { "; " + $0 } ?? "")"
        try await server.run(handleSignals: true) { host, port in
            note("tailor serve: listening on http://\(host):\(port) (\(summary))")
        }
        note("tailor serve: stopped")
    }
}
