@testable import TailorTensor
import TailorTestSupport
import XCTest

/// Products whose half-precision `b` is widened a block of rows at a time equal the reference GEMM of the
/// whole widened `b`: every transpose, beta 0 and 1, bf16 and f16, blocks that do not divide the rows, and the
/// size from which `gemm` itself blocks.
final class CPUBlockedWideningTests: XCTestCase {
    func testBlocksEqualTheWholeProduct() throws {
        let h = try KernelHarness()
        let fast = h.fast
        var rng = SeededRandom(seed: 33)
        let (m, n, k) = (11, 37, 29)
        for dtype in [DType.bf16, .f16] {
            for (transposeA, transposeB) in [(false, false), (false, true), (true, false), (true, true)] {
                for beta in [Float(0), 1] {
                    for blockElements in [1, 100, 29 * 5, 1 << 20] {
                        let a = rng.floats(m * k), b = rng.floats(n * k), c0 = rng.floats(m * n)
                        let bHalf = try fast.upload(b, shape: transposeB ? [n, k] : [k, n], dtype: dtype)
                        let widened = try fast.download(bHalf)   // the values the product sees
                        let expected = try h.reference.f32(c0, [m, n])
                        try h.reference.gemm(h.reference.f32(a, transposeA ? [k, m] : [m, k]), transposeA: transposeA,
                                             h.reference.f32(widened, transposeB ? [n, k] : [k, n]), transposeB: transposeB,
                                             into: expected, alpha: 0.5, beta: beta)
                        var c = c0
                        try a.withUnsafeBufferPointer { pa in
                            try c.withUnsafeMutableBufferPointer { pc in
                                try fast.gemmWideningInBlocks(pa.baseAddress!, transposeA: transposeA, bHalf, transposeB: transposeB,
                                                              pc.baseAddress!, m: m, n: n, k: k, alpha: 0.5, beta: beta,
                                                              blockElements: blockElements)
                            }
                        }
                        assertClose(c, try h.reference.values(expected), rtol: 1e-5, atol: 1e-5,
                                    "\(dtype) transposeA \(transposeA) transposeB \(transposeB) beta \(beta) block \(blockElements)")
                    }
                }
            }
        }
    }

    /// A bf16 weight of more than 2^24 values (an output layer's size) goes through the blocks in `gemm`.
    func testALargeHalfPrecisionWeightIsBlockedInGemm() throws {
        let h = try KernelHarness()
        var rng = SeededRandom(seed: 34)
        let (m, n, k) = (9, CPUBackend.widenBlockElements / 64 + 3, 64)   // b [n, k]: 2^24 + 192 values
        let a = rng.floats(m * k), b = rng.floats(n * k, scale: 0.1)
        var results: [[Float]] = []
        for backend in [h.reference, h.fast] {
            let c = try backend.f32([Float](repeating: 0, count: m * n), [m, n])
            try backend.gemm(backend.f32(a, [m, k]), transposeA: false, backend.upload(b, shape: [n, k], dtype: .bf16),
                             transposeB: true, into: c, alpha: 1, beta: 0)
            results.append(try backend.values(c))
        }
        assertClose(results[1], results[0], rtol: 1e-4, atol: 1e-5, "logits through a blocked bf16 output layer")
    }
}
