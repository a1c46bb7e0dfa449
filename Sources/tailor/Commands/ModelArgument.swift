import Foundation
import TailorHub
import TailorModels

/// What every `--model` (and `model_name_or_path`) accepts: an existing path (a model folder, or a .gguf file imported
/// once), else a hub id ORG/NAME, taken from the hub cache and downloaded into it when missing; with HF_HUB_OFFLINE=1
/// only the cache is used. A local path always wins over an id of the same spelling.
enum ModelArgument {
    /// The files of a model repository Tailor reads (weights, config, tokenizer, template); the rest stays on the hub.
    static let modelFiles = ["*.json", "*.safetensors", "*.txt", "*.model", "*.jinja", "*.tiktoken"]

    /// The snapshot folder for a hub id, or nil when `spec` is a local path or does not look like an id.
    static func hubFolder(for spec: String, revision: String = "main") async throws -> URL? {
        guard !FileManager.default.fileExists(atPath: spec), looksLikeHubID(spec) else { return nil }
        let id = try RepoID(spec)
        let progress = DownloadProgress(quiet: false)
        let snapshot = try await HubDownloader(settings: HubSettings.fromEnvironment(), events: { progress.handle($0) })
            .download(id, revision: revision, include: modelFiles, requireConfig: true)
        progress.finish()
        printError("model: \(id) at commit \(snapshot.commit) (\(snapshot.folder.path))")
        return snapshot.folder
    }

    static func folder(for spec: String) async throws -> URL {
        if let folder = try await hubFolder(for: spec) { return folder }
        return try GGUFImport.modelFolder(for: spec)
    }

    /// One `/` between two non-empty parts, not a path spelled relative to here or home, not a .gguf file.
    static func looksLikeHubID(_ spec: String) -> Bool {
        let parts = spec.split(separator: "/", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && !parts[1].isEmpty && ![".", "..", "~"].contains(parts[0]) && !spec.hasSuffix(".gguf")
    }
}
