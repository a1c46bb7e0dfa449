import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Hummingbird
@testable import TailorBoard
import TailorTestSupport
import TailorTraining
import XCTest

/// The board's server over loopback with a real HTTP client: the page and /api/runs, which follows a run as it logs.
final class RunsBoardTests: XCTestCase {
    func testThePageAndItsDataFollowARunAsItLogs() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-board-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: root) }
        let run = root.appendingPathComponent("r8")
        try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
        let metrics = run.appendingPathComponent("metrics.jsonl")
        try (#"{"event": "started", "max_steps": 4}"# + "\n" + #"{"loss": 2.0, "step": 1, "event": "step"}"# + "\n")
            .write(to: metrics, atomically: true, encoding: .utf8)
        let board = RunsBoard(folders: [root], port: 0) { _ in ["r": "8"] }
        let listening = AsyncStream<Int>.makeStream()
        let server = Task { try await board.run(handleSignals: false) { port in listening.continuation.yield(port) } }
        defer { server.cancel() }
        var ports = listening.stream.makeAsyncIterator()
        let next = await ports.next()
        let port = try XCTUnwrap(next)

        let (page, pageResponse) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/")!)
        XCTAssertEqual((pageResponse as? HTTPURLResponse)?.statusCode, 200)
        let html = String(decoding: page, as: UTF8.self)
        XCTAssertTrue(html.contains("+ \"/api/runs\""), "the page reads its own API, below its path")
        XCTAssertFalse(html.contains("<script src") || html.contains("<link "), "no resource from elsewhere (no CDN)")

        func snapshot() async throws -> [String: Any] {
            let (data, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/api/runs")!)
            return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        }
        var now = try await snapshot()
        XCTAssertEqual((now["header"] as? [String])?.prefix(3), ["run", "status", "steps"])
        XCTAssertEqual((now["rows"] as? [[String]])?.first?[2], "1/4")
        XCTAssertEqual(((now["series"] as? [[String: [[Double]]]])?.first?["loss"])?.count, 1)

        let handle = try FileHandle(forWritingTo: metrics)
        handle.seekToEndOfFile()
        handle.write(Data((#"{"loss": 1.5, "step": 2, "event": "step"}"# + "\n").utf8))
        try handle.close()
        now = try await snapshot()
        XCTAssertEqual((now["rows"] as? [[String]])?.first?[2], "2/4", "the API re-reads the run")
        XCTAssertEqual(((now["series"] as? [[String: [[Double]]]])?.first?["loss"])?.last, [2, 1.5])
    }

    func testMountedUnderAPrefixAsTailorServeRunsMountsIt() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("tailor-board-mount-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root.appendingPathComponent("a"), withIntermediateDirectories: true)
        try (#"{"loss": 3.0, "step": 1, "event": "step"}"# + "\n").write(to: root.appendingPathComponent("a/metrics.jsonl"), atomically: true, encoding: .utf8)
        let board = RunsBoard(folders: [root]) { _ in [:] }
        let router = Router()
        router.get("/health") { _, _ in Response(status: .ok) }
        board.addRoutes(to: router, prefix: "/runs")
        let listening = AsyncStream<Int>.makeStream()
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in listening.continuation.yield(channel.localAddress?.port ?? 0) })
        let server = Task { try await app.run() }
        defer { server.cancel() }
        var ports = listening.stream.makeAsyncIterator()
        let next = await ports.next()
        let port = try XCTUnwrap(next)
        // The page at /runs and /runs/; its data below that path.
        for path in ["/runs", "/runs/"] {
            let (page, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)\(path)")!)
            XCTAssertTrue(String(decoding: page, as: UTF8.self).contains("<title>tailor board</title>"), path)
        }
        let (data, _) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/runs/api/runs")!)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertEqual((json["rows"] as? [[String]])?.first?.first, "a")
    }
}
