import CZlib
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
@testable import TailorFormats
import TailorTestSupport

/// PNG structure (chunks, CRCs, zlib stream that inflates to the scanlines), SVG content, layout.
/// `TAILOR_KEEP_OUTPUT=DIR` keeps `chart.png` / `chart.svg` for scripts/peers/check_plots.py.
final class LineChartTests: XCTestCase {
    static func sampleChart() -> LineChart {
        var chart = LineChart(title: "Training loss", xLabel: "step", yLabel: "loss")
        func curve(_ step: Double) -> Double { 2.5 * exp(-step / 30) }
        let train: [(Double, Double)] = (1...100).map { step in
            let x = Double(step)
            return (x, curve(x) + 0.4 + 0.05 * sin(x))
        }
        let eval: [(Double, Double)] = stride(from: 20, through: 100, by: 20).map { step in
            (Double(step), curve(Double(step)) + 0.55)
        }
        chart.series = [
            .init(name: "train loss", points: train, color: .blue),
            .init(name: "eval loss", points: eval, color: .orange, markers: true),
        ]
        return chart
    }

    func testPNGChunksCRCsAndScanlines() throws {
        let chart = Self.sampleChart()
        let image = chart.rasterize()
        let png = try PNGEncoder.encode(image)
        keep(png, "chart.png")
        XCTAssertEqual(Array(png.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])

        var chunks: [(type: String, data: [UInt8])] = []
        var offset = 8
        while offset < png.count {
            let length = Int(Self.u32(png, offset))
            let type = String(decoding: png[offset + 4..<offset + 8], as: UTF8.self)
            let data = Array(png[offset + 8..<offset + 8 + length])
            let crc = Self.u32(png, offset + 8 + length)
            XCTAssertEqual(crc, Self.crc32(Array(png[offset + 4..<offset + 8 + length])), "CRC of \(type)")
            chunks.append((type, data))
            offset += 12 + length
        }
        XCTAssertEqual(offset, png.count)
        XCTAssertEqual(chunks.map(\.type), ["IHDR", "IDAT", "IEND"])
        XCTAssertEqual(chunks[0].data, [0, 0, 3, 0x20, 0, 0, 1, 0xF4, 8, 2, 0, 0, 0], "800×500, 8-bit RGB")
        XCTAssertEqual(chunks[2].data, [])

        // Inflating IDAT gives filter byte 0 + the row's RGB bytes, row after row.
        var raw = [UInt8](repeating: 0, count: (800 * 3 + 1) * 500)
        var rawLength = uLong(raw.count)
        let idat = chunks[1].data
        let status = raw.withUnsafeMutableBufferPointer { target in
            idat.withUnsafeBufferPointer { uncompress(target.baseAddress, &rawLength, $0.baseAddress, uLong($0.count)) }
        }
        XCTAssertEqual(status, Z_OK)
        XCTAssertEqual(Int(rawLength), raw.count)
        XCTAssertEqual(raw, PNGEncoder.rawScanlines(image))
        for row in 0..<500 {
            XCTAssertEqual(raw[row * 2401], 0, "filter type of row \(row)")
            XCTAssertEqual(Array(raw[row * 2401 + 1..<(row + 1) * 2401]), Array(image.pixels[row * 2400..<(row + 1) * 2400]))
        }
    }

    func testPNGCRCKnownVector() throws {
        // IEND's CRC is fixed by the spec: AE 42 60 82.
        XCTAssertEqual(PNGEncoder.chunk("IEND", []), [0, 0, 0, 0, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82])
        XCTAssertEqual(Self.crc32(Array("123456789".utf8)), 0xCBF4_3926)
    }

    /// The pixels show what the chart says: white corners, black frame, the series' colors near their points.
    func testRasterPixels() {
        let chart = Self.sampleChart()
        let layout = ChartLayout(chart)
        let image = chart.rasterize()
        XCTAssertEqual(image.pixel(x: 0, y: 0), .white)
        XCTAssertEqual(image.pixel(x: 799, y: 499), .white)
        XCTAssertEqual(image.pixel(x: Int(layout.left.rounded()), y: Int(((layout.top + layout.bottom) / 2).rounded())), .black, "frame")
        // The middle of a train segment is the series color.
        let a = chart.series[0].points[40], b = chart.series[0].points[41]
        let mx = (layout.pixelX(a.x) + layout.pixelX(b.x)) / 2, my = (layout.pixelY(a.y) + layout.pixelY(b.y)) / 2
        XCTAssertEqual(image.pixel(x: Int(mx), y: Int(my)), .blue)
        // An eval marker's center is orange.
        let e = chart.series[1].points[2]
        XCTAssertEqual(image.pixel(x: Int(layout.pixelX(e.x)), y: Int(layout.pixelY(e.y))), .orange)
        // Title text has ink: some black pixel in the title band.
        let titleBand = (16..<30).flatMap { y in (0..<800).map { image.pixel(x: $0, y: y) } }
        XCTAssertTrue(titleBand.contains(.black))
    }

    func testSVGHoldsTheSeriesPoints() throws {
        let chart = Self.sampleChart()
        let svg = chart.svg()
        keep(Array(svg.utf8), "chart.svg")
        let layout = ChartLayout(chart)
        XCTAssertTrue(svg.hasPrefix("<?xml"))
        XCTAssertTrue(svg.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""))
        XCTAssertTrue(svg.hasSuffix("</svg>\n"))
        for series in chart.series {
            XCTAssertTrue(svg.contains("data-name=\"\(series.name)\""))
            let points = series.points.map {
                ChartLayout.fixed(layout.pixelX($0.x), decimals: 2) + "," + ChartLayout.fixed(layout.pixelY($0.y), decimals: 2)
            }.joined(separator: " ")
            XCTAssertTrue(svg.contains("points=\"\(points)\""), "polyline of \(series.name)")
        }
        XCTAssertEqual(svg.components(separatedBy: "<circle").count - 1, 5, "eval markers")
        for label in ["Training loss", ">step<", ">loss<", ">train loss<", ">eval loss<"] {
            XCTAssertTrue(svg.contains(label), label)
        }
        for tick in layout.yTicks + layout.xTicks { XCTAssertTrue(svg.contains(">\(tick.label)</text>"), tick.label) }
        // Parses as XML.
        let parser = XMLParser(data: Data(svg.utf8))
        XCTAssertTrue(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "")")
    }

    func testNonFinitePointsBreakTheLine() {
        var chart = LineChart(title: "", xLabel: "x", yLabel: "y")
        chart.series = [.init(name: "s <&>", points: [(1, 1), (2, .nan), (3, 2), (4, 3)], color: .blue)]
        let svg = chart.svg()
        XCTAssertEqual(svg.components(separatedBy: "<polyline").count - 1, 2)
        XCTAssertTrue(svg.contains("data-name=\"s &lt;&amp;&gt;\""))
        XCTAssertFalse(svg.contains("nan"))
    }

    func testTicksAndLabels() {
        XCTAssertEqual(ChartLayout.niceStep(0.23), 0.5)
        XCTAssertEqual(ChartLayout.niceStep(1), 1)
        XCTAssertEqual(ChartLayout.niceStep(16.5), 20)
        XCTAssertEqual(ChartLayout.ticks(from: 0.3, to: 2.4, step: 0.5), [0.5, 1.0, 1.5, 2.0])
        XCTAssertEqual(ChartLayout.label(0.5, step: 0.5), "0.5")
        XCTAssertEqual(ChartLayout.label(2, step: 0.5), "2.0")
        XCTAssertEqual(ChartLayout.label(-0.25, step: 0.05), "-0.25")
        XCTAssertEqual(ChartLayout.label(300, step: 100), "300")
        XCTAssertEqual(ChartLayout.label(2e-5, step: 1e-5), "2e-05")
        XCTAssertEqual(ChartLayout.label(0, step: 1e-5), "0")
        XCTAssertEqual(0.001.log10Floor, -3)
        XCTAssertEqual(1000.0.log10Floor, 3)
        // One point, or all equal: a padded range, no division by zero.
        var chart = LineChart(title: "t", xLabel: "x", yLabel: "y")
        chart.series = [.init(name: "one", points: [(5, 2)], color: .blue)]
        let layout = ChartLayout(chart)
        XCTAssertTrue(layout.pixelX(5).isFinite && layout.pixelY(2).isFinite)
        XCTAssertFalse(layout.yTicks.isEmpty)
        _ = chart.rasterize()
        // No series at all still renders.
        XCTAssertTrue(LineChart(title: "empty", xLabel: "x", yLabel: "y").svg().contains("</svg>"))
    }

    // MARK: Helpers

    func keep(_ bytes: [UInt8], _ name: String) {
        guard let folder = ProcessInfo.processInfo.environment["TAILOR_KEEP_OUTPUT"] else { return }
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try? Data(bytes).write(to: URL(fileURLWithPath: folder).appendingPathComponent(name))
    }

    static func u32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        bytes[at..<at + 4].reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// CRC-32 (ISO-HDLC, as in PNG), bit by bit: independent of zlib's.
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return crc ^ 0xFFFF_FFFF
    }
}
