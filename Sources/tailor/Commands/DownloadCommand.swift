import ArgumentParser
import Foundation
import TailorHub

struct DownloadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "download",
        abstract: "Download a model or dataset repository from the Hugging Face hub (or ModelScope) into its cache (the one transformers reads).",
        discussion: """
        Writes huggingface_hub's cache exactly (models--ORG--NAME/blobs, refs, snapshots;
        the same .locks, so it never writes a blob huggingface_hub is writing), so
        transformers and huggingface_hub find the files offline, and Tailor finds theirs.
        Prints the snapshot folder; every --model option takes the id as well.

        Files download in parallel; a partial file (blobs/<etag>.incomplete) is resumed
        with a Range request; sizes and LFS sha256 are checked (a mismatch deletes the
        file and says so); 5xx answers and dropped connections are retried with backoff.
        A model repository must have config.json unless --include is given.

        Environment, as huggingface_hub reads it: HF_ENDPOINT (default
        https://huggingface.co), HF_TOKEN (or the file $HF_HOME/token), HF_HUB_OFFLINE=1
        (the same as --offline), HF_HUB_CACHE, else $HF_HOME/hub, else
        ~/.cache/huggingface/hub.

        --source modelscope downloads from ModelScope into the modelscope client's
        cache instead: models/ORG--NAME/snapshots/<revision>/ (the files themselves,
        the revision's name as given; the older models/ORG/NAME layout is used when
        it holds the repository), its .lock/ files taken with flock, each file
        checked against the listing's size and sha256. The revision defaults to
        master there. Environment: MODELSCOPE_ENDPOINT (default
        https://modelscope.cn), MODELSCOPE_API_TOKEN, MODELSCOPE_CACHE (default
        ~/.cache/modelscope). USE_MODELSCOPE_HUB=1 makes every --model id come from
        ModelScope, as in LLaMA-Factory.
        """
    )

    @Argument(help: "The repository: ORG/NAME, for example HuggingFaceTB/SmolLM2-135M-Instruct.")
    var repo: String

    @Option(help: "Branch, tag or commit hash. Default: main (master with --source modelscope).")
    var revision: String?

    @Option(help: "Download only files matching this glob (fnmatch, as huggingface_hub's allow_patterns; `*` crosses folders). Repeatable.")
    var include: [String] = []

    @Option(help: "Skip files matching this glob (as huggingface_hub's ignore_patterns). Repeatable.")
    var exclude: [String] = []

    @Option(name: .customLong("repo-type"), help: "model or dataset.")
    var repoType: String = "model"

    @Option(help: "Where from: hf (the Hugging Face hub, or HF_ENDPOINT) or modelscope (ModelScope, or MODELSCOPE_ENDPOINT).")
    var source: String = "hf"

    @Flag(help: "Do not use the network: print the cached snapshot or fail (as HF_HUB_OFFLINE=1). Default: off.")
    var offline = false

    @Option(name: .customLong("cache-dir"), help: "The cache folder. Default: HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub (modelscope: MODELSCOPE_CACHE, else ~/.cache/modelscope).")
    var cacheDir: String?

    @Flag(help: "No progress bar. Default: a bar on standard error when it is a terminal, else a line per file.")
    var quiet = false

    func validate() throws {
        guard RepoID.Kind(rawValue: repoType) != nil else { throw ValidationError("--repo-type must be model or dataset, not '\(repoType)'") }
        guard source == "hf" || source == "modelscope" else { throw ValidationError("--source must be hf or modelscope, not '\(source)'") }
    }

    func run() async throws {
        if source == "modelscope" { return try await runModelScope() }
        let revision = self.revision ?? "main"
        var settings = HubSettings.fromEnvironment()
        if offline { settings.offline = true }
        if let cacheDir { settings.cacheDirectory = URL(fileURLWithPath: cacheDir, isDirectory: true) }
        let kind = RepoID.Kind(rawValue: repoType) ?? .model
        let id = try RepoID(repo, kind: kind)
        let progress = DownloadProgress(quiet: quiet)
        let snapshot = try await HubDownloader(settings: settings, events: { progress.handle($0) })
            .download(id, revision: revision, include: include, exclude: exclude, requireConfig: include.isEmpty)
        progress.finish()
        print(snapshot.folder.path)
    }

    func runModelScope() async throws {
        var settings = HubSettings.modelScope()
        if offline { settings.offline = true }
        if let cacheDir { settings.cacheDirectory = URL(fileURLWithPath: cacheDir, isDirectory: true) }
        let id = try RepoID(repo, kind: RepoID.Kind(rawValue: repoType) ?? .model)
        let progress = DownloadProgress(quiet: quiet)
        let snapshot = try await ModelScopeDownloader(settings: settings, events: { progress.handle($0) })
            .download(id, revision: revision ?? "master", include: include, exclude: exclude, requireConfig: include.isEmpty)
        progress.finish()
        print(snapshot.folder.path)
    }
}
