import Foundation
import XCTest
@testable import TailorFormats
import TailorTestSupport

final class SafetensorsWriterTests: XCTestCase {
    /// Re-creates writer input from an opened file (same names, dtypes, shapes and bytes).
    private func tensors(of file: SafetensorsFile) throws -> [SafetensorsWriter.Tensor] {
        try file.tensorNames.map { name in
            let info = try XCTUnwrap(file.info(name))
            return SafetensorsWriter.Tensor(name: name, dtype: info.dtype, shape: info.shape, bytes: Array(try file.bytes(name)))
        }
    }

    func testRewritingPythonFilesIsByteIdentical() throws {
        let folder = try makeTemporaryFolder(self)
        for fixture in ["basic", "dtypes"] {
            let source = TestPaths.fixture("formats/safetensors/\(fixture).safetensors")
            let file = try SafetensorsFile(url: source)
            // Reverse the input order: the writer must sort like the Python library.
            let input = try tensors(of: file).reversed()
            let output = folder.appendingPathComponent("\(fixture).safetensors")
            try SafetensorsWriter.write(Array(input), metadata: file.metadata, to: output)
            XCTAssertEqual(try Data(contentsOf: output), try Data(contentsOf: source), fixture)
        }
    }

    func testRoundTripEveryDType() throws {
        let folder = try makeTemporaryFolder(self)
        var input: [SafetensorsWriter.Tensor] = []
        for (i, dtype) in SafetensorsDType.allCases.enumerated() {
            let shape = [2, 4]
            let count = try XCTUnwrap(dtype.byteCount(elements: 8))
            let bytes = (0..<count).map { UInt8(truncatingIfNeeded: $0 * 7 + i) }
            input.append(.init(name: "t.\(dtype.rawValue)", dtype: dtype, shape: shape, bytes: bytes))
        }
        input.append(.init(name: "scalar", shape: [], floats: [3.25]))
        input.append(.init(name: "empty", shape: [0, 5], floats: []))
        let metadata = ["format": "pt", "zz": "line\nbreak \"quoted\" é", "aa": "✓"]
        let url = folder.appendingPathComponent("all.safetensors")
        try SafetensorsWriter.write(input, metadata: metadata, to: url)
        let file = try SafetensorsFile(url: url)
        XCTAssertEqual(file.metadata, metadata)
        XCTAssertEqual(file.dataStart % 8, 0)
        XCTAssertEqual(Set(file.tensorNames), Set(input.map(\.name)))
        for tensor in input {
            let info = try XCTUnwrap(file.info(tensor.name))
            XCTAssertEqual(info.dtype, tensor.dtype)
            XCTAssertEqual(info.shape, tensor.shape)
            var expected: [UInt8] = []
            try tensor.provider { expected = Array($0) }
            XCTAssertEqual(Array(try file.bytes(tensor.name)), expected, tensor.name)
        }
        XCTAssertEqual(try file.floats("scalar"), [3.25])
        // To check the file in Python (`safetensors.safe_open`), set TAILOR_FORMATS_KEEP_OUTPUT to a folder.
        if let keep = ProcessInfo.processInfo.environment["TAILOR_FORMATS_KEEP_OUTPUT"] {
            let copy = URL(fileURLWithPath: keep).appendingPathComponent("all.safetensors")
            try? FileManager.default.removeItem(at: copy)
            try FileManager.default.copyItem(at: url, to: copy)
        }
        // No temporary files are left behind.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["all.safetensors"])
    }

    func testFloatInitializersNarrowLikeTorch() throws {
        let folder = try makeTemporaryFolder(self)
        let values: [Float] = [1, -2.5, 0.1, 65504, 1e-8, 3.14159]
        let url = folder.appendingPathComponent("f.safetensors")
        try SafetensorsWriter.write([
            .init(name: "f32", shape: [6], floats: values),
            .init(name: "f16", shape: [2, 3], floats: values, dtype: .f16),
            .init(name: "bf16", shape: [3, 2], floats: values, dtype: .bf16),
        ], to: url)
        let file = try SafetensorsFile(url: url)
        XCTAssertEqual(try file.floats("f32"), values)
        XCTAssertEqual(try file.floats("f16"), values.map { Float(Float16($0)) })
        XCTAssertEqual(try file.floats("bf16"), values.map { HalfPrecisionCheck.bf16($0) })
    }

    func testProviderTensorsAreWrittenWithoutCopy() throws {
        let folder = try makeTemporaryFolder(self)
        let storage: [Float] = [1, 2, 3, 4]
        let url = folder.appendingPathComponent("p.safetensors")
        try SafetensorsWriter.write([
            .init(name: "p", dtype: .f32, shape: [2, 2], byteCount: 16) { body in try storage.withUnsafeBytes { try body($0) } },
        ], to: url)
        XCTAssertEqual(try SafetensorsFile(url: url).floats("p"), storage)
        // A provider that hands over the wrong number of bytes is an error and leaves no file.
        let bad = folder.appendingPathComponent("bad.safetensors")
        guard case .invalidWriterInput? = expectFormatError({
            try SafetensorsWriter.write([
                .init(name: "p", dtype: .f32, shape: [2, 2], byteCount: 16) { body in try storage.prefix(2).withUnsafeBytes { try body($0) } },
            ], to: bad)
        }) else { return XCTFail() }
        XCTAssertFalse(FileManager.default.fileExists(atPath: bad.path))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["p.safetensors"])
    }

    func testInvalidWriterInput() throws {
        let url = try makeTemporaryFolder(self).appendingPathComponent("x.safetensors")
        let a = SafetensorsWriter.Tensor(name: "a", shape: [1], floats: [1])
        let cases: [[SafetensorsWriter.Tensor]] = [
            [a, a],
            [.init(name: "__metadata__", shape: [1], floats: [1])],
            [.init(name: "b", dtype: .f32, shape: [3], bytes: [0, 0, 0, 0])],
            [.init(name: "b", dtype: .f32, shape: [-1], bytes: [])],
            [.init(name: "b", dtype: .f4, shape: [3], bytes: [0, 0])],
        ]
        for input in cases {
            guard case .invalidWriterInput? = expectFormatError({ try SafetensorsWriter.write(input, to: url) }) else {
                return XCTFail()
            }
        }
    }

    func testShardedCheckpointIsByteIdenticalToTransformers() throws {
        struct Sharded: Decodable {
            var max_shard_size: Int
            var order: [String]
        }
        let spec = try loadJSON(Sharded.self, "formats/safetensors/sharded.json")
        let reference = TestPaths.fixture("formats/safetensors/sharded")
        let checkpoint = try SafetensorsCheckpoint(folder: reference)
        let input = try spec.order.map { name in
            let info = try XCTUnwrap(checkpoint.info(name))
            return SafetensorsWriter.Tensor(name: name, dtype: info.dtype, shape: info.shape,
                                            bytes: Array(try checkpoint.bytes(name)))
        }
        let folder = try makeTemporaryFolder(self)
        // A stale single-file checkpoint from an earlier save must disappear.
        try Data([1, 2, 3]).write(to: folder.appendingPathComponent("model.safetensors"))
        let written = try SafetensorsWriter.writeCheckpoint(input, to: folder, maxShardSize: spec.max_shard_size)
        XCTAssertEqual(written.map(\.lastPathComponent),
                       ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json"])
        let names = try FileManager.default.contentsOfDirectory(atPath: reference.path).sorted()
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted(), names)
        for name in names {
            XCTAssertEqual(try Data(contentsOf: folder.appendingPathComponent(name)),
                           try Data(contentsOf: reference.appendingPathComponent(name)), name)
        }

        // Saving again unsharded replaces the shards and index by model.safetensors.
        try SafetensorsWriter.writeCheckpoint(input, to: folder)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["model.safetensors"])
        let single = try SafetensorsCheckpoint(folder: folder)
        XCTAssertEqual(try single.floats("lm_head.weight"), try checkpoint.floats("lm_head.weight"))
    }

    func testOversizedTensorGetsItsOwnShard() throws {
        let folder = try makeTemporaryFolder(self)
        let input: [SafetensorsWriter.Tensor] = [
            .init(name: "small1", shape: [2], floats: [1, 2]),
            .init(name: "big", shape: [10], floats: Array(repeating: 1, count: 10)),
            .init(name: "small2", shape: [2], floats: [3, 4]),
        ]
        let written = try SafetensorsWriter.writeCheckpoint(input, to: folder, maxShardSize: 16)
        XCTAssertEqual(written.count, 3)  // [big], [small1, small2], index
        let checkpoint = try SafetensorsCheckpoint(folder: folder)
        XCTAssertEqual(checkpoint.file(containing: "big")?.url.lastPathComponent, "model-00001-of-00002.safetensors")
        XCTAssertEqual(checkpoint.file(containing: "small2")?.url.lastPathComponent, "model-00002-of-00002.safetensors")
        XCTAssertEqual(try checkpoint.floats("small2"), [3, 4])
    }
}

/// bfloat16 rounding as PyTorch does it, for expected values.
enum HalfPrecisionCheck {
    static func bf16(_ value: Float) -> Float {
        let bits = value.bitPattern
        let rounded = bits &+ 0x7FFF &+ ((bits >> 16) & 1)
        return Float(bitPattern: rounded & 0xFFFF_0000)
    }
}
