extension LineChart {
    /// The chart as pixels (same layout as `svg()`): white background, grid, frame, ticks, labels in the
    /// built-in bitmap font, anti-aliased series lines 2 px wide, legend.
    public func rasterize() -> RGBImage {
        let layout = ChartLayout(self)
        let scale = ChartLayout.textScale
        let glyph = ChartLayout.glyphHeight
        var image = RGBImage(width: width, height: height)
        let left = Int(layout.left.rounded()), right = Int(layout.right.rounded())  // allowed: pixel coordinates inside the fixed-size chart image
        let top = Int(layout.top.rounded()), bottom = Int(layout.bottom.rounded())  // allowed: pixel coordinates inside the fixed-size chart image
        let tick = Int(ChartLayout.tickLength)  // allowed: pixel coordinates inside the fixed-size chart image

        if !title.isEmpty {
            let textWidth = BitmapFont.textWidth(title, scale: scale)
            image.text(title, x: (width - textWidth) / 2, y: 16, scale: scale, .black)
        }
        for yTick in layout.yTicks {
            let y = Int(yTick.position.rounded(.down))  // allowed: pixel coordinates inside the fixed-size chart image
            image.hLine(y: y, from: left, to: right, .grid)
            image.hLine(y: y, from: left - tick, to: left, .black)
            let textWidth = BitmapFont.textWidth(yTick.label, scale: scale)
            image.text(yTick.label, x: left - tick - 6 - textWidth, y: y - glyph / 2, scale: scale, .black)
        }
        for xTick in layout.xTicks {
            let x = Int(xTick.position.rounded(.down))  // allowed: pixel coordinates inside the fixed-size chart image
            image.vLine(x: x, from: top, to: bottom, .grid)
            image.vLine(x: x, from: bottom, to: bottom + tick, .black)
            let textWidth = BitmapFont.textWidth(xTick.label, scale: scale)
            image.text(xTick.label, x: x - textWidth / 2, y: bottom + tick + 6, scale: scale, .black)
        }
        let xLabelWidth = BitmapFont.textWidth(xLabel, scale: scale)
        image.text(xLabel, x: (left + right - xLabelWidth) / 2, y: height - 12 - glyph, scale: scale, .black)
        let yLabelWidth = BitmapFont.textWidth(yLabel, scale: scale)
        image.text(yLabel, x: 12, y: (top + bottom + yLabelWidth) / 2, scale: scale, .black, vertical: true)

        let clip = (left, top, right + 1, bottom + 1)
        for series in self.series {
            for run in layout.runs(series) {
                if run.count == 1 {
                    image.dot(run[0].0, run[0].1, radius: 2, series.color, clip: clip)
                }
                for (a, b) in zip(run, run.dropFirst()) {
                    image.segment(a.0, a.1, b.0, b.1, thickness: 2, series.color, clip: clip)
                }
                if series.markers {
                    for (x, y) in run { image.dot(x, y, radius: 3.5, series.color, clip: clip) }
                }
            }
        }
        // Frame on top of the series.
        image.hLine(y: top, from: left, to: right, .black)
        image.hLine(y: bottom, from: left, to: right, .black)
        image.vLine(x: left, from: top, to: bottom, .black)
        image.vLine(x: right, from: top, to: bottom, .black)

        if let legend = layout.legend(self) {
            let x0 = Int(legend.x.rounded()), y0 = Int(legend.y.rounded())  // allowed: pixel coordinates inside the fixed-size chart image
            let x1 = Int((legend.x + legend.width).rounded()), y1 = Int((legend.y + legend.height).rounded())  // allowed: pixel coordinates inside the fixed-size chart image
            image.fill(x0: x0, y0: y0, x1: x1, y1: y1, .white)
            image.hLine(y: y0, from: x0, to: x1, .legendBorder)
            image.hLine(y: y1, from: x0, to: x1, .legendBorder)
            image.vLine(x: x0, from: y0, to: y1, .legendBorder)
            image.vLine(x: x1, from: y0, to: y1, .legendBorder)
            for row in legend.rows {
                let lineX = legend.x + 10
                image.segment(lineX, row.centerY, lineX + 28, row.centerY, thickness: 2, row.series.color)
                image.text(row.series.name, x: Int(lineX) + 36, y: Int(row.centerY.rounded()) - glyph / 2,  // allowed: pixel coordinates inside the fixed-size chart image
                           scale: scale, .black)
            }
        }
        return image
    }

    /// The chart as PNG file bytes (`PNGEncoder.encode(rasterize())`).
    /// - Throws: `FormatError.cannotWrite` if zlib fails (out of memory).
    public func png() throws -> [UInt8] {
        try PNGEncoder.encode(rasterize())
    }
}
