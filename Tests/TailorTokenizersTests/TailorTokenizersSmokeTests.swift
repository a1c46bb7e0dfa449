import XCTest
@testable import TailorTokenizers

final class TailorTokenizersSmokeTests: XCTestCase {
    func testModuleLoads() {
        XCTAssertEqual(String(describing: TailorTokenizers.self), "TailorTokenizers")
    }
}
