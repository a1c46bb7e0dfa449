#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Where everything of a `LineChart` goes, in pixels (y grows downwards). Shared by the SVG and raster
/// renderers so both show the same picture. Text metrics are the bitmap font's at `textScale`.
struct ChartLayout {
    struct Tick {
        var value: Double
        var label: String
        /// Pixel position along its axis (x for x ticks, y for y ticks).
        var position: Double
    }

    static let textScale = 2
    static var glyphHeight: Int { BitmapFont.height * textScale }
    static let tickLength = 5.0

    var width: Int
    var height: Int
    /// The plot area: left, top, right, bottom.
    var left: Double, top: Double, right: Double, bottom: Double
    var xMin: Double, xMax: Double, yMin: Double, yMax: Double
    var xTicks: [Tick]
    var yTicks: [Tick]

    init(_ chart: LineChart) {
        width = chart.width
        height = chart.height
        let points = chart.series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite }
        let (x0, x1) = Self.range(points.map(\.x), fallback: (0, 1))
        let (y0, y1) = Self.range(points.map(\.y), fallback: (0, 1))
        let yStep = Self.niceStep((y1 - y0) / 5)
        yMin = (y0 / yStep).rounded(.down) * yStep
        yMax = (y1 / yStep).rounded(.up) * yStep
        let xStep = Self.niceStep((x1 - x0) / 6)
        xMin = x0
        xMax = x1

        let yValues = Self.ticks(from: yMin, to: yMax, step: yStep)
        let yLabels = yValues.map { Self.label($0, step: yStep) }
        let yLabelWidth = Double(yLabels.map { BitmapFont.textWidth($0, scale: Self.textScale) }.max() ?? 0)
        let glyph = Double(Self.glyphHeight)
        left = 12 + glyph + 12 + yLabelWidth + 6 + Self.tickLength
        right = Double(width) - 24
        top = chart.title.isEmpty ? 16 : 16 + glyph + 14
        bottom = Double(height) - (Self.tickLength + 6 + glyph + 12 + glyph + 12)

        var yTicks: [Tick] = []
        for (value, label) in zip(yValues, yLabels) {
            yTicks.append(Tick(value: value, label: label, position: 0))
        }
        var xTicks: [Tick] = []
        for value in Self.ticks(from: x0, to: x1, step: xStep) {
            xTicks.append(Tick(value: value, label: Self.label(value, step: xStep), position: 0))
        }
        self.yTicks = yTicks
        self.xTicks = xTicks
        for index in self.yTicks.indices { self.yTicks[index].position = pixelY(self.yTicks[index].value) }
        for index in self.xTicks.indices { self.xTicks[index].position = pixelX(self.xTicks[index].value) }
    }

    func pixelX(_ x: Double) -> Double {
        left + (x - xMin) / (xMax - xMin) * (right - left)
    }

    func pixelY(_ y: Double) -> Double {
        bottom - (y - yMin) / (yMax - yMin) * (bottom - top)
    }

    /// The series' finite points in pixels, split into runs at non-finite points.
    func runs(_ series: LineChart.Series) -> [[(Double, Double)]] {
        var runs: [[(Double, Double)]] = [[]]
        for point in series.points {
            if point.x.isFinite && point.y.isFinite {
                runs[runs.count - 1].append((pixelX(point.x), pixelY(point.y)))
            } else if !runs[runs.count - 1].isEmpty {
                runs.append([])
            }
        }
        return runs.filter { !$0.isEmpty }
    }

    /// Legend box (top-right inside the plot area): its frame and each entry's baseline row.
    struct Legend {
        var x: Double, y: Double, width: Double, height: Double
        var rows: [(series: LineChart.Series, centerY: Double)]
    }

    func legend(_ chart: LineChart) -> Legend? {
        let named = chart.series.filter { !$0.name.isEmpty }
        guard !named.isEmpty else { return nil }
        let glyph = Double(Self.glyphHeight)
        let textWidth = Double(named.map { BitmapFont.textWidth($0.name, scale: Self.textScale) }.max() ?? 0)
        let rowHeight = glyph + 8
        let width = 10 + 28 + 8 + textWidth + 10
        let height = 8 + rowHeight * Double(named.count)
        let x = right - 10 - width
        let y = top + 10
        let rows = named.enumerated().map { index, series in
            (series: series, centerY: y + 8 + rowHeight * Double(index) + glyph / 2)
        }
        return Legend(x: x, y: y, width: width, height: height, rows: rows)
    }

    // MARK: Ticks

    /// The data range, padded when all values are equal; `fallback` when there are none.
    static func range(_ values: [Double], fallback: (Double, Double)) -> (Double, Double) {
        guard let low = values.min(), let high = values.max() else { return fallback }
        if high > low { return (low, high) }
        let pad = low == 0 ? 1 : abs(low) * 0.1
        return (low - pad, high + pad)
    }

    /// 1, 2 or 5 times a power of ten, at least `rough`.
    static func niceStep(_ rough: Double) -> Double {
        guard rough > 0, rough.isFinite else { return 1 }
        let power = pow10((rough.log10Floor))
        let fraction = rough / power
        let nice: Double = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10
        return nice * power
    }

    static func ticks(from low: Double, to high: Double, step: Double) -> [Double] {
        var values: [Double] = []
        var index = (low / step - 1e-9).rounded(.up)
        while index * step <= high + step * 1e-9, values.count < 50 {
            values.append(index * step == 0 ? 0 : index * step)
            index += 1
        }
        return values
    }

    /// `value` with as many decimals as `step` needs; exponent form for very small or large steps.
    static func label(_ value: Double, step: Double) -> String {
        let exponent = Int(step.log10Floor)  // allowed: chart ticks and exponents of finite plotted values (the layout drops non-finite ones), a few hundred at most
        if exponent < -4 || exponent > 6 {
            return scientific(value)
        }
        return fixed(value, decimals: max(0, -exponent))
    }

    static func fixed(_ value: Double, decimals: Int) -> String {
        let scale = pow10(Double(decimals))
        let scaled = (abs(value) * scale).rounded()
        guard scaled < 9e18 else { return value.description }  // a diverged loss of 1e30 is labelled, not a trap
        var digits = String(Int64(scaled))  // allowed: 0 <= scaled < 9e18 < 2^63, checked just before
        if decimals > 0 {
            if digits.count <= decimals { digits = String(repeating: "0", count: decimals - digits.count + 1) + digits }
            digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -decimals))
        }
        return (value < 0 && scaled != 0 ? "-" : "") + digits
    }

    /// `1.5e-05` style with up to 2 decimals in the mantissa.
    static func scientific(_ value: Double) -> String {
        if value == 0 { return "0" }
        var exponent = Int(abs(value).log10Floor)  // allowed: chart ticks and exponents of finite plotted values (the layout drops non-finite ones), a few hundred at most
        var mantissa = value / pow10(Double(exponent))
        if abs(mantissa).rounded() >= 10 { exponent += 1; mantissa /= 10 }
        var text = fixed(mantissa, decimals: 2)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        let sign = exponent < 0 ? "-" : "+"
        let magnitude = String(abs(exponent))
        return text + "e" + sign + (magnitude.count < 2 ? "0" + magnitude : magnitude)
    }

    static func pow10(_ exponent: Double) -> Double {
        var result = 1.0
        let count = Int(abs(exponent))  // allowed: chart ticks and exponents of finite plotted values (the layout drops non-finite ones), a few hundred at most
        for _ in 0..<count { result *= 10 }
        return exponent < 0 ? 1 / result : result
    }
}

extension Double {
    /// floor(log10(self)), exact at powers of ten; 0 for values that are not positive and finite.
    var log10Floor: Double {
        guard self > 0, isFinite else { return 0 }
        var exponent = log10(self).rounded(.down)
        if ChartLayout.pow10(exponent) > self { exponent -= 1 }
        if ChartLayout.pow10(exponent + 1) <= self { exponent += 1 }
        return exponent
    }
}
