import Foundation
import TailorFormats
import TailorJSON
import TailorMetrics

/// The result of `tailor eval`: one row per model (the base, then each adapter), one column per
/// metric, the predictions of each model, and notes on what could not be computed.
public struct EvalReport: Sendable {
    public struct Row: Sendable {
        public var model: String
        public var values: [String: Double]
        public var predictions: [Prediction]

        public init(model: String, values: [String: Double], predictions: [Prediction]) {
            self.model = model
            self.values = values
            self.predictions = predictions
        }
    }

    public var dataset: String
    public var samples: Int
    public var columns: [String]
    public var rows: [Row]
    /// Why a column is missing (the jieba dictionary could not be had, ...).
    public var notes: [String]

    public init(dataset: String, samples: Int, columns: [String], rows: [Row] = [], notes: [String] = []) {
        self.dataset = dataset
        self.samples = samples
        self.columns = columns
        self.rows = rows
        self.notes = notes
    }

    /// Columns with a value in some row, in order.
    public var filledColumns: [String] { columns.filter { c in rows.contains { $0.values[c] != nil } } }

    static func format(_ value: Double?) -> String {
        guard let value else { return "-" }
        guard value.isFinite else { return value.description }
        return PlotText.fixed(value, decimals: 4)
    }

    /// The table as aligned text: a header, then one line per model.
    public func table() -> String {
        let columns = filledColumns
        let header = ["model"] + columns
        let lines = [header] + rows.map { row in [row.model] + columns.map { Self.format(row.values[$0]) } }
        let widths = header.indices.map { i in lines.map { $0[i].count }.max() ?? 0 }
        return lines.map { cells in
            cells.enumerated().map { i, cell in i == 0 ? cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
                : String(repeating: " ", count: widths[i] - cell.count) + cell }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    /// eval_results.json: the dataset, the sample count, and each model's metrics.
    public func json() -> JSONValue {
        var models = JSONObject()
        for row in rows {
            var metrics = JSONObject()
            for column in filledColumns { if let v = row.values[column] { metrics[column] = v.isFinite ? .double(v) : .null } }
            models[row.model] = .object(metrics)
        }
        var root = JSONObject()
        root["dataset"] = .string(dataset)
        root["samples"] = .int(samples)
        root["metrics"] = .object(models)
        root["notes"] = .array(notes.map { .string($0) })
        return .object(root)
    }

    /// One model's predictions as generated_predictions.jsonl lines ({"prompt", "predict", "label"}).
    public static func predictionLines(_ predictions: [Prediction]) -> String {
        predictions.map { p -> String in
            var o = JSONObject()
            o["prompt"] = .string(p.prompt)
            o["predict"] = .string(p.predict)
            o["label"] = .string(p.label)
            return JSONValue.object(o).text(JSONFormat(ensureASCII: false))  // json.dumps(..., ensure_ascii=False)
        }.joined(separator: "\n") + (predictions.isEmpty ? "" : "\n")
    }

    /// report.md: the table, the chart, and the first `examples` answers of every model side by side.
    public func markdown(chart: String?, examples: Int) -> String {
        var out = "# tailor eval: \(dataset)\n\n\(samples) samples.\n\n"
        let columns = filledColumns
        out += "| model | " + columns.joined(separator: " | ") + " |\n"
        out += "|---|" + columns.map { _ in "---:" }.joined(separator: "|") + "|\n"
        for row in rows { out += "| \(row.model) | " + columns.map { Self.format(row.values[$0]) }.joined(separator: " | ") + " |\n" }
        if !notes.isEmpty { out += "\n" + notes.map { "- " + $0 }.joined(separator: "\n") + "\n" }
        if let chart { out += "\n![metrics](\(chart))\n" }
        let shown = min(examples, rows.map(\.predictions.count).min() ?? 0)
        if shown > 0 {
            out += "\n## Answers side by side\n\n| question | reference | " + rows.map(\.model).joined(separator: " | ") + " |\n"
            out += "|---|---|" + rows.map { _ in "---" }.joined(separator: "|") + "|\n"
            for i in 0..<shown {
                let first = rows[0].predictions[i]
                out += "| " + Self.cell(first.question.isEmpty ? Self.question(first.prompt) : first.question) + " | " + Self.cell(first.label) + " | "
                    + rows.map { Self.cell($0.predictions[i].predict) }.joined(separator: " | ") + " |\n"
            }
        }
        return out
    }

    /// The bar chart of the metrics on the 0–100 scale (everything but perplexity), one bar per model.
    public func chart() -> BarChart {
        let groups = filledColumns.filter { $0 != "ppl" && $0 != "eval_ppl_trainer" && !EvalMetric.rewards.columns.contains($0) }
        var chart = BarChart(title: "tailor eval: \(URL(fileURLWithPath: dataset).lastPathComponent)", yLabel: "score (0-100)", groups: groups,
                             width: max(900, 100 + 90 * groups.count))
        chart.series = series(groups)
        return chart
    }

    /// The perplexity chart (its scale is not the others'), one bar per model.
    public func perplexityChart() -> BarChart? {
        let groups = filledColumns.filter { $0 == "ppl" || $0 == "eval_ppl_trainer" }
        guard !groups.isEmpty else { return nil }
        var chart = BarChart(title: "perplexity (lower is better)", yLabel: "perplexity", groups: groups, width: 500, height: 400)
        chart.series = series(groups)
        return chart
    }

    /// The reward-accuracy chart of preference pairs (rewards/accuracies as a percentage), one bar
    /// per adapter; nil without that column.
    public func rewardChart() -> BarChart? {
        let column = "rewards/accuracies"
        guard filledColumns.contains(column) else { return nil }
        var chart = BarChart(title: "reward accuracy against the base (higher is better)", yLabel: "pairs ranked right (%)",
                             groups: [column], width: 500, height: 400)
        chart.series = series([column]).map { series in
            var scaled = series
            scaled.values = series.values.map { $0 * 100 }
            return scaled
        }
        return chart
    }

    /// One bar series per model over `groups` (NaN where a model lacks the column).
    func series(_ groups: [String]) -> [BarChart.Series] {
        rows.enumerated().map { i, row in
            BarChart.Series(name: row.model, values: groups.map { row.values[$0] ?? .nan }, color: BarChart.palette[i % BarChart.palette.count])
        }
    }

    /// A table cell: one line, pipes escaped, cut at 300 characters.
    static func cell(_ text: String) -> String {
        var t = text.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: "<br>").replacingOccurrences(of: "|", with: "\\|")
        if t.count > 300 { t = String(t.prefix(300)) + "…" }
        return t
    }

    /// The last user turn of a rendered prompt is unknown here; the rendered text's tail is shown instead.
    static func question(_ prompt: String) -> String {
        let trimmed = prompt.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.count > 200 ? "…" + String(trimmed.suffix(200)) : trimmed
    }
}
