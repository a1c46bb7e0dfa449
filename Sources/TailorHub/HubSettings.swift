import Foundation

/// Where the hub is and where its cache lives, read from the environment as huggingface_hub reads it:
/// `HF_ENDPOINT` (default https://huggingface.co), `HF_TOKEN` (else the file `HF_TOKEN_PATH` or
/// `$HF_HOME/token`), `HF_HUB_OFFLINE` / `TRANSFORMERS_OFFLINE` (1, ON, YES, TRUE), and the cache
/// `HF_HUB_CACHE`, else `HUGGINGFACE_HUB_CACHE`, else `$HF_HOME/hub`, with `HF_HOME` defaulting to
/// `$XDG_CACHE_HOME/huggingface` and that to `~/.cache/huggingface`.
public struct HubSettings: Sendable {
    public var endpoint: String
    public var token: String?
    public var offline: Bool
    public var cacheDirectory: URL
    /// Files fetched at once.
    public var parallelFiles: Int = 8
    /// Attempts per request on 5xx, 429 and dropped connections, with exponential backoff from `retryDelay` seconds.
    public var attempts: Int = 5
    public var retryDelay: Double = 1

    public init(endpoint: String = "https://huggingface.co", token: String? = nil, offline: Bool = false, cacheDirectory: URL) {
        self.endpoint = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        self.token = token
        self.offline = offline
        self.cacheDirectory = cacheDirectory
    }

    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) -> HubSettings {
        let home = env["HOME"] ?? NSHomeDirectory()
        func expand(_ path: String) -> String { path.hasPrefix("~/") ? home + path.dropFirst(1) : path }
        let hfHome = expand(env["HF_HOME"] ?? ((env["XDG_CACHE_HOME"].map(expand) ?? home + "/.cache") + "/huggingface"))
        let cache = expand(env["HF_HUB_CACHE"] ?? env["HUGGINGFACE_HUB_CACHE"] ?? hfHome + "/hub")
        var token = env["HF_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        if token == nil {
            let tokenPath = expand(env["HF_TOKEN_PATH"] ?? hfHome + "/token")
            token = (try? String(contentsOfFile: tokenPath, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            if token?.isEmpty == true { token = nil }
        }
        let offline = isTrue(env["HF_HUB_OFFLINE"]) || isTrue(env["TRANSFORMERS_OFFLINE"])
        return HubSettings(endpoint: env["HF_ENDPOINT"] ?? "https://huggingface.co", token: token, offline: offline,
                           cacheDirectory: URL(fileURLWithPath: cache, isDirectory: true))
    }

    /// huggingface_hub's `_is_true`.
    static func isTrue(_ value: String?) -> Bool {
        guard let value else { return false }
        return ["1", "ON", "YES", "TRUE"].contains(value.uppercased())
    }
}
