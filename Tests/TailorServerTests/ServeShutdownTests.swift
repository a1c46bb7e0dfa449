#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import TailorJSON
import TailorTestSupport
import XCTest

/// `tailor serve` as a process: it prints where it listens, and SIGTERM with 8 streams in
/// flight lets each finish (or end with a clean error) before it exits 0.
final class ServeShutdownTests: XCTestCase {
    func testSigtermDrainsStreamsInFlight() throws {
        guard let binary = TestPaths.tailorBinary else { throw XCTSkip("the tailor executable is not built beside the tests") }
        let process = Process()
        process.executableURL = binary
        process.arguments = ["serve", "--model", ServerHarness.chatModel.path, "--port", "0", "--max-batch", "8",
                             "--adapter", "a=\(ServerHarness.adapterA.path)", "--served-model-name", "serve-test"]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        // "tailor serve: listening on http://127.0.0.1:PORT (...)"
        var seen = ""
        let deadline = Date().addingTimeInterval(60)
        var port = 0
        while port == 0 && Date() < deadline {
            let data = errors.fileHandleForReading.availableData
            if data.isEmpty { break }
            seen += String(decoding: data, as: UTF8.self)
            if let range = seen.range(of: "http://127.0.0.1:") {
                let digits = seen[range.upperBound...].prefix { $0.isNumber }
                port = Int(digits) ?? 0
            }
        }
        XCTAssertNotEqual(port, 0, "no listening line in: \(seen)")
        guard port != 0 else { return }
        // Eight streams, each read up to its first chunk, then SIGTERM.
        let clients = try (0..<8).map { index -> RawHTTPClient in
            let client = try RawHTTPClient(port: port)
            client.send(method: "POST", path: "/v1/chat/completions", headers: ["Content-Type": "application/json"],
                        body: requestBytes(["model": index % 2 == 0 ? "a" : "serve-test", "messages": [["role": "user", "content": .string("hello \(index)")]],
                                         "max_tokens": 60, "temperature": 0, "stream": true]))
            return client
        }
        var heads: [Int] = []
        for client in clients { heads.append(try client.readHead().status) }
        kill(process.processIdentifier, SIGTERM)
        for (index, client) in clients.enumerated() {
            var text = ""
            do {
                while let piece = try client.readChunk(chunked: true) { text += String(decoding: piece, as: UTF8.self) }
            } catch {
                text += "(read ended: \(error))"
            }
            XCTAssertEqual(heads[index], 200)
            // Finished with [DONE], or ended with an error event; never cut off silently.
            XCTAssertTrue(text.hasSuffix("data: [DONE]\n\n") || text.contains("\"error\""), "stream \(index): \(text.suffix(200))")
        }
        let exit = Date().addingTimeInterval(60)
        while process.isRunning && Date() < exit { usleep(20_000) }
        XCTAssertFalse(process.isRunning, "tailor serve should exit after draining")
        if !process.isRunning { XCTAssertEqual(process.terminationStatus, 0) }
        // After it exits, nothing listens.
        XCTAssertThrowsError(try RawHTTPClient(port: port))
    }
}
