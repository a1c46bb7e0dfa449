import Foundation

/// Where the committed fixtures and the shared reference files live.
public enum TestPaths {
    /// The `tailor` executable beside this test bundle (same build folder), when built.
    public static var tailorBinary: URL? {
        let exe = URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0]).resolvingSymlinksInPath()
        var folder = exe.deletingLastPathComponent()
        for _ in 0..<3 {
            let candidate = folder.appendingPathComponent("tailor")
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory), !isDirectory.boolValue { return candidate }
            folder = folder.deletingLastPathComponent()
        }
        return nil
    }

    /// Runs `binary` with `arguments` and extra environment variables; returns its exit status
    /// and what it wrote to stdout and stderr together.
    public static func run(_ binary: URL, _ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

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
