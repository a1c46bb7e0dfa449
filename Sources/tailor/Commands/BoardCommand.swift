import ArgumentParser
import Foundation
import TailorBoard

struct BoardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "board",
        abstract: "Serve a page of training runs in the browser: their table and curves, following runs while they train.",
        discussion: """
        The page at http://HOST:PORT/ shows the runs of each DIR (as tailor runs finds them: a run's
        output_dir, or a folder of them) in the table tailor runs prints, and a chart of one series
        (loss, eval_loss, learning_rate, grad_norm, rewards/margins, system/rss_gb ...) with every run's
        curve. It re-reads the folders every two seconds, so runs that train now move. The page is
        self-contained (no CDN); its data is at /api/runs (JSON). Ctrl-C stops the server.
        """
    )

    @Argument(help: "Run folders, or folders of run folders. Default: runs")
    var folders: [String] = []

    @Option(help: "Address to listen on.")
    var host: String = "127.0.0.1"

    @Option(parsing: .unconditional, help: "Port to listen on (0: any free port).")
    var port: Int = 6006

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0 to 65535 (got \(port))") }
    }

    func run() async throws {
        let paths = folders.isEmpty ? ["runs"] : folders
        for path in paths {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue else {
                throw ValidationError("\(path): no such folder (give run folders, each with a metrics.jsonl, or folders of them)")
            }
        }
        let board = RunsBoard(folders: paths.map { URL(fileURLWithPath: $0) }, host: host, port: port) { try RunsCommand.settings(of: $0) }
        let host = self.host
        try await board.run(handleSignals: true) { port in
            printError("tailor board: http://\(host):\(port)/ (\(paths.joined(separator: ", ")))")
        }
    }
}
