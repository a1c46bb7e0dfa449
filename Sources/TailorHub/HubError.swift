/// Everything TailorHub throws. Each case names the repository, file, URL or path involved and says what to do.
public enum HubError: Error, Equatable, CustomStringConvertible {
    /// The id is not `ORG/NAME` (one `/`, both parts of letters, digits, `-`, `_`, `.`).
    case invalidRepoID(String)
    /// The hub answered 404 (or 401 without a token) for the repository itself.
    case repoNotFound(repo: String, url: String, hadToken: Bool)
    /// The repository exists but has no such branch, tag or commit.
    case revisionNotFound(repo: String, revision: String)
    /// The repository and revision exist but not this file.
    case entryNotFound(repo: String, revision: String, file: String)
    /// 401/403 on a repository the hub says exists (gated, or the token is refused).
    case unauthorized(repo: String, url: String, status: Int, hadToken: Bool)
    /// Offline (`--offline` or HF_HUB_OFFLINE=1) and the cache lacks what was asked.
    case notCached(repo: String, revision: String, cache: String, missing: [String])
    /// Downloaded bytes disagree with what the hub promised; the partial blob was deleted.
    case sizeMismatch(file: String, expected: Int64, received: Int64, deleted: String)
    case hashMismatch(file: String, expected: String, actual: String, deleted: String)
    /// A status the client does not retry (or still failing after the retries).
    case http(status: Int, url: String, message: String)
    /// The connection failed after every retry.
    case network(url: String, message: String, attempts: Int)
    /// A response lacks what the protocol requires (X-Repo-Commit, an ETag, a JSON listing).
    case badResponse(url: String, problem: String)
    /// Writing under the cache failed; `diskFull` when the device has no space left (ENOSPC).
    case fileSystem(path: String, message: String)
    case diskFull(path: String, needed: Int64?)
    /// A model repository without config.json: not a transformers model Tailor can load.
    case noConfig(repo: String, revision: String)
    /// `--include` / `--exclude` left no file to download.
    case nothingMatched(repo: String, revision: String, include: [String], exclude: [String])
    /// Something this client does not do yet, and what to do instead.
    case notBuilt(String)
    /// An error of a ModelScope download: described with ModelScope's variables and commands.
    indirect case modelScope(HubError)

    public var description: String { describe(.huggingFace) }

    /// Where a download came from, for the variables and commands an error names.
    public enum Source: Sendable {
        case huggingFace, modelScope

        var name: String { self == .huggingFace ? "the hub" : "ModelScope" }
        var token: String { self == .huggingFace ? "HF_TOKEN" : "MODELSCOPE_API_TOKEN" }
        var endpoint: String { self == .huggingFace ? "HF_ENDPOINT" : "MODELSCOPE_ENDPOINT" }
        var cache: String { self == .huggingFace ? "HF_HOME / HF_HUB_CACHE" : "MODELSCOPE_CACHE" }
        var download: String { self == .huggingFace ? "tailor download" : "tailor download --source modelscope" }
    }

    func describe(_ source: Source) -> String {
        switch self {
        case .modelScope(let inner):
            return inner.describe(.modelScope)
        case .notBuilt(let what):
            return what
        case .invalidRepoID(let id):
            return "'\(id)' is not a hub id: expected ORG/NAME (for example HuggingFaceTB/SmolLM2-135M-Instruct), or an existing local folder"
        case .repoNotFound(let repo, let url, let hadToken):
            return "repository \(repo) not found on \(source.name) (\(url))"
                + (hadToken ? "; check the name, and that \(source.token) may read it" : "; check the name, or set \(source.token) if it is private or gated")
        case .revisionNotFound(let repo, let revision):
            return "repository \(repo) has no revision '\(revision)' (a branch, tag or commit hash); check --revision"
        case .entryNotFound(let repo, let revision, let file):
            return "\(repo) at \(revision) has no file \(file)"
        case .unauthorized(let repo, let url, let status, let hadToken):
            return "\(repo): \(source.name) refused access (HTTP \(status), \(url)); "
                + (hadToken ? "\(source.token) is set but not accepted for this repository (gated? accept its terms on \(source.name))" : "set \(source.token) to a token that may read it")
        case .notCached(let repo, let revision, let cache, let missing):
            let what = missing.isEmpty ? "no snapshot" : "missing \(missing.prefix(3).joined(separator: ", "))" + (missing.count > 3 ? " and \(missing.count - 3) more" : "")
            return "offline (--offline or HF_HUB_OFFLINE=1) and \(repo) at \(revision) is not in the cache \(cache) (\(what)); run `\(source.download) \(repo)` with network access first"
        case .sizeMismatch(let file, let expected, let received, let deleted):
            return "\(file): received \(received) bytes, \(source.name) promised \(expected); deleted \(deleted), run the download again"
        case .hashMismatch(let file, let expected, let actual, let deleted):
            return "\(file): sha256 \(actual) is not \(source.name)'s \(expected); deleted \(deleted), run the download again"
        case .http(let status, let url, let message):
            return "HTTP \(status) from \(url)" + (message.isEmpty ? "" : ": \(message)")
        case .network(let url, let message, let attempts):
            return "could not reach \(url) after \(attempts) attempt\(attempts == 1 ? "" : "s"): \(message); check the network or \(source.endpoint), or use --offline for cached models"
        case .badResponse(let url, let problem):
            return "unexpected answer from \(url): \(problem)"
        case .fileSystem(let path, let message):
            return "\(path): \(message)"
        case .diskFull(let path, let needed):
            return "no space left on the device holding \(path)" + (needed.map { " (\($0) bytes needed)" } ?? "")
                + "; free space or point \(source.cache) elsewhere. Partial files were removed."
        case .noConfig(let repo, let revision):
            return "\(repo) at \(revision) has no config.json: it is not a transformers model folder Tailor can load"
        case .nothingMatched(let repo, let revision, let include, let exclude):
            return "no file of \(repo) at \(revision) matches --include \(include) / --exclude \(exclude)"
        }
    }
}
