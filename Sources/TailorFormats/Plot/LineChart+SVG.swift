extension LineChart {
    /// The chart as a standalone SVG 1.1 document (same layout as `rasterize()`).
    ///
    /// Each series is a `<g class="series" data-name="…">` holding one `<polyline>` per unbroken run of
    /// finite points (pixel coordinates, 2 decimals) and, with `markers`, a `<circle>` per point.
    public func svg() -> String {
        let layout = ChartLayout(self)
        let fontSize = ChartLayout.glyphHeight
        var out = """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="\(width)" height="\(height)" \
        viewBox="0 0 \(width) \(height)" font-family="DejaVu Sans Mono, monospace" font-size="\(fontSize)">

        """
        func line(_ text: String) { out += text + "\n" }
        func number(_ value: Double) -> String { ChartLayout.fixed(value, decimals: 2) }

        line("<rect x=\"0\" y=\"0\" width=\"\(width)\" height=\"\(height)\" fill=\"#ffffff\"/>")
        if !title.isEmpty {
            line("<text x=\"\(number(Double(width) / 2))\" y=\"\(16 + fontSize)\" text-anchor=\"middle\">\(Self.escaped(title))</text>")
        }
        // Grid, ticks and tick labels.
        line("<g class=\"grid\" stroke=\"\(RGBColor.grid.hex)\" stroke-width=\"1\">")
        for tick in layout.yTicks {
            line("<line x1=\"\(number(layout.left))\" y1=\"\(number(tick.position))\" x2=\"\(number(layout.right))\" y2=\"\(number(tick.position))\"/>")
        }
        for tick in layout.xTicks {
            line("<line x1=\"\(number(tick.position))\" y1=\"\(number(layout.top))\" x2=\"\(number(tick.position))\" y2=\"\(number(layout.bottom))\"/>")
        }
        line("</g>")
        line("<g class=\"ticks\" stroke=\"#000000\" stroke-width=\"1\">")
        for tick in layout.yTicks {
            line("<line x1=\"\(number(layout.left - ChartLayout.tickLength))\" y1=\"\(number(tick.position))\" x2=\"\(number(layout.left))\" y2=\"\(number(tick.position))\"/>")
        }
        for tick in layout.xTicks {
            line("<line x1=\"\(number(tick.position))\" y1=\"\(number(layout.bottom))\" x2=\"\(number(tick.position))\" y2=\"\(number(layout.bottom + ChartLayout.tickLength))\"/>")
        }
        line("</g>")
        line("<g class=\"tick-labels\">")
        for tick in layout.yTicks {
            let x = layout.left - ChartLayout.tickLength - 6
            line("<text x=\"\(number(x))\" y=\"\(number(tick.position + Double(fontSize) / 2))\" text-anchor=\"end\">\(tick.label)</text>")
        }
        for tick in layout.xTicks {
            let y = layout.bottom + ChartLayout.tickLength + 6 + Double(fontSize)
            line("<text x=\"\(number(tick.position))\" y=\"\(number(y))\" text-anchor=\"middle\">\(tick.label)</text>")
        }
        line("</g>")
        // Axis labels.
        let xLabelY = Double(height) - 12
        line("<text x=\"\(number((layout.left + layout.right) / 2))\" y=\"\(number(xLabelY))\" text-anchor=\"middle\">\(Self.escaped(xLabel))</text>")
        let yLabelX = 12 + Double(fontSize)
        let yLabelY = (layout.top + layout.bottom) / 2
        line("<text x=\"\(number(yLabelX))\" y=\"\(number(yLabelY))\" text-anchor=\"middle\" transform=\"rotate(-90 \(number(yLabelX)) \(number(yLabelY)))\">\(Self.escaped(yLabel))</text>")

        // Series, clipped to the plot area.
        line("<clipPath id=\"plot-area\"><rect x=\"\(number(layout.left))\" y=\"\(number(layout.top))\" width=\"\(number(layout.right - layout.left))\" height=\"\(number(layout.bottom - layout.top))\"/></clipPath>")
        for series in self.series {
            line("<g class=\"series\" data-name=\"\(Self.escaped(series.name))\" clip-path=\"url(#plot-area)\">")
            for run in layout.runs(series) {
                let points = run.map { "\(number($0.0)),\(number($0.1))" }.joined(separator: " ")
                line("<polyline fill=\"none\" stroke=\"\(series.color.hex)\" stroke-width=\"2\" stroke-linejoin=\"round\" points=\"\(points)\"/>")
                if series.markers {
                    for (x, y) in run {
                        line("<circle cx=\"\(number(x))\" cy=\"\(number(y))\" r=\"3.5\" fill=\"\(series.color.hex)\"/>")
                    }
                }
            }
            line("</g>")
        }
        // Frame on top of the series.
        line("<rect x=\"\(number(layout.left))\" y=\"\(number(layout.top))\" width=\"\(number(layout.right - layout.left))\" height=\"\(number(layout.bottom - layout.top))\" fill=\"none\" stroke=\"#000000\" stroke-width=\"1\"/>")
        if let legend = layout.legend(self) {
            line("<g class=\"legend\">")
            line("<rect x=\"\(number(legend.x))\" y=\"\(number(legend.y))\" width=\"\(number(legend.width))\" height=\"\(number(legend.height))\" fill=\"#ffffff\" stroke=\"\(RGBColor.legendBorder.hex)\"/>")
            for row in legend.rows {
                let x0 = legend.x + 10
                line("<line x1=\"\(number(x0))\" y1=\"\(number(row.centerY))\" x2=\"\(number(x0 + 28))\" y2=\"\(number(row.centerY))\" stroke=\"\(row.series.color.hex)\" stroke-width=\"2\"/>")
                line("<text x=\"\(number(x0 + 36))\" y=\"\(number(row.centerY + Double(fontSize) / 2))\">\(Self.escaped(row.series.name))</text>")
            }
            line("</g>")
        }
        line("</svg>")
        return out
    }

    static func escaped(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(character)
            }
        }
        return out
    }
}
