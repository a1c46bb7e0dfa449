/// A small line chart: title, axis labels, ticks with labels, a legend, one or more series of `(x, y)`
/// points. Rendered as SVG text (`svg()`) or as pixels (`rasterize()`, `png()`) with the same layout.
///
///     var chart = LineChart(title: "Training loss", xLabel: "step", yLabel: "loss")
///     chart.series.append(.init(name: "train loss", points: [(1, 2.3), (2, 2.1)], color: .blue))
///     try AtomicWrite.write(Data(chart.png()), to: url)
///
/// Non-finite points are skipped and break the line there.
public struct LineChart: Sendable {
    public struct Point: Sendable, Equatable {
        public var x: Double
        public var y: Double
        public init(x: Double, y: Double) {
            self.x = x
            self.y = y
        }
    }

    public struct Series: Sendable {
        public var name: String
        public var points: [Point]
        public var color: RGBColor
        /// Draws a dot at every point (for sparse series such as evaluation loss).
        public var markers: Bool

        public init(name: String, points: [Point], color: RGBColor, markers: Bool = false) {
            self.name = name
            self.points = points
            self.color = color
            self.markers = markers
        }

        public init(name: String, points: [(Double, Double)], color: RGBColor, markers: Bool = false) {
            self.init(name: name, points: points.map { Point(x: $0.0, y: $0.1) }, color: color, markers: markers)
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series]
    /// Image size in pixels (SVG user units).
    public var width: Int
    public var height: Int

    public init(title: String, xLabel: String, yLabel: String, series: [Series] = [], width: Int = 800, height: Int = 500) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
        self.width = max(width, 200)
        self.height = max(height, 150)
    }
}

/// An sRGB color.
public struct RGBColor: Sendable, Equatable {
    public var red: UInt8
    public var green: UInt8
    public var blue: UInt8

    public init(red: UInt8, green: UInt8, blue: UInt8) {
        self.red = red
        self.green = green
        self.blue = blue
    }

    /// `#rrggbb`.
    public var hex: String {
        "#" + [red, green, blue].map { value in
            let digits = String(value, radix: 16)
            return digits.count == 1 ? "0" + digits : digits
        }.joined()
    }

    public static let white = RGBColor(red: 255, green: 255, blue: 255)
    public static let black = RGBColor(red: 0, green: 0, blue: 0)
    public static let grid = RGBColor(red: 224, green: 224, blue: 224)
    public static let legendBorder = RGBColor(red: 160, green: 160, blue: 160)
    /// matplotlib's first two default colors (tab:blue, tab:orange), as in seed scripts' loss plots.
    public static let blue = RGBColor(red: 0x1F, green: 0x77, blue: 0xB4)
    public static let orange = RGBColor(red: 0xFF, green: 0x7F, blue: 0x0E)
}
