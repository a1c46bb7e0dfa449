import Foundation
import XCTest
@testable import TailorFormats
import TailorTensor
import TailorTestSupport

/// Reading files written by Python `safetensors` (fixtures from scripts/reference/make_format_fixtures.py).
final class SafetensorsFileTests: XCTestCase {
    func testReadsBasicFixtureExactly() throws {
        let file = try SafetensorsFile(url: TestPaths.fixture("formats/safetensors/basic.safetensors"))
        let expected = try loadJSON([String: ExpectedTensor].self, "formats/safetensors/basic.json")
        XCTAssertEqual(file.metadata, ["format": "pt"])
        XCTAssertEqual(Set(file.tensorNames), Set(expected.keys))
        // Python orders by dtype (descending) then name: I64, F32 ..., BF16, F16.
        XCTAssertEqual(file.tensorNames, ["ids", "empty", "scalar", "weight", "brain", "half"])
        for (name, entry) in expected {
            let info = try XCTUnwrap(file.info(name), name)
            XCTAssertEqual(info.shape, entry.shape, name)
            XCTAssertEqual(info.byteCount, info.elementCount * info.dtype.byteSize, name)
            assertExactlyEqual(try file.floats(name), entry.floats, name)
        }
        XCTAssertEqual(file.info("weight")?.dtype, .f32)
        XCTAssertEqual(file.info("half")?.dtype.tensorDType, .f16)
        XCTAssertEqual(file.info("brain")?.dtype.tensorDType, .bf16)
        XCTAssertEqual(file.info("ids")?.dtype.tensorDType, .i64)
        XCTAssertEqual(file.info("scalar")?.shape, [])
        XCTAssertEqual(file.info("scalar")?.elementCount, 1)
        XCTAssertEqual(try file.bytes("empty").count, 0)
        XCTAssertNil(file.info("missing"))
        XCTAssertEqual(file.dataStart % 8, 0)
    }

    func testBytesAreZeroCopyViewsOfTheData() throws {
        let url = TestPaths.fixture("formats/safetensors/basic.safetensors")
        let file = try SafetensorsFile(url: url)
        let raw = try Data(contentsOf: url)
        let info = try XCTUnwrap(file.info("weight"))
        let bytes = try file.bytes("weight")
        XCTAssertEqual(Array(bytes), Array(raw[(file.dataStart + info.dataOffsets.lowerBound)...].prefix(info.byteCount)))
        let first = bytes.loadUnaligned(as: Float.self)
        XCTAssertEqual(first, try file.floats("weight")[0])
    }

    func testWidensEveryConvertibleDType() throws {
        let file = try SafetensorsFile(url: TestPaths.fixture("formats/safetensors/dtypes.safetensors"))
        let expected = try loadJSON([String: ExpectedTensor].self, "formats/safetensors/dtypes.json")
        XCTAssertEqual(file.tensorNames.count, expected.count)
        let dtypes = [
            "f64": SafetensorsDType.f64, "i32": .i32, "u32": .u32, "i16": .i16, "u16": .u16, "i8": .i8,
            "u8": .u8, "u64": .u64, "flags": .bool, "e4m3": .f8E4M3, "e5m2": .f8E5M2, "e8m0": .f8E8M0,
        ]
        for (name, entry) in expected {
            XCTAssertEqual(file.info(name)?.dtype, dtypes[name], name)
            assertExactlyEqual(try file.floats(name), entry.floats, name)
        }
    }

    func testDTypeSizesAndMapping() {
        XCTAssertEqual(SafetensorsDType.f4.bitSize, 4)
        XCTAssertEqual(SafetensorsDType.f4.byteCount(elements: 3), nil)
        XCTAssertEqual(SafetensorsDType.f4.byteCount(elements: 4), 2)
        XCTAssertEqual(SafetensorsDType.f6E2M3.byteCount(elements: 4), 3)
        XCTAssertEqual(SafetensorsDType.bf16.byteSize, 2)
        XCTAssertEqual(SafetensorsDType.c64.byteSize, 8)
        for dtype in DType.allCases where !dtype.isBlockQuantized {
            XCTAssertEqual(SafetensorsDType(dtype)?.tensorDType, dtype)
            XCTAssertEqual(SafetensorsDType(dtype)?.byteSize, dtype.byteSize)
        }
        // nf4 / fp4 have no safetensors dtype: bitsandbytes saves their codes as U8 beside their scales.
        XCTAssertNil(SafetensorsDType(.nf4))
        XCTAssertNil(SafetensorsDType(.fp4))
        XCTAssertNil(SafetensorsDType.f8E4M3.tensorDType)
    }

    func testFloatConversionOfUnsupportedTypeThrows() throws {
        let folder = try makeTemporaryFolder(self)
        let url = folder.appendingPathComponent("c.safetensors")
        try SafetensorsWriter.write([.init(name: "c", dtype: .c64, shape: [1], bytes: [UInt8](repeating: 0, count: 8))],
                                    to: url)
        let file = try SafetensorsFile(url: url)
        guard case .unsupportedConversion(_, "c", "C64", _)? = expectFormatError({ try file.floats("c") }) else {
            return XCTFail("wrong error")
        }
    }

    func testMissingTensorNamesTheFile() throws {
        let url = TestPaths.fixture("formats/safetensors/basic.safetensors")
        let file = try SafetensorsFile(url: url)
        let error = expectFormatError { try file.bytes("nope") }
        XCTAssertEqual(error, .tensorNotFound(path: url.path, tensor: "nope"))
        XCTAssertTrue(error?.description.contains(url.path) ?? false)
    }

    func testMissingFileIsCannotOpen() {
        guard case .cannotOpen? = expectFormatError({ try SafetensorsFile(url: URL(fileURLWithPath: "/nonexistent/x.safetensors")) })
        else { return XCTFail("wrong error") }
    }
}
