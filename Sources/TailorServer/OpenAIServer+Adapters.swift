import Foundation
import Hummingbird
import TailorInference
import TailorJSON

/// POST /v1/load_lora_adapter and /v1/unload_lora_adapter (vLLM's runtime LoRA loading), only
/// with `--adapter-root` and only for folders inside it.
extension OpenAIServer {
    func loadAdapter(_ http: Request) async throws -> Response {
        guard let root = configuration.adapterRoot else {
            throw ServerError.adapterRefused("runtime adapter loading is off; start `tailor serve` with --adapter-root DIR to allow loading adapters from folders inside DIR")
        }
        let f = try Self.fields(try await body(http))
        let name = try f.string("lora_name", required: true) ?? ""
        try AdapterRoot.checkName(name)
        guard name != configuration.modelName else { throw ServerError.adapterRefused("adapter name '\(name)' is the base model's name; pick another") }
        let folder = try root.resolve(try f.string("lora_path") ?? name)
        guard adapterFolder(name) == nil else {
            throw ServerError.adapterRefused("an adapter named '\(name)' is already loaded; unload it first (POST /v1/unload_lora_adapter)")
        }
        let library = model.adapters
        if let refusal = Self.unbatchedRefusal(name, folder: folder) { throw ServerError.adapterRefused(refusal) }
        try await engine.perform {
            do { try library.load(name: name, folder: folder) } catch {
                throw ServerError.adapterRefused("cannot load adapter '\(name)' from \(folder.path): \(error)")
            }
            guard library.adapterSet.canBatchPerRow(name) else {
                try? library.adapterSet.deleteAdapter(name)
                throw ServerError.adapterRefused("adapter '\(name)' trains full tensors (bias or modules_to_save), which cannot differ between rows of a batch; merge it with `tailor merge` and serve the merged model")
            }
        }
        setAdapter(name, folder: folder.path)
        return Response(status: .ok, headers: [.contentType: "text/plain"],
                        body: .init(byteBuffer: ByteBuffer(string: "Success: LoRA adapter '\(name)' added successfully.")))
    }

    func unloadAdapter(_ http: Request) async throws -> Response {
        guard configuration.adapterRoot != nil else {
            throw ServerError.adapterRefused("runtime adapter unloading is off; start `tailor serve` with --adapter-root DIR to allow it")
        }
        let f = try Self.fields(try await body(http))
        let name = try f.string("lora_name", required: true) ?? ""
        guard adapterFolder(name) != nil else { throw ServerError.unknownModel(name, available: [configuration.modelName] + adapterNames) }
        let library = model.adapters
        let engine = self.engine
        try await engine.perform {
            guard !engine.uses(adapter: name) else {
                throw ServerError.adapterRefused("adapter '\(name)' is in use by queued or running requests; unload it when they have finished")
            }
            try library.adapterSet.deleteAdapter(name)
        }
        setAdapter(name, folder: nil)
        return Response(status: .ok, headers: [.contentType: "text/plain"],
                        body: .init(byteBuffer: ByteBuffer(string: "Success: LoRA adapter '\(name)' removed successfully.")))
    }

    static func fields(_ body: [UInt8]) throws -> Fields {
        let value: JSONValue
        do { value = try JSONValue(parsing: body, options: .strict) } catch {
            throw ServerError.malformedJSON("line \(error.line), column \(error.column): \(error.reason)")
        }
        guard let object = value.objectValue else { throw ServerError.wrongType(param: "(body)", expected: "a JSON object", got: value.typeName) }
        return Fields(object: object)
    }
}

extension OpenAIServer {
    /// Why `tailor serve` does not take the adapter in `folder` (IA³ and prompt tuning act on the whole
    /// model, not per row of a batch); nil when it may.
    public static func unbatchedRefusal(_ name: String, folder: URL) -> String? {
        if AdapterLibrary.isIA3(folder: folder) {
            return "adapter '\(name)' is an IA³ adapter (peft_type IA3), which scales the layers themselves, so it cannot differ between the rows of a batch as LoRA adapters do; merge it with `tailor merge` and serve the merged folder, or use it with `tailor generate` / `tailor chat --adapter`"
        }
        if AdapterLibrary.isPromptTuning(folder: folder) {
            return "adapter '\(name)' is a prompt- or prefix-tuning adapter (virtual tokens before every sequence), which batched serving does not take (its rows share one layout of the KV cache); use it with `tailor generate` / `tailor chat --adapter`"
        }
        return nil
    }
}
