import Foundation

/// Where the committed fixtures and the shared reference files live.
public enum TestPaths {
    /// `Tests/Fixtures` in this checkout.
    public static let fixtures: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()   // TailorTestSupport
        .deletingLastPathComponent()   // Tests
        .appendingPathComponent("Fixtures")

    /// `../shared` beside the checkout (tokenizers, templates, datasets), when present.
    public static let shared: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
        .appendingPathComponent("shared")

    /// A fixture file or folder under `Tests/Fixtures`.
    public static func fixture(_ relativePath: String) -> URL {
        fixtures.appendingPathComponent(relativePath)
    }

    /// A path under `../shared`, or nil when the folder is absent (tests then skip and say so).
    public static func sharedFile(_ relativePath: String) -> URL? {
        let url = shared.appendingPathComponent(relativePath)
        return FileManager.default.fileExists(atPath: url.path) ? url : nil
    }
}
