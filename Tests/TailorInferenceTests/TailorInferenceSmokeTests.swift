import XCTest
@testable import TailorInference

final class TailorInferenceSmokeTests: XCTestCase {
    func testModuleLoads() {
        XCTAssertEqual(String(describing: TailorInference.self), "TailorInference")
    }
}
