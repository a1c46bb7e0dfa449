/// What a download reports as it goes; the CLI draws its progress bar from these. Library code never prints.
public enum HubEvent: Sendable, Equatable {
    /// The revision is commit `commit`; `files` files, `bytes` bytes are wanted, `cachedBytes` of them already cached.
    case resolved(repo: String, revision: String, commit: String, files: Int, bytes: Int64, cachedBytes: Int64)
    /// A file starts downloading (`resumedAt` > 0: a partial file is continued with a Range request).
    case fileStarted(path: String, size: Int64, resumedAt: Int64)
    /// Bytes arrived: `received` in all files of this download so far (cached ones not counted).
    case progress(received: Int64)
    /// A file is in place: downloaded and verified, or already in the cache.
    case fileDone(path: String, downloaded: Bool)
    /// Another process holds the blob's lock; waiting for it.
    case waitingForLock(path: String, lock: String)
    case retrying(url: String, attempt: Int, delay: Double, reason: String)
    /// The hub could not be reached and the cached snapshot of the revision is used.
    case usingCache(reason: String)
}
