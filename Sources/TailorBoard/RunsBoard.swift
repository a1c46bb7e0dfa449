import Foundation
import Hummingbird
import TailorJSON
import TailorTraining

/// `tailor board DIR`: the runs of DIR (`RunSummary.runFolders`) in the browser — the runs table and
/// their curves overlaid — re-read on every request, so the page (which polls) follows runs while
/// they train. One self-contained page (no CDN, no resource files), and its data at `/api/runs`.
public struct RunsBoard: Sendable {
    public var folders: [URL]
    public var host: String
    public var port: Int
    /// Reads a run's settings (tailor_config.yaml, which the caller parses).
    public var settings: @Sendable (URL) throws -> [String: String]

    public init(folders: [URL], host: String = "127.0.0.1", port: Int = 6006, settings: @escaping @Sendable (URL) throws -> [String: String]) {
        self.folders = folders
        self.host = host
        self.port = port
        self.settings = settings
    }

    /// Serves until cancelled or, with `handleSignals`, SIGINT / SIGTERM; `onListening` gets the bound port.
    public func run(handleSignals: Bool, onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let app = Application(router: makeRouter(), configuration: .init(address: .hostname(host, port: port), serverName: "tailor-board"),
                              onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) })
        if handleSignals { try await app.runService() } else { try await app.run() }
    }

    func makeRouter() -> Router<BasicRequestContext> {
        let router = Router()
        addRoutes(to: router)
        return router
    }

    /// The page at `prefix` (with or without a trailing slash) and its data at `prefix`/api/runs
    /// (`prefix` "" or e.g. "/runs"); the page finds its data from its own path. Any request context will do
    /// (`tailor serve --runs` mounts it on the server's).
    public func addRoutes<Context: RequestContext>(to router: Router<Context>, prefix: String = "") {
        router.get(RouterPath(prefix.isEmpty ? "/" : prefix)) { _, _ in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: Self.page)))
        }
        router.get(RouterPath(prefix + "/api/runs")) { [self] _, _ in
            let value: JSONValue
            let status: HTTPResponse.Status
            do { (value, status) = (try snapshot(), .ok) } catch { (value, status) = (["error": .string("\(error)")], .internalServerError) }
            return Response(status: status, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                            body: .init(byteBuffer: ByteBuffer(bytes: value.bytes(.compact))))
        }
    }

    /// Every run now: the table's cells (`RunsTable.cells`: header, then one row per run), each run's
    /// legend label and its series (name → [[step, value]]), in table order.
    public func snapshot() throws -> JSONValue {
        var runs: [RunSummary] = []
        for folder in folders {
            for run in RunSummary.runFolders(under: folder) { runs.append(try RunSummary.read(folder: run, settings: try settings(run))) }
        }
        let table = RunsTable(runs)
        let cells = table.cells
        let perRun: [JSONValue] = table.runs.map { run in
            .object(JSONObject(run.series.sorted { $0.key < $1.key }.map { name, points in
                (name, JSONValue.array(points.map { .array([.double($0.step), .double($0.value)]) }))
            }))
        }
        return [
            "header": .array((cells.first ?? []).map { .string($0) }),
            "rows": .array(cells.dropFirst().map { .array($0.map { .string($0) }) }),
            "labels": .array(table.runs.map { run in .string(table.label(run)) }),
            "series": .array(perRun),
        ]
    }
}
