import TailorCUDA
import TailorTensor
import TailorTestSupport
import XCTest

/// `withBytes` on the CUDA backend (host emulator): a tensor's raw bytes in its own dtype, the
/// same as the CPU backend's view of the same data, for whole tensors and row views.
final class CUDABytesTests: XCTestCase {
    func testWithBytesGivesTheStoredBytes() throws {
        let backends = try EmulatedBackends()
        var rng = SeededRandom(seed: 4)
        for dtype in [DType.f32, .bf16, .f16] {
            let shape = [6, 5]
            let values = rng.floats(shape.reduce(1, *))
            func bytes(_ backend: Backend, rows: Range<Int>?) throws -> [UInt8] {
                var tensor = try backend.upload(values, shape: shape, dtype: dtype)
                if let rows { tensor = tensor.rows(rows) }
                var result: [UInt8] = []
                try backend.withBytes(of: tensor) { result = Array($0) }
                XCTAssertEqual(result.count, tensor.byteCount, "\(dtype)")
                return result
            }
            for rows in [nil, 2..<5] as [Range<Int>?] {
                XCTAssertEqual(try bytes(backends.cuda, rows: rows), try bytes(backends.reference, rows: rows), "\(dtype) rows \(String(describing: rows))")
            }
        }
    }
}
