import TailorJSON
import XCTest

final class JSONObjectTests: XCTestCase {
    func testSubscriptKeepsPlaces() {
        var object: JSONObject = ["b": 1, "a": 2]
        object["b"] = 3
        object["c"] = 4
        XCTAssertEqual(object.keys, ["b", "a", "c"])
        XCTAssertEqual(object["b"], 3)
        object["a"] = nil
        XCTAssertEqual(object.keys, ["b", "c"])
        XCTAssertNil(object["a"])
    }

    func testRepeatedKeysKeepFirstPlaceAndLastValue() {
        let object = JSONObject([("a", 1), ("b", 2), ("a", 3)])
        XCTAssertEqual(object.keys, ["a", "b"])
        XCTAssertEqual(object["a"], 3)
    }

    func testKeysAndStringsCompareByteForByte() {
        let composed: JSONValue = "\u{E9}", decomposed: JSONValue = "e\u{301}"
        XCTAssertNotEqual(composed, decomposed)
        XCTAssertEqual(Set([composed, decomposed]).count, 2)
        let object = JSONObject([("\u{E9}", 1), ("e\u{301}", 2)])
        XCTAssertEqual(object.count, 2)
        XCTAssertEqual(object["e\u{301}"], 2)
    }

    func testOrderMattersForEquality() {
        XCTAssertNotEqual(JSONValue.object(["a": 1, "b": 2]), JSONValue.object(["b": 2, "a": 1]))
        XCTAssertNotEqual(JSONValue.int(1), JSONValue.double(1))
        XCTAssertEqual(JSONValue.object(["a": [1, 2.5, nil]]), ["a": [1, 2.5, nil]])
    }
}
