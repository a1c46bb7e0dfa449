import XCTest
@testable import TailorFormats

final class TailorFormatsSmokeTests: XCTestCase {
    func testModuleLoads() {
        XCTAssertEqual(String(describing: TailorFormats.self), "TailorFormats")
    }
}
