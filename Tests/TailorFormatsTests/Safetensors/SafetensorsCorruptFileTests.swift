import Foundation
import XCTest
@testable import TailorFormats
import TailorTestSupport

/// Every malformed-input case must end in a `FormatError` naming the file (and tensor), never a crash.
final class SafetensorsCorruptFileTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws { folder = try makeTemporaryFolder(self) }

    /// Writes raw bytes to a file and returns its URL.
    private func file(_ bytes: [UInt8], name: String = "bad.safetensors") throws -> URL {
        let url = folder.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url
    }

    /// A file with `header` as JSON (length prefix computed unless given) followed by `data`.
    private func file(header: String, data: [UInt8] = [], length: UInt64? = nil) throws -> URL {
        let json = Array(header.utf8)
        var bytes = withUnsafeBytes(of: (length ?? UInt64(json.count)).littleEndian) { Array($0) }
        bytes += json + data
        return try file(bytes)
    }

    private func open(_ url: URL) -> FormatError? {
        let error = expectFormatError { try SafetensorsFile(url: url) }
        XCTAssertTrue(error?.description.contains(url.path) ?? false, "error must name the file: \(String(describing: error))")
        return error
    }

    private let f32x2 = [UInt8](repeating: 0, count: 8)

    func testValidMinimalFileOpens() throws {
        let url = try file(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: f32x2)
        XCTAssertEqual(try SafetensorsFile(url: url).floats("a"), [0, 0])
        // No tensors at all is valid too.
        XCTAssertEqual(try SafetensorsFile(url: try file(header: "{}", length: nil)).tensorNames, [])
    }

    func testShorterThanEightBytes() throws {
        for count in [0, 1, 7] {
            guard case .truncated(_, _, 0, 8, count)? = open(try file([UInt8](repeating: 1, count: count))) else {
                return XCTFail("\(count) bytes: wrong error")
            }
        }
    }

    func testHeaderLengthLargerThanFile() throws {
        guard case .badHeaderLength(_, 1000, _)? = open(try file(header: "{}", length: 1000)) else { return XCTFail() }
    }

    func testAbsurdHeaderLength() throws {
        guard case .badHeaderLength? = open(try file(header: "{}", length: UInt64.max)) else { return XCTFail() }
        guard case .badHeaderLength? = open(try file(header: "{}", length: 100_000_001)) else { return XCTFail() }
    }

    func testHeaderNotJSON() throws {
        for header in ["{", "not json", #"{"a":}"#, "{\"a\":{\"dtype\":\"F32\"}} x", "\u{0}", "{\"\u{1}\":1}"] {
            guard case .invalidHeader? = open(try file(header: header)) else { return XCTFail(header) }
        }
        // Invalid UTF-8 inside a string.
        var bytes = withUnsafeBytes(of: UInt64(6).littleEndian) { Array($0) }
        bytes += [UInt8(ascii: "{"), UInt8(ascii: "\""), 0xFF, UInt8(ascii: "\""), UInt8(ascii: ":"), UInt8(ascii: "}")]
        guard case .invalidHeader? = open(try file(bytes)) else { return XCTFail("invalid UTF-8") }
    }

    func testMalformedHeaderNamesLineAndColumn() throws {
        let url = try file(header: MalformedJSON.text)
        MalformedJSON.assertNamesPosition(url.path + ": the safetensors JSON header is invalid: ") { _ = try SafetensorsFile(url: url) }
        // A lone surrogate is corruption here, as for the Rust reader (serde_json).
        guard case .invalidHeader(_, let detail)? = open(try file(header: #"{"\ud800":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}"#))
        else { return XCTFail() }
        XCTAssertEqual(detail, "not valid JSON at line 1, column 3: \\uD800 is a lone UTF-16 surrogate (not half of a pair), which is no character")
    }

    func testDeeplyNestedHeaderDoesNotOverflowTheStack() throws {
        let header = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        guard case .invalidHeader? = open(try file(header: header)) else { return XCTFail() }
    }

    func testHeaderNotAnObject() throws {
        for header in ["[]", "42", "\"x\"", "null"] {
            guard case .invalidHeader? = open(try file(header: header)) else { return XCTFail(header) }
        }
    }

    func testMetadataMustMapStringsToStrings() throws {
        guard case .invalidHeader? = open(try file(header: #"{"__metadata__":{"a":1}}"#)) else { return XCTFail() }
        guard case .invalidHeader? = open(try file(header: #"{"__metadata__":[]}"#)) else { return XCTFail() }
    }

    func testDuplicateTensorName() throws {
        let entry = #"{"dtype":"F32","shape":[1],"data_offsets":[0,4]}"#
        guard case .invalidHeader? = open(try file(header: "{\"a\":\(entry),\"a\":\(entry)}", data: [0, 0, 0, 0]))
        else { return XCTFail() }
    }

    func testEntryMissingFields() throws {
        let cases = [
            #"{"a":{"shape":[2],"data_offsets":[0,8]}}"#,
            #"{"a":{"dtype":"F32","data_offsets":[0,8]}}"#,
            #"{"a":{"dtype":"F32","shape":[2]}}"#,
            #"{"a":{"dtype":7,"shape":[2],"data_offsets":[0,8]}}"#,
            #"{"a":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}}"#,
            #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}}"#,
            #"{"a":{"dtype":"F32","shape":"2","data_offsets":[0,8]}}"#,
            #"{"a":[1,2]}"#,
        ]
        for header in cases {
            guard case .invalidTensorEntry(_, "a", _)? = open(try file(header: header, data: f32x2)) else {
                return XCTFail(header)
            }
        }
    }

    func testUnknownDType() throws {
        guard case .unknownDType(_, "a", "F12")? = open(try file(
            header: #"{"a":{"dtype":"F12","shape":[2],"data_offsets":[0,8]}}"#, data: f32x2)) else { return XCTFail() }
    }

    func testNegativeAndOverflowingDims() throws {
        guard case .invalidShape(_, "a", [-2])? = open(try file(
            header: #"{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, data: f32x2)) else { return XCTFail() }
        let huge = #"{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}"#
        guard case .invalidShape(_, "a", _)? = open(try file(header: huge, data: f32x2)) else { return XCTFail() }
        // A number too large for Int is not an integer.
        let tooBig = #"{"a":{"dtype":"F32","shape":[99999999999999999999999],"data_offsets":[0,8]}}"#
        guard case .invalidTensorEntry? = open(try file(header: tooBig, data: f32x2)) else { return XCTFail() }
    }

    func testByteCountMismatch() throws {
        guard case .byteCountMismatch(_, "a", 12, 8)? = open(try file(
            header: #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: f32x2)) else { return XCTFail() }
    }

    func testReversedOffsets() throws {
        guard case .invalidOffsets(_, "a", _)? = open(try file(
            header: #"{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}"#, data: f32x2)) else { return XCTFail() }
        guard case .invalidOffsets(_, "a", _)? = open(try file(
            header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}}"#, data: f32x2)) else { return XCTFail() }
    }

    func testOverlappingOffsets() throws {
        let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
        guard case .invalidOffsets(_, "b", let detail)? = open(try file(header: header, data: [UInt8](repeating: 0, count: 12)))
        else { return XCTFail() }
        XCTAssertTrue(detail.contains("overlap"), detail)
    }

    func testGapBetweenTensors() throws {
        let header = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#
        guard case .invalidOffsets(_, "b", _)? = open(try file(header: header, data: [UInt8](repeating: 0, count: 12)))
        else { return XCTFail() }
    }

    func testOffsetsBeyondTheDataSection() throws {
        guard case .truncated(_, let what, _, 8, _)? = open(try file(
            header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, data: [0, 0, 0, 0])) else { return XCTFail() }
        XCTAssertTrue(what.contains("\"a\""), what)
    }

    func testTruncatedPythonFile() throws {
        let original = try Data(contentsOf: TestPaths.fixture("formats/safetensors/basic.safetensors"))
        let url = try file(Array(original.dropLast(3)))
        guard case .truncated? = open(url) else { return XCTFail() }
    }

    func testTrailingBytesAfterTheLastTensor() throws {
        guard case .invalidHeader(_, let detail)? = open(try file(
            header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, data: f32x2)) else { return XCTFail() }
        XCTAssertTrue(detail.contains("trailing"), detail)
    }

    /// Seeded (TAILOR_TEST_SEED repeats another run); the seed is printed first, so a crash's log names it.
    func testRandomGarbageNeverCrashes() throws {
        let seed = SeededRandom.testSeed(0x5AFE_7E45)
        print("testRandomGarbageNeverCrashes (safetensors): seed \(seed); TAILOR_TEST_SEED=\(seed) repeats this run")
        var generator = SeededRandom(seed: seed)
        let valid = Array(try Data(contentsOf: TestPaths.fixture("formats/safetensors/basic.safetensors")))
        for trial in 0..<200 {
            var bytes = valid
            // Flip a few random bytes in the length prefix and header.
            for _ in 0..<(1 + trial % 4) {
                let i = Int.random(in: 0..<min(bytes.count, 400), using: &generator)
                bytes[i] = UInt8.random(in: 0...255, using: &generator)
            }
            let url = try file(bytes, name: "fuzz.safetensors")
            // Every failure, opening or reading, is a FormatError.
            expectNothingOrFormatError("seed \(seed), trial \(trial)") {
                let opened = try SafetensorsFile(url: url)
                for name in opened.tensorNames {
                    expectNothingOrFormatError("seed \(seed), trial \(trial), tensor \(name)") { _ = try opened.floats(name) }
                }
            }
        }
    }
}
