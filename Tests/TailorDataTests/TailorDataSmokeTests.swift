import XCTest
@testable import TailorData

final class TailorDataSmokeTests: XCTestCase {
    func testModuleLoads() {
        XCTAssertEqual(String(describing: TailorData.self), "TailorData")
    }
}
