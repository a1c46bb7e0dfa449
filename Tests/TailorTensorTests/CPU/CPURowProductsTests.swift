import TailorTensor
import TailorTestSupport
import XCTest

/// Batch-invariant products (`CPUBackend.batchInvariant`, CPUFast+RowProducts): the row kernel
/// equals the rounded reference, and every row is bit for bit the same whatever other rows share
/// the call and however the workers split the columns.
final class CPURowProductsTests: XCTestCase {
    /// Granted with bf16 products where the row kernel runs, always to the reference kernels, never
    /// to fp32 products on the fast kernels (their OpenBLAS blocking follows the row count).
    func testGrantedOnlyWhereItHolds() throws {
        XCTAssertFalse(try CPUBackend(kernels: .fast, batchInvariant: true).batchInvariant)
        XCTAssertTrue(try CPUBackend(kernels: .reference, batchInvariant: true).batchInvariant)
        XCTAssertFalse(try CPUBackend(kernels: .fast, matmul: .halfInputs).batchInvariant, "off unless asked")
        let half = try CPUBackend(kernels: .fast, matmul: .halfInputs, batchInvariant: true)
        let cpu = CPUFeatures.current
        if half.matmul == .halfInputs && cpu.avx512f && cpu.avx512bw && cpu.avx512BF16 { XCTAssertTrue(half.batchInvariant) }
        if !cpu.avx512BF16 { XCTAssertFalse(half.batchInvariant) }
    }

    /// Odd shapes (k not a multiple of the kernel's 32, partial 4 × 4 blocks), alpha and beta: the
    /// rounded reference's numbers up to summation order (a product of two bf16 values is exact in f32).
    func testRowKernelMatchesTheRoundedReference() throws {
        let fast = try batchInvariantBF16Backend(), reference = try CPUBackend(kernels: .reference, matmul: .halfInputs)
        var rng = SeededRandom(seed: 41)
        for (m, k, n) in [(1, 37, 53), (3, 64, 129), (5, 200, 70), (17, 577, 9), (33, 31, 300)] {
            let a = rng.floats(m * k), w = rng.floats(n * k), c0 = rng.floats(m * n)
            for (alpha, beta) in [(Float(1), Float(0)), (0.5, 1)] {
                var results: [[Float]] = []
                for backend in [reference, fast] {
                    let c = try backend.f32(c0, [m, n])
                    try backend.gemm(backend.f32(a, [m, k]), transposeA: false, backend.upload(w, shape: [n, k], dtype: .bf16),
                                     transposeB: true, into: c, alpha: alpha, beta: beta)
                    results.append(try backend.values(c))
                }
                assertClose(results[1], results[0], rtol: 1e-5, atol: 1e-5, "m \(m) k \(k) n \(n) beta \(beta)")
            }
        }
    }

    /// A narrow f32 weight (LoRA's B, K the rank: `rowProductsNarrowF32`) against the reference, with
    /// alpha and beta, N not a multiple of the vector width.
    func testNarrowF32ProductsMatchTheReference() throws {
        let fast = try batchInvariantBF16Backend(), reference = try CPUBackend(kernels: .reference)
        var rng = SeededRandom(seed: 47)
        for (m, k, n) in [(1, 16, 53), (9, 8, 129), (33, 64, 300)] {
            let a = rng.floats(m * k), w = rng.floats(n * k), c0 = rng.floats(m * n)
            for (alpha, beta) in [(Float(1), Float(0)), (2, 1)] {
                var results: [[Float]] = []
                for backend in [reference, fast] {
                    let c = try backend.f32(c0, [m, n])
                    try backend.gemm(backend.f32(a, [m, k]), transposeA: false, backend.f32(w, [n, k]), transposeB: true,
                                     into: c, alpha: alpha, beta: beta)
                    results.append(try backend.values(c))
                }
                assertClose(results[1], results[0], rtol: 1e-5, atol: 1e-5, "m \(m) k \(k) n \(n) beta \(beta)")
            }
        }
    }

    /// Rows of a 37-row product computed alone, as a run of 13 rows from an offset, and in the whole
    /// call, with bf16 weights (the row kernel) and f32 weights (adapters: `gemvRows` for any row
    /// count, `rowProductsNarrowF32` for a rank-sized K): bit for bit the same. The columns are many enough that the workers split them.
    func testEveryRowIsTheSameWhateverTheBatch() throws {
        let fast = try batchInvariantBF16Backend()
        var rng = SeededRandom(seed: 43)
        for (k, dtype) in [(200, DType.bf16), (200, .f32), (16, .f32)] {
            let (m, n) = (37, 300)
            let a = rng.floats(m * k), w = rng.floats(n * k)
            let weight = try fast.upload(w, shape: [n, k], dtype: dtype)
            func product(rows: Range<Int>) throws -> [Float] {
                let c = try fast.zeros([rows.count, n], dtype: .f32)
                try fast.gemm(fast.f32(Array(a[(rows.lowerBound * k)..<(rows.upperBound * k)]), [rows.count, k]), transposeA: false,
                              weight, transposeB: true, into: c, alpha: 1, beta: 0)
                return try fast.values(c)
            }
            let whole = try product(rows: 0..<m)
            let run = try product(rows: 11..<24)
            XCTAssertEqual(Array(whole[(11 * n)..<(24 * n)]), run, "\(dtype) k \(k): rows 11..<24 in a call of 13 rows vs of 37")
            for row in [0, 12, 36] {
                XCTAssertEqual(Array(whole[(row * n)..<((row + 1) * n)]), try product(rows: row..<(row + 1)), "\(dtype) k \(k): row \(row) alone vs in 37")
            }
        }
    }
}
