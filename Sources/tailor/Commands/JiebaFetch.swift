import Foundation
import TailorMetrics

/// jieba's dictionary for the jieba metrics (bleu-4, rouge): `--jieba-dir` or `TAILOR_JIEBA_DIR`
/// when given (never fetched over), else the cache, filled once from jieba's PyPI sdist with
/// `python3 -m pip download` and `tar` (as scripts/fetch_jieba.sh and fetch_smollm2.sh do).
enum JiebaFetch {
    /// jieba, or why it cannot be had (a sentence for the report; the other metrics still run).
    static func load(explicit: String?, environment: [String: String] = ProcessInfo.processInfo.environment,
                     log: (String) -> Void) -> Result<Jieba, JiebaUnavailable> {
        if let dir = explicit ?? environment["TAILOR_JIEBA_DIR"].flatMap({ $0.isEmpty ? nil : $0 }) {
            do { return .success(try Jieba(folder: URL(fileURLWithPath: dir))) } catch {
                return .failure(JiebaUnavailable(reason: "\(error)"))
            }
        }
        let cache = Jieba.cacheFolder(environment: environment)
        if let jieba = try? Jieba(folder: cache) { return .success(jieba) }
        log("fetching jieba \(Jieba.version)'s dictionary from PyPI into \(cache.path) (once)")
        do {
            try fetch(into: cache, python: environment["TAILOR_PYTHON"] ?? "python3")
            return .success(try Jieba(folder: cache))
        } catch {
            return .failure(JiebaUnavailable(reason: "jieba's dictionary could not be fetched: \(error)"))
        }
    }

    struct JiebaUnavailable: Error, CustomStringConvertible {
        var reason: String
        var description: String { reason }
    }

    struct FetchError: Error, CustomStringConvertible {
        var description: String
    }

    /// pip download of the sdist into a temporary folder, then its four files moved into `folder`.
    static func fetch(into folder: URL, python: String) throws {
        let fm = FileManager.default
        let temp = fm.temporaryDirectory.appendingPathComponent("tailor-jieba-\(UUID().uuidString)")
        try fm.createDirectory(at: temp, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: temp) }
        try run(python, ["-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:", "--timeout", "20", "--retries", "1",
                         "jieba==\(Jieba.version)", "-d", temp.path],
                hint: "needs python3 with pip and a network; or run scripts/fetch_jieba.sh elsewhere and set TAILOR_JIEBA_DIR")
        let root = "jieba-\(Jieba.version)/jieba/"
        try run("tar", ["-xzf", temp.appendingPathComponent("jieba-\(Jieba.version).tar.gz").path, "-C", temp.path]
                + Jieba.requiredFiles.map { root + $0 }, hint: "needs tar")
        try fm.createDirectory(at: folder.appendingPathComponent("finalseg"), withIntermediateDirectories: true)
        // dict.txt last: a folder with dict.txt is complete.
        for file in Jieba.requiredFiles.reversed() {
            let target = folder.appendingPathComponent(file)
            try? fm.removeItem(at: target)
            try fm.moveItem(at: temp.appendingPathComponent(root + file), to: target)
        }
    }

    static func run(_ program: String, _ arguments: [String], hint: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [program] + arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        do { try process.run() } catch { throw FetchError(description: "\(program) could not start (\(error)); \(hint)") }
        let output = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let text = String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw FetchError(description: "\(program) \(arguments.prefix(3).joined(separator: " ")) … exited with status \(process.terminationStatus)"
                             + (text.isEmpty ? "" : ": " + String(text.suffix(300))) + "; \(hint)")
        }
    }
}
