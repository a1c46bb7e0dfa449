import TailorTensor
import TailorTestSupport
import XCTest

/// The fast path for products with a few rows (decoding) against the reference GEMM, with f32
/// and bf16 weights, with and without accumulation into c.
final class CPUGemvTests: XCTestCase {
    func testFewRowsTimesWeightMatchesReference() throws {
        let h = try KernelHarness()
        var rng = SeededRandom(seed: 21)
        for (m, k, n) in [(1, 37, 53), (3, 64, 129), (8, 200, 70)] {
            let a = rng.floats(m * k), w = rng.floats(n * k), c0 = rng.floats(m * n)
            for dtype in [DType.f32, .bf16] {
                for (alpha, beta) in [(Float(1), Float(0)), (0.5, 1)] {
                    var results: [[Float]] = []
                    for backend in [h.reference, h.fast] {
                        let c = try backend.f32(c0, [m, n])
                        try backend.gemm(backend.f32(a, [m, k]), transposeA: false, backend.upload(w, shape: [n, k], dtype: dtype),
                                         transposeB: true, into: c, alpha: alpha, beta: beta)
                        results.append(try backend.values(c))
                    }
                    assertClose(results[1], results[0], rtol: 1e-5, atol: 1e-5, "m \(m) k \(k) n \(n) \(dtype) beta \(beta)")
                }
            }
        }
    }
}
