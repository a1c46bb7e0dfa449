import Foundation
import TailorDigest

extension HubSettings {
    /// ModelScope (modelscope.cn), the second source, as its `modelscope` client (1.40, on modelscope_hub 0.5) reads
    /// its environment: `MODELSCOPE_ENDPOINT`, else the deprecated `MODELSCOPE_DOMAIN` (a host; https:// is added),
    /// else https://modelscope.cn; the token `MODELSCOPE_API_TOKEN`; the cache `MODELSCOPE_CACHE`, else
    /// ~/.cache/modelscope; 4 files at once (the client's max_workers). ModelScope names no offline variable:
    /// `--offline` (or HF_HUB_OFFLINE=1, Tailor's one switch) keeps to the cache.
    public static func modelScope(_ env: [String: String] = ProcessInfo.processInfo.environment) -> HubSettings {
        let home = env["HOME"] ?? NSHomeDirectory()
        func expand(_ path: String) -> String { path.hasPrefix("~/") ? home + path.dropFirst(1) : path }
        var endpoint = [env["MODELSCOPE_ENDPOINT"], env["MODELSCOPE_DOMAIN"]].compactMap { $0?.trimmingCharacters(in: .whitespaces) }
            .first { !$0.isEmpty } ?? "https://modelscope.cn"
        if !endpoint.contains("://") { endpoint = "https://" + endpoint }
        while endpoint.hasSuffix("/") { endpoint.removeLast() }
        let cache = expand(env["MODELSCOPE_CACHE"].flatMap { $0.isEmpty ? nil : $0 } ?? home + "/.cache/modelscope")
        var settings = HubSettings(endpoint: endpoint, token: env["MODELSCOPE_API_TOKEN"].flatMap { $0.isEmpty ? nil : $0 },
                                   offline: isTrue(env["HF_HUB_OFFLINE"]), cacheDirectory: URL(fileURLWithPath: cache, isDirectory: true))
        settings.parallelFiles = 4
        return settings
    }
}

/// ModelScope's cache, as modelscope_hub 0.5 writes it:
/// - `<cache>/models/<owner>--<name>/snapshots/<revision>/<path>`: the files themselves (no blobs, no links), the
///   snapshot named by the revision asked for (`master` by default), not by a commit;
/// - `<path>.incomplete` beside the file while it downloads;
/// - `<cache>/.lock/file_<sha256 of "modelscope-hub-download-lock-v2\0file\0model\0<owner/name>\0<path>">.lock`, taken
///   with flock (Python's filelock), so Tailor and the modelscope client never write one file at once.
/// The older clients' layout (<= 1.37), `<cache>/models/<owner>/<name>` with each `.` of the name as `___` (and under
/// `<cache>/hub/` when MODELSCOPE_CACHE was not set), is used instead when it holds the repository, as the client does.
public struct ModelScopeCache: Sendable {
    public let root: URL
    public let repo: RepoID

    public init(root: URL, repo: RepoID) {
        self.root = root
        self.repo = repo
    }

    public var folder: URL { root.appendingPathComponent(repo.kind.plural).appendingPathComponent("\(repo.org)--\(repo.name)") }

    public func snapshot(_ revision: String) -> URL { folder.appendingPathComponent("snapshots").appendingPathComponent(revision) }

    /// The older clients' folder for the repository, when one exists and is not empty.
    public var legacyFolder: URL? {
        let name = repo.name.replacingOccurrences(of: ".", with: "___")
        for base in [root, root.appendingPathComponent("hub")] {
            let candidate = base.appendingPathComponent(repo.kind.plural).appendingPathComponent(repo.org).appendingPathComponent(name)
            if let entries = try? FileManager.default.contentsOfDirectory(atPath: candidate.path), !entries.isEmpty { return candidate }
        }
        return nil
    }

    /// Where the files of `revision` go: the legacy folder when there is one, else the revision's snapshot.
    public func files(_ revision: String) -> URL { legacyFolder ?? snapshot(revision) }

    public func lock(_ path: String) -> URL {
        let key = ["modelscope-hub-download-lock-v2", "file", repo.kind.rawValue, repo.id, path].joined(separator: "\u{0}")
        return root.appendingPathComponent(".lock").appendingPathComponent("file_\(SHA256.hex(Array(key.utf8))).lock")
    }

    public static func incomplete(_ target: URL) -> URL {
        target.deletingLastPathComponent().appendingPathComponent(target.lastPathComponent + ".incomplete")
    }
}
