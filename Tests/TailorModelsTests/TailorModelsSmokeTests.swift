import XCTest
@testable import TailorModels

final class TailorModelsSmokeTests: XCTestCase {
    func testModuleLoads() {
        XCTAssertEqual(String(describing: TailorModels.self), "TailorModels")
    }
}
