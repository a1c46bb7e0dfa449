import ArgumentParser
import Foundation
import TailorHub
import TailorModels

/// `--offline` and `--revision`, for every command whose --model may be a hub id.
struct HubOptions: ParsableArguments {
    @Flag(help: "Never touch the network: a hub id --model must already be in the Hugging Face cache (as HF_HUB_OFFLINE=1).")
    var offline = false

    @Option(help: "The hub revision (branch, tag or commit) of a hub id --model.")
    var revision = "main"
}

/// What every `--model` (and `model_name_or_path`) accepts: an existing path (a model folder, or a .gguf file imported
/// once), else a hub id ORG/NAME, taken from the hub cache and downloaded into it when missing; with --offline or
/// HF_HUB_OFFLINE=1 only the cache is used. A local path always wins over an id of the same spelling.
/// With USE_MODELSCOPE_HUB=1 (LLaMA-Factory's switch) ids come from ModelScope and its cache instead.
enum ModelArgument {
    /// The files of a model repository Tailor reads (weights, config, tokenizer, template); the rest stays on the hub.
    static let modelFiles = ["*.json", "*.safetensors", "*.txt", "*.model", "*.jinja", "*.tiktoken"]
    /// The files of a dataset repository Tailor reads (the data formats `tailor train` takes).
    static let datasetFiles = ["*.json", "*.jsonl", "*.csv", "*.tsv"]

    /// The snapshot folder for a hub id, or nil when `spec` is a local path or does not look like an id.
    static func hubFolder(for spec: String, revision: String = "main", offline: Bool = false) async throws -> URL? {
        guard !FileManager.default.fileExists(atPath: spec), looksLikeHubID(spec) else { return nil }
        let id = try RepoID(spec)
        let snapshot = try await download(id, revision: revision, include: modelFiles, offline: offline, requireConfig: true)
        printError("model: \(id) at \(snapshot.commit == snapshot.revision ? "revision" : "commit") \(snapshot.commit) (\(snapshot.folder.path))")
        return snapshot.folder
    }

    static func folder(for spec: String, hub: HubOptions = HubOptions()) async throws -> URL {
        if let folder = try await hubFolder(for: spec, revision: hub.revision, offline: hub.offline) { return folder }
        return try GGUFImport.modelFolder(for: spec)
    }

    /// The data files of a hub dataset id (a dataset repository of JSON, JSON Lines or CSV files, fetched into the hub
    /// cache), or nil when `spec` is a local path or no id. When some file names say a split (train, test, validation,
    /// dev, eval), the training split's files, as the datasets library picks them.
    /// - Throws: `ValidationError` for a repository with no file Tailor reads (parquet is not read yet), and the hub's errors.
    static func datasetFiles(for spec: String, revision: String = "main", offline: Bool = false) async throws -> [String]? {
        let dataExtensions = ["json", "jsonl", "csv", "tsv", "txt"]
        guard !FileManager.default.fileExists(atPath: spec), looksLikeHubID(spec), !spec.contains("*"),
              !dataExtensions.contains((spec as NSString).pathExtension.lowercased()) else { return nil }
        let id = try RepoID(spec, kind: .dataset)
        let snapshot: Snapshot
        do {
            snapshot = try await download(id, revision: revision, include: datasetFiles, offline: offline, requireConfig: false)
        } catch HubError.nothingMatched {
            throw ValidationError("dataset \(id): the repository has no .json, .jsonl, .csv or .tsv file, which is what Tailor reads "
                + "(datasets stored as parquet are not read yet: convert them to JSON Lines, e.g. with datasets' to_json, and pass the file)")
        }
        let files = trainingSplit(snapshot.files)
        printError("dataset: \(id) at commit \(snapshot.commit): \(files.joined(separator: ", "))")
        return files.map { snapshot.folder.appendingPathComponent($0).path }
    }

    /// The training split of a repository's data files: those whose name says train when any name says a split, else all.
    static func trainingSplit(_ files: [String]) -> [String] {
        func words(_ path: String) -> Set<String> {
            Set(path.lowercased().split { !$0.isLetter }.map(String.init))
        }
        let splits: Set<String> = ["train", "training", "test", "testing", "validation", "valid", "val", "dev", "eval", "evaluation"]
        guard files.contains(where: { !words($0).isDisjoint(with: splits) }) else { return files }
        let train = files.filter { !words($0).isDisjoint(with: ["train", "training"]) }
        return train.isEmpty ? files : train
    }

    static func download(_ id: RepoID, revision: String, include: [String], offline: Bool, requireConfig: Bool) async throws -> Snapshot {
        let progress = DownloadProgress(quiet: false)
        defer { progress.finish() }
        if usesModelScope() {
            var settings = HubSettings.modelScope()
            if offline { settings.offline = true }
            // LLaMA-Factory's rule: the hub's default branch "main" is ModelScope's "master".
            return try await ModelScopeDownloader(settings: settings, events: { progress.handle($0) })
                .download(id, revision: revision == "main" ? "master" : revision, include: include, requireConfig: requireConfig)
        }
        var settings = HubSettings.fromEnvironment()
        if offline { settings.offline = true }
        return try await HubDownloader(settings: settings, events: { progress.handle($0) })
            .download(id, revision: revision, include: include, requireConfig: requireConfig)
    }

    /// Hub ids come from ModelScope when USE_MODELSCOPE_HUB is 1 / true / yes / on, as LLaMA-Factory reads it.
    static func usesModelScope(_ env: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        ["1", "TRUE", "YES", "ON", "Y"].contains((env["USE_MODELSCOPE_HUB"] ?? "").uppercased())
    }

    /// One `/` between two non-empty parts, not a path spelled relative to here or home, not a .gguf file.
    static func looksLikeHubID(_ spec: String) -> Bool {
        let parts = spec.split(separator: "/", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && !parts[1].isEmpty && ![".", "..", "~"].contains(parts[0]) && !spec.hasSuffix(".gguf")
    }
}
