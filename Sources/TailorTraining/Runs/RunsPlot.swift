import Foundation
import TailorFormats

/// The runs' curves of one or more series overlaid, one panel per series stacked in one image (PNG
/// and SVG), each run labelled by its differing settings and smoothed as TensorBoard smooths.
public struct RunsPlot: Sendable {
    public var table: RunsTable
    /// The series, one panel each (loss, eval_loss, learning_rate, grad_norm, rewards/margins, ...).
    public var metrics: [String]
    /// TensorBoard's smoothing weight in [0, 1): 0 draws the values as logged.
    public var smoothing: Double

    public init(table: RunsTable, metrics: [String], smoothing: Double = 0.6) {
        self.table = table
        self.metrics = metrics
        self.smoothing = smoothing
    }

    /// TensorBoard's debiased exponential moving average: last = last·w + (1 − w)·y, shown as
    /// last / (1 − wⁿ) after n finite points; a non-finite value is shown as it is.
    public static func smoothed(_ values: [Double], weight: Double) -> [Double] {
        guard weight > 0 else { return values }
        var last = 0.0, count = 0.0
        return values.map { y in
            guard y.isFinite else { return y }
            last = last * weight + (1 - weight) * y
            count += 1
            return last / (1 - pow(weight, count))
        }
    }

    /// One chart per metric. Evaluation series (eval_*) get markers and are not smoothed, as they are sparse.
    public func charts() -> [LineChart] {
        metrics.map { metric in
            var chart = LineChart(title: metric, xLabel: "step", yLabel: metric, width: 900, height: 420 + 18 * table.runs.count)
            for (index, run) in table.runs.enumerated() {
                let points = run.series[metric] ?? []
                let sparse = metric.hasPrefix("eval_")
                let values = sparse ? points.map(\.value) : Self.smoothed(points.map(\.value), weight: smoothing)
                chart.series.append(.init(name: table.label(run), points: zip(points, values).map { ($0.step, $1) },
                                          color: BarChart.palette[index % BarChart.palette.count], markers: sparse))
            }
            return chart
        }
    }

    /// The panels stacked top to bottom, as PNG bytes.
    public func png() throws -> [UInt8] {
        let images = charts().map { $0.rasterize() }
        let width = images.map(\.width).max() ?? 1, height = max(images.reduce(0) { $0 + $1.height }, 1)
        var stacked = RGBImage(width: width, height: height)
        var top = 0
        for image in images {
            for y in 0..<image.height {
                let from = y * image.width * 3, to = ((top + y) * width) * 3
                stacked.pixels.replaceSubrange(to..<(to + image.width * 3), with: image.pixels[from..<(from + image.width * 3)])
            }
            top += image.height
        }
        return try PNGEncoder.encode(stacked, path: "runs plot")
    }

    /// The panels stacked top to bottom, as one SVG document (each panel a nested <svg>).
    public func svg() -> String {
        let charts = charts()
        let width = charts.map(\.width).max() ?? 1, height = charts.reduce(0) { $0 + $1.height }
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
            + "width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\">\n"
        var top = 0
        for chart in charts {
            var panel = chart.svg()
            if let header = panel.range(of: "?>\n") { panel.removeSubrange(panel.startIndex..<header.upperBound) }
            if let tag = panel.range(of: "<svg ") { panel.replaceSubrange(tag, with: "<svg x=\"0\" y=\"\(top)\" ") }
            out += panel
            top += chart.height
        }
        return out + "</svg>\n"
    }
}
