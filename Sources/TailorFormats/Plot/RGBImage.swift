/// An 8-bit RGB image, rows top to bottom, 3 bytes per pixel, with the few drawing operations charts need:
/// rectangles, anti-aliased thick lines and dots, and text in the built-in 5×7 bitmap font.
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// `width * height * 3` bytes, row-major.
    public var pixels: [UInt8]

    public init(width: Int, height: Int, background: RGBColor = .white) {
        precondition(width > 0 && height > 0, "image size must be positive")
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 0, count: width * height * 3)
        for index in 0..<(width * height) {
            pixels[index * 3] = background.red
            pixels[index * 3 + 1] = background.green
            pixels[index * 3 + 2] = background.blue
        }
    }

    public func pixel(x: Int, y: Int) -> RGBColor {
        let offset = (y * width + x) * 3
        return RGBColor(red: pixels[offset], green: pixels[offset + 1], blue: pixels[offset + 2])
    }

    /// Mixes `color` into the pixel with weight `alpha` (0...1); points outside the image are ignored.
    mutating func blend(x: Int, y: Int, _ color: RGBColor, alpha: Double = 1) {
        guard x >= 0, y >= 0, x < width, y < height, alpha > 0 else { return }
        let a = min(alpha, 1)
        let offset = (y * width + x) * 3
        func mix(_ old: UInt8, _ new: UInt8) -> UInt8 {
            UInt8((Double(old) * (1 - a) + Double(new) * a).rounded())  // allowed: blended channel values in [0, 255] and pixel bounds of finite line ends inside the image
        }
        pixels[offset] = mix(pixels[offset], color.red)
        pixels[offset + 1] = mix(pixels[offset + 1], color.green)
        pixels[offset + 2] = mix(pixels[offset + 2], color.blue)
    }

    /// Fills the pixels whose centers lie in `[x0, x1) × [y0, y1)`, clipped to the image.
    mutating func fill(x0: Int, y0: Int, x1: Int, y1: Int, _ color: RGBColor) {
        for y in max(0, y0)..<max(max(0, y0), min(height, y1)) {
            for x in max(0, x0)..<max(max(0, x0), min(width, x1)) { blend(x: x, y: y, color) }
        }
    }

    /// A one-pixel horizontal or vertical line through pixel centers (crisp grid and frame lines).
    mutating func hLine(y: Int, from x0: Int, to x1: Int, _ color: RGBColor) {
        fill(x0: min(x0, x1), y0: y, x1: max(x0, x1) + 1, y1: y + 1, color)
    }

    mutating func vLine(x: Int, from y0: Int, to y1: Int, _ color: RGBColor) {
        fill(x0: x, y0: min(y0, y1), x1: x + 1, y1: max(y0, y1) + 1, color)
    }

    /// An anti-aliased segment of width `thickness` with round caps: each pixel's coverage is its
    /// center's distance to the segment, clamped over a one-pixel ramp. `clip` limits it to a rectangle.
    mutating func segment(_ ax: Double, _ ay: Double, _ bx: Double, _ by: Double, thickness: Double,
                          _ color: RGBColor, clip: (Int, Int, Int, Int)? = nil) {
        let half = thickness / 2
        let (cx0, cy0, cx1, cy1) = clip ?? (0, 0, width, height)
        let xLow = max(cx0, Int((min(ax, bx) - half - 1).rounded(.down)))  // allowed: blended channel values in [0, 255] and pixel bounds of finite line ends inside the image
        let xHigh = min(cx1 - 1, Int((max(ax, bx) + half + 1).rounded(.up)))  // allowed: blended channel values in [0, 255] and pixel bounds of finite line ends inside the image
        let yLow = max(cy0, Int((min(ay, by) - half - 1).rounded(.down)))  // allowed: blended channel values in [0, 255] and pixel bounds of finite line ends inside the image
        let yHigh = min(cy1 - 1, Int((max(ay, by) + half + 1).rounded(.up)))  // allowed: blended channel values in [0, 255] and pixel bounds of finite line ends inside the image
        guard xLow <= xHigh, yLow <= yHigh else { return }
        let dx = bx - ax, dy = by - ay
        let lengthSquared = dx * dx + dy * dy
        for y in yLow...yHigh {
            for x in xLow...xHigh {
                // Pixel (x, y) covers [x, x+1) × [y, y+1); its center is at +0.5.
                let px = Double(x) + 0.5 - ax, py = Double(y) + 0.5 - ay
                let t = lengthSquared == 0 ? 0 : max(0, min(1, (px * dx + py * dy) / lengthSquared))
                let ex = px - t * dx, ey = py - t * dy
                let distance = (ex * ex + ey * ey).squareRoot()
                let coverage = half + 0.5 - distance
                if coverage > 0 { blendMax(x: x, y: y, color, coverage: coverage) }
            }
        }
    }

    /// A filled anti-aliased disc.
    mutating func dot(_ cx: Double, _ cy: Double, radius: Double, _ color: RGBColor, clip: (Int, Int, Int, Int)? = nil) {
        segment(cx, cy, cx, cy, thickness: radius * 2, color, clip: clip)
    }

    /// Blending where a pixel already at least as close to `color` is left alone, so the joints of a
    /// polyline (covered by two segments' caps) are not drawn twice darker.
    private mutating func blendMax(x: Int, y: Int, _ color: RGBColor, coverage: Double) {
        let offset = (y * width + x) * 3
        let old = (Double(pixels[offset]), Double(pixels[offset + 1]), Double(pixels[offset + 2]))
        let target = (Double(color.red), Double(color.green), Double(color.blue))
        let alpha = min(coverage, 1)
        let new = (old.0 + (target.0 - old.0) * alpha, old.1 + (target.1 - old.1) * alpha, old.2 + (target.2 - old.2) * alpha)
        func gap(_ a: (Double, Double, Double)) -> Double {
            abs(a.0 - target.0) + abs(a.1 - target.1) + abs(a.2 - target.2)
        }
        if gap(new) < gap(old) { blend(x: x, y: y, color, alpha: alpha) }
    }

    /// Draws `text` in the bitmap font, each font pixel a `scale`×`scale` square; (x, y) is the top-left
    /// corner. `vertical` turns it 90° counter-clockwise (reading bottom to top); (x, y) is then the
    /// bottom-left corner of the turned text.
    mutating func text(_ text: String, x: Int, y: Int, scale: Int, _ color: RGBColor, vertical: Bool = false) {
        var pen = 0
        for character in text {
            let rows = BitmapFont.rows(character)
            for (row, bits) in rows.enumerated() {
                for column in 0..<BitmapFont.width where bits & (1 << (BitmapFont.width - 1 - column)) != 0 {
                    let u = (pen + column) * scale, v = row * scale
                    if vertical {
                        fill(x0: x + v, y0: y - u - scale, x1: x + v + scale, y1: y - u, color)
                    } else {
                        fill(x0: x + u, y0: y + v, x1: x + u + scale, y1: y + v + scale, color)
                    }
                }
            }
            pen += BitmapFont.advance
        }
    }
}
