import Foundation
@testable import TailorFormats
import XCTest

/// `tailor eval`'s bar chart: bars where the values say, none for a missing value, a PNG zlib reads.
final class BarChartTests: XCTestCase {
    func testBarsStandWhereTheValuesSay() throws {
        var chart = BarChart(title: "t", yLabel: "score", groups: ["a", "b"], width: 400, height: 300)
        chart.series = [BarChart.Series(name: "base", values: [10, .nan], color: .blue),
                        BarChart.Series(name: "tuned", values: [20, 40], color: .orange)]
        let image = chart.rasterize()
        // Plot area: left 80, right 380; two groups of 150 px; bars 56 px wide (3/4 of a group over 2 series).
        let bottom = 300 - 64 - 2 * (ChartLayout.glyphHeight + 6)
        func column(_ x: Int, color: RGBColor) -> Int { (0..<bottom).filter { image.pixel(x: x, y: $0) == color }.count }
        let groupWidth = 150, barWidth = (groupWidth * 3 / 4) / 2
        let x0 = 80 + (groupWidth - 2 * barWidth) / 2
        let top = 50, plot = Double(bottom - top)
        // The axis runs to 40 (ticks of 10): base's 10 is a quarter of the height, tuned's 20 half.
        XCTAssertEqual(Double(column(x0 + barWidth / 2, color: .blue)), plot / 4, accuracy: 2)
        XCTAssertEqual(Double(column(x0 + barWidth + barWidth / 2, color: .orange)), plot / 2, accuracy: 2)
        XCTAssertEqual(column(80 + groupWidth + (groupWidth - 2 * barWidth) / 2 + barWidth / 2, color: .blue), 0, "no bar for NaN")
        XCTAssertEqual(Double(column(80 + groupWidth + (groupWidth - 2 * barWidth) / 2 + barWidth + barWidth / 2, color: .orange)),
                       plot, accuracy: 2)
        let png = try chart.png()
        XCTAssertEqual(Array(png.prefix(8)), PNGEncoder.signature)
    }
}
