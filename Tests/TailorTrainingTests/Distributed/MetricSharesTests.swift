@testable import TailorTraining
import XCTest

/// A step's loss and metric sums survive the bytes ranks exchange, and the sum over ranks gives
/// each metric's mean over every micro-batch that reported it.
final class MetricSharesTests: XCTestCase {
    func testEncodingRoundTripsEveryBit() throws {
        var shares = MetricShares()
        shares.add(loss: 0.1 + 0.2, metrics: ["rewards/margins": -1.5e-300, "logps/chosen": .pi, "kl": 0])
        shares.add(loss: 1e-17, metrics: ["rewards/margins": 3, "é/ünïcode": 7])
        let decoded = try XCTUnwrap(MetricShares(decoding: shares.encoded))
        XCTAssertEqual(decoded, shares)
        XCTAssertEqual(decoded.metrics["rewards/margins"]?.count, 2)
        XCTAssertNil(MetricShares(decoding: [1, 2, 3]), "too short for the loss")
        XCTAssertNil(MetricShares(decoding: shares.encoded.dropLast(3).map { $0 }), "a cut metric")
    }

    func testTheOneProcessSumIsTheIdentity() throws {
        var shares = MetricShares()
        shares.add(loss: 2, metrics: ["a": 1])
        shares.add(loss: 3, metrics: ["a": 4, "b": 5])
        let summed = try shares.summed(over: SingleProcess(), label: "test")
        XCTAssertEqual(summed, shares)
        XCTAssertEqual(summed.means, ["a": 2.5, "b": 5])
    }
}
