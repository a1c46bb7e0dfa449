import Foundation
import TailorFormats
import TailorJSON

/// Runs side by side: the settings that differ between them, then how each went — as text, JSON or
/// CSV (`tailor runs`), sorted by one column.
public struct RunsTable: Sendable {
    public var runs: [RunSummary]
    /// Settings that are not the same in every run (a key one run lacks counts as differing), sorted.
    public let differing: [String]
    /// Settings that never tell runs apart: where each run writes, and how it was started again.
    static let ignoredSettings: Set<String> = ["output_dir", "logging_dir", "run_name", "resume_from_checkpoint", "overwrite_output_dir"]

    public init(_ runs: [RunSummary]) {
        self.runs = runs
        let keys = Set(runs.flatMap(\.settings.keys)).subtracting(Self.ignoredSettings)
        differing = keys.filter { key in Set(runs.map { $0.settings[key] ?? "" }).count > 1 }.sorted()
    }

    /// The result columns after the run name and the differing settings.
    public static let resultColumns = ["status", "steps", "loss", "best_loss", "eval_loss", "best_eval_loss", "tokens/s", "peak_rss_gb", "wall_s"]

    /// Every eval_* metric some run logged besides eval_loss (eval_rouge1, eval_rewards/margins, ...), sorted.
    public var evalColumns: [String] {
        Set(runs.flatMap { $0.series.keys }).filter { $0.hasPrefix("eval_") && $0 != "eval_loss" }.sorted()
    }

    /// A run's value of `column` (a result column, an eval metric's last value, or any series' last value).
    /// A run's legend (the plot's and the board's): its name and the settings that tell it from the
    /// others, when they are few and short enough to read in a legend (a sweep's r=16,
    /// learning_rate=2e-4); else the name alone.
    public func label(_ run: RunSummary) -> String {
        let settings = differing.map { "\($0)=\(run.settings[$0] ?? "-")" }.joined(separator: ", ")
        return settings.isEmpty || settings.count > Self.longestLegendSettings ? run.name : "\(run.name) (\(settings))"
    }

    /// Characters of settings a legend line takes at most.
    static let longestLegendSettings = 60

    public func value(_ run: RunSummary, _ column: String) -> Double? {
        switch column {
        case "steps": return Double(run.steps)
        case "loss": return run.finalLoss
        case "best_loss": return run.bestLoss
        case "eval_loss": return run.finalEvalLoss
        case "best_eval_loss": return run.bestEvalLoss
        case "tokens/s": return run.tokensPerSecond
        case "peak_rss_gb": return run.series["system/peak_rss_gb"]?.map(\.value).max()
        case "wall_s": return run.wallSeconds
        default: return run.last[column]
        }
    }

    /// Runs ordered by `column` (ascending; `descending` for metrics where higher is better); runs without
    /// a value go last, ties keep name order.
    /// - Throws: `TrainingError.invalidValue` for a column no run has.
    public func sorted(by column: String, descending: Bool = false) throws -> RunsTable {
        let known = Self.resultColumns + evalColumns + Set(runs.flatMap { $0.series.keys }).sorted()
        guard known.contains(column) || differing.contains(column) else {
            throw TrainingError.invalidValue(key: "--sort", problem: "'\(column)' is no column of these runs; known: \(Array(Set(known)).sorted().joined(separator: ", "))")
        }
        var copy = self
        copy.runs = runs.enumerated().sorted { a, b in
            if differing.contains(column) {
                let x = a.element.settings[column] ?? "", y = b.element.settings[column] ?? ""
                if x != y { return Self.settingLess(x, y) != descending }
                return a.offset < b.offset
            }
            switch (value(a.element, column), value(b.element, column)) {
            case let (x?, y?) where x != y: return descending ? x > y : x < y
            case (.some, nil): return true
            case (nil, .some): return false
            default: return a.offset < b.offset
            }
        }.map(\.element)
        return copy
    }

    /// Numbers compare as numbers (r 8 before r 16), other values as text.
    static func settingLess(_ a: String, _ b: String) -> Bool {
        if let x = Double(a), let y = Double(b) { return x < y }
        return a < b
    }

    /// Header then one row per run: name, differing settings, results, eval metrics.
    public var cells: [[String]] {
        let header = ["run"] + differing + Self.resultColumns + evalColumns
        return [header] + runs.map { run in
            [run.name] + differing.map { run.settings[$0] ?? "-" }
                + Self.resultColumns.map { column in
                    switch column {
                    case "status": return run.status.rawValue
                    case "steps": return run.totalSteps.map { "\(run.steps)/\($0)" } ?? "\(run.steps)"
                    default: return Self.format(value(run, column))
                    }
                }
                + evalColumns.map { Self.format(run.last[$0]) }
        }
    }

    static func format(_ value: Double?) -> String {
        guard let value else { return "-" }
        if value.rounded() == value && abs(value) < 1e9 { return NumberText.fixed(value, 0) }
        return abs(value) >= 100 ? NumberText.fixed(value, 1) : NumberText.fixed(value, 4)
    }

    /// Columns padded to their widest cell, numbers right-aligned.
    public func text() -> String {
        let rows = cells
        let widths = rows[0].indices.map { i in rows.map { $0[i].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { i, cell in
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                return i == 0 || (Double(cell) == nil && cell != "-") ? cell + pad : pad + cell
            }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n") + "\n"
    }

    /// RFC 4180: fields with a comma, quote or line break quoted, quotes doubled.
    public func csv() -> String {
        cells.map { row in
            row.map { cell in
                cell.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + cell.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : cell
            }.joined(separator: ",")
        }.joined(separator: "\n") + "\n"
    }

    /// One object per run: name, folder, status, settings (all of them), and every result.
    public func json() -> JSONValue {
        .array(runs.map { run in
            var object: JSONObject = ["run": .string(run.name), "folder": .string(run.folder.path), "status": .string(run.status.rawValue),
                                      "steps": .int(run.steps)]
            object["total_steps"] = run.totalSteps.map { .int($0) } ?? .null
            object["settings"] = .object(JSONObject(run.settings.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.string($0.value)) }))
            for column in Self.resultColumns where column != "status" && column != "steps" {
                object[column] = value(run, column).map { .double($0) } ?? .null
            }
            for column in evalColumns { object[column] = run.last[column].map { .double($0) } ?? .null }
            return .object(object)
        })
    }
}
