@testable import tailor
import TailorTraining
import XCTest

/// `tailor train --help` shows the key list made from `RecipeKeys.table`.
final class TrainHelpTests: XCTestCase {
    func testHelpShowsTheTableKeyList() {
        let help = TrainCommand.helpMessage(columns: 200)
        for line in RecipeHelp.text().split(separator: "\n") {
            XCTAssertTrue(help.contains(line), "missing from tailor train --help: \(line)")
        }
        XCTAssertTrue(help.contains("An unknown key is an error naming the nearest one."), help)
    }
}
