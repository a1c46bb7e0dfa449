import XCTest
@testable import TailorTensor

final class TailorTensorSmokeTests: XCTestCase {
    func testModuleLoads() {
        XCTAssertEqual(DType.bf16.byteSize, 2)
    }
}
