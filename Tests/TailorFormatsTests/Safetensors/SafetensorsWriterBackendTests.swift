import Foundation
import TailorFormats
import TailorTensor
import TailorTestSupport
import XCTest

/// Tensors a backend makes only when the writer reaches them: the same files, byte for byte, as
/// tensors given as floats up front (the writer's eager form), sharded the same way.
final class SafetensorsWriterBackendTests: XCTestCase {
    /// Names, shapes and dtypes chosen so that shards split between tensors and one tensor is larger
    /// than a shard.
    let specs: [(name: String, shape: [Int], dtype: DType)] = [
        ("model.embed_tokens.weight", [16, 8], .bf16), ("model.layers.0.input_layernorm.weight", [8], .f32),
        ("model.layers.0.mlp.down_proj.weight", [8, 12], .f16), ("model.layers.0.self_attn.q_proj.weight", [8, 8], .bf16),
        ("model.layers.0.self_attn.q_proj.bias", [8], .f32), ("model.norm.weight", [8], .bf16),
    ]

    func tensors(_ backend: CPUBackend) throws -> (eager: [SafetensorsWriter.Tensor], made: [SafetensorsWriter.Tensor], calls: Counter) {
        var rng = SeededRandom(seed: 3)
        let calls = Counter()
        var eager: [SafetensorsWriter.Tensor] = [], made: [SafetensorsWriter.Tensor] = []
        for spec in specs {
            let values = try backend.download(try backend.upload(rng.floats(spec.shape.reduce(1, *)), shape: spec.shape, dtype: spec.dtype))
            eager.append(SafetensorsWriter.Tensor(name: spec.name, shape: spec.shape, floats: values, dtype: SafetensorsDType(spec.dtype) ?? .f32))
            made.append(try SafetensorsWriter.Tensor(name: spec.name, shape: spec.shape, dtype: spec.dtype, backend: backend) {
                calls.add(spec.name)
                return try backend.upload(values, shape: spec.shape, dtype: spec.dtype)
            })
        }
        return (eager, made, calls)
    }

    func testMadeTensorsWriteTheEagerBytesSingleAndSharded() throws {
        let backend = try CPUBackend()
        for limit in [nil, 200, 64] as [Int?] {
            let root = try makeTemporaryFolder(self)
            let (eager, made, calls) = try tensors(backend)
            XCTAssertEqual(calls.names, [], "nothing is made before the writer reaches it")
            let expected = root.appendingPathComponent("eager"), actual = root.appendingPathComponent("made")
            for folder in [expected, actual] { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }
            let eagerFiles = try SafetensorsWriter.writeCheckpoint(eager, to: expected, maxShardSize: limit)
            let madeFiles = try SafetensorsWriter.writeCheckpoint(made, to: actual, maxShardSize: limit)
            XCTAssertEqual(madeFiles.map(\.lastPathComponent), eagerFiles.map(\.lastPathComponent), "shard limit \(limit ?? 0)")
            try assertSameFiles(expected, actual, "shard limit \(limit ?? 0)")
            XCTAssertEqual(calls.names.sorted(), specs.map(\.name).sorted(), "each tensor is made once")
            if limit == 64 {
                XCTAssertGreaterThan(madeFiles.count, 3, "several shards, one for the 256-byte embedding alone")
                let index = try SafetensorsCheckpoint(actual)
                XCTAssertEqual(Set(index.tensorNames), Set(specs.map(\.name)))
                XCTAssertEqual(index.info("model.layers.0.mlp.down_proj.weight")?.dtype, .f16, "each tensor in its own dtype")
            }
        }
    }

    func testATensorMadeUnlikeItsEntryIsNamed() throws {
        let backend = try CPUBackend()
        let root = try makeTemporaryFolder(self)
        let wrong = try SafetensorsWriter.Tensor(name: "w", shape: [2, 2], dtype: .bf16, backend: backend) {
            try backend.upload([1, 2, 3, 4], shape: [2, 2], dtype: .f16)
        }
        XCTAssertThrowsError(try SafetensorsWriter.write([wrong], to: root.appendingPathComponent("x.safetensors"))) { error in
            guard case let FormatError.invalidWriterInput(path, detail) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(path.contains("\"w\""), path)
            XCTAssertTrue(detail.contains("f16") && detail.contains("bf16"), detail)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root.path), [], "no partial file is left")
    }
}

/// The names `make` was called for, in order.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [String] = []
    var names: [String] { lock.withLock { recorded } }
    func add(_ name: String) { lock.withLock { recorded.append(name) } }
}
