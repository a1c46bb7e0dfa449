/// Number text as the charts write it, for tables beside them.
public enum PlotText {
    /// `value` with exactly `decimals` decimals, rounded half away from zero; huge values in Swift's own form.
    public static func fixed(_ value: Double, decimals: Int) -> String { ChartLayout.fixed(value, decimals: decimals) }
}

/// A grouped bar chart: one group per category (a metric), one bar per series (a model) in each,
/// a y axis from 0 with ticks, a legend. Drawn with the line chart's bitmap font and PNG encoder.
///
///     var chart = BarChart(title: "tailor eval", yLabel: "score", groups: ["bleu-4", "rouge-l"])
///     chart.series = [.init(name: "base", values: [10, 20], color: .blue), .init(name: "adapter", values: [30, 40], color: .orange)]
///     try AtomicWrite.write(Data(chart.png()), to: url)
///
/// Values that are not finite (a metric a model lacks) draw no bar.
public struct BarChart: Sendable {
    public struct Series: Sendable {
        public var name: String
        public var values: [Double]
        public var color: RGBColor

        public init(name: String, values: [Double], color: RGBColor) {
            self.name = name
            self.values = values
            self.color = color
        }
    }

    public var title: String
    public var yLabel: String
    public var groups: [String]
    public var series: [Series]
    public var width: Int
    public var height: Int

    public init(title: String, yLabel: String, groups: [String], series: [Series] = [], width: Int = 900, height: Int = 500) {
        self.title = title
        self.yLabel = yLabel
        self.groups = groups
        self.series = series
        self.width = max(width, 300)
        self.height = max(height, 200)
    }

    /// Colors for series beyond the first two (matplotlib's tab10 after blue and orange).
    public static let palette: [RGBColor] = [
        .blue, .orange, RGBColor(red: 0x2C, green: 0xA0, blue: 0x2C), RGBColor(red: 0xD6, green: 0x27, blue: 0x28),
        RGBColor(red: 0x94, green: 0x67, blue: 0xBD), RGBColor(red: 0x8C, green: 0x56, blue: 0x4B),
    ]

    /// The chart as pixels.
    public func rasterize() -> RGBImage {
        let scale = ChartLayout.textScale, glyph = ChartLayout.glyphHeight
        var image = RGBImage(width: width, height: height)
        let legendRows = series.count
        let left = 80, right = width - 20, top = 50, bottom = height - 64 - legendRows * (glyph + 6)
        let finite = series.flatMap(\.values).filter(\.isFinite)
        let high = max(finite.max() ?? 1, 0)
        let step = ChartLayout.niceStep((high > 0 ? high : 1) / 5)
        let yMax = max((high / step).rounded(.up), 1) * step
        let ticks = ChartLayout.ticks(from: 0, to: yMax, step: step)
        func pixelY(_ v: Double) -> Int {
            Int((Double(bottom) - (Double(bottom - top) * min(max(v, 0), yMax) / yMax)).rounded())  // allowed: pixel coordinates inside the fixed-size chart image
        }
        if !title.isEmpty {
            image.text(title, x: (width - BitmapFont.textWidth(title, scale: scale)) / 2, y: 16, scale: scale, .black)
        }
        for value in ticks {
            let y = pixelY(value), label = ChartLayout.label(value, step: step)
            image.hLine(y: y, from: left, to: right, .grid)
            image.hLine(y: y, from: left - 5, to: left, .black)
            image.text(label, x: left - 11 - BitmapFont.textWidth(label, scale: scale), y: y - glyph / 2, scale: scale, .black)
        }
        image.text(yLabel, x: 12, y: (top + bottom + BitmapFont.textWidth(yLabel, scale: scale)) / 2, scale: scale, .black, vertical: true)
        let groupWidth = groups.isEmpty ? 0 : (right - left) / groups.count
        let barWidth = series.isEmpty ? 0 : max(2, (groupWidth * 3 / 4) / series.count)
        let stagger = groups.contains { BitmapFont.textWidth($0, scale: scale) > groupWidth - 4 }
        for (g, group) in groups.enumerated() {
            let x0 = left + g * groupWidth + (groupWidth - barWidth * series.count) / 2
            for (s, one) in series.enumerated() where g < one.values.count && one.values[g].isFinite {
                let x = x0 + s * barWidth
                image.fill(x0: x, y0: pixelY(one.values[g]), x1: x + barWidth - 1, y1: bottom, one.color)
            }
            // Labels wider than their group alternate between two rows so neighbours do not overlap.
            let labelWidth = BitmapFont.textWidth(group, scale: scale)
            let row = stagger && g % 2 == 1 ? 1 : 0
            image.text(group, x: left + g * groupWidth + (groupWidth - labelWidth) / 2, y: bottom + 8 + row * (glyph + 4), scale: scale, .black)
        }
        image.hLine(y: bottom, from: left, to: right, .black)
        image.vLine(x: left, from: top, to: bottom, .black)
        for (s, one) in series.enumerated() {
            let y = bottom + 44 + s * (glyph + 6)
            image.fill(x0: left, y0: y, x1: left + 24, y1: y + glyph - 1, one.color)
            image.text(one.name, x: left + 32, y: y, scale: scale, .black)
        }
        return image
    }

    /// The chart as PNG file bytes.
    /// - Throws: `FormatError.cannotWrite` if zlib fails (out of memory).
    public func png() throws -> [UInt8] { try PNGEncoder.encode(rasterize()) }
}
