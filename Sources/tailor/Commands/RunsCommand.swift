import ArgumentParser
import Foundation
import TailorFormats
import TailorTraining

struct RunsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs",
        abstract: "Compare training runs: a table of their differing settings and results, and their curves overlaid.",
        discussion: """
        Each DIR is a run's output_dir (it holds metrics.jsonl) or a folder of them (one level down,
        as a sweep writes them). The table shows each run's name, the settings of tailor_config.yaml that
        differ between the runs, its status (finished, running: another process holds its .tailor.lock,
        or stopped), steps, the last and best loss and eval_loss, tokens/s and wall time of a finished
        run, its peak RSS (every run samples memory and CPU at each logging step: the system/* series
        of metrics.jsonl and TensorBoard, kept out of trainer_state.json), and the last value of every
        eval_* metric any run logged.
        --plot loss,eval_loss,learning_rate,grad_norm,rewards/margins writes the runs' curves of each
        series overlaid, one panel per series stacked in one PNG (--output) and one SVG beside it,
        smoothed as TensorBoard smooths (--smoothing; evaluation series are drawn as logged).
        """
    )

    @Argument(help: "Run folders, or folders of run folders. Default: runs")
    var folders: [String] = []

    @Option(help: "The column to sort by (loss, best_loss, eval_loss, best_eval_loss, tokens/s, wall_s, steps, a setting, or any series' last value). Default: eval_loss when a run has it, else loss.")
    var sort: String?

    @Flag(help: "Sort from the highest value down.")
    var descending = false

    @Option(help: "text, json or csv.")
    var format: String = "text"

    @Option(help: "Comma-separated series to plot, each in its own panel (e.g. loss,eval_loss,learning_rate). Default: no plot.")
    var plot: String?

    @Option(help: "The plot's PNG file (an SVG is written beside it).")
    var output: String = "runs.png"

    @Option(parsing: .unconditional, help: "TensorBoard's smoothing weight for the plot, in [0, 1).")
    var smoothing: Double = 0.6

    func validate() throws {
        guard ["text", "json", "csv"].contains(format) else { throw ValidationError("--format must be text, json or csv (got \(format))") }
        guard (0..<1).contains(smoothing) else { throw ValidationError("--smoothing must lie in [0, 1) (got \(smoothing))") }
        if let plot, plot.split(separator: ",").isEmpty { throw ValidationError("--plot names no series") }
    }

    func run() throws {
        var runs: [RunSummary] = []
        for path in folders.isEmpty ? ["runs"] : folders {
            let url = URL(fileURLWithPath: path)
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue else {
                throw ValidationError("\(path): no such folder (give run folders, each with a metrics.jsonl, or folders of them)")
            }
            let found = RunSummary.runFolders(under: url)
            guard !found.isEmpty else { throw ValidationError("\(path): no run here (no metrics.jsonl in it or in its subfolders)") }
            for folder in found { runs.append(try RunSummary.read(folder: folder, settings: try Self.settings(of: folder))) }
        }
        var table = RunsTable(runs)
        let column = sort ?? (runs.contains { $0.finalEvalLoss != nil } ? "eval_loss" : "loss")
        table = try table.sorted(by: column, descending: descending)
        switch format {
        case "json": print(table.json().text(.pretty))
        case "csv": print(table.csv(), terminator: "")
        default: print(table.text(), terminator: "")
        }
        if let plot {
            let metrics = plot.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            for metric in metrics where !runs.contains(where: { $0.series[metric] != nil }) {
                let known = Set(runs.flatMap(\.series.keys)).sorted().joined(separator: ", ")
                throw ValidationError("--plot \(metric): no run logged it; logged: \(known)")
            }
            let chart = RunsPlot(table: table, metrics: metrics, smoothing: smoothing)
            let png = URL(fileURLWithPath: output)
            try AtomicWrite.write(Data(try chart.png()), to: png)
            let svg = png.deletingPathExtension().appendingPathExtension("svg")
            try AtomicWrite.write(Data(chart.svg().utf8), to: svg)
            printError("wrote \(png.path) and \(svg.path)")
        }
    }

    /// tailor_config.yaml's keys and values as written; none when the run has no such file.
    static func settings(of folder: URL) throws -> [String: String] {
        let file = folder.appendingPathComponent("tailor_config.yaml")
        guard FileManager.default.fileExists(atPath: file.path) else { return [:] }
        return Dictionary(try TrainCommand.readYAML(file.path).map { ($0.0, $0.1.description) }) { _, later in later }
    }
}
