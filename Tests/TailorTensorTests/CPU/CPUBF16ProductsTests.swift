import TailorTensor
import TailorTestSupport
import XCTest

/// bf16 products on the CPU (`MatmulPrecision.halfInputs`): the reference kernels define the mode
/// (activations rounded to bf16, then the plain product), and oneDNN's kernels, where this CPU has
/// them, equal that reference up to summation order and the fp32 reference within bf16's bound.
final class CPUBF16ProductsTests: XCTestCase {
    /// The reference's bf16 mode is exactly the fp32 reference applied to the rounded activation;
    /// f32 weights are untouched by the mode. Runs on every CPU.
    func testTheReferenceModeRoundsTheActivationOnly() throws {
        let exact = try CPUBackend(kernels: .reference), half = try CPUBackend(kernels: .reference, matmul: .halfInputs)
        XCTAssertEqual(half.matmul, .halfInputs)
        XCTAssertNil(half.matmulFallback)
        var rng = SeededRandom(seed: 5)
        let (m, n, k) = (7, 11, 13)
        let a = rng.floats(m * k), w = rng.floats(n * k), c0 = rng.floats(m * n)
        let rounded = a.map { HalfPrecision.bf16ToFloat(HalfPrecision.floatToBF16($0)) }
        XCTAssertNotEqual(rounded, a, "the inputs must have bits below bf16's")
        func product(_ backend: CPUBackend, _ x: [Float], _ dtype: DType) throws -> [Float] {
            let c = try backend.f32(c0, [m, n])
            try backend.gemm(backend.f32(x, [m, k]), transposeA: false, backend.upload(w, shape: [n, k], dtype: dtype), transposeB: true,
                             into: c, alpha: 0.5, beta: 0.25)
            return try backend.values(c)
        }
        XCTAssertEqual(try product(half, a, .bf16), try product(exact, rounded, .bf16))
        XCTAssertEqual(try product(half, a, .f32), try product(exact, a, .f32))
        XCTAssertNotEqual(try product(half, a, .bf16), try product(exact, a, .bf16))
    }

    /// The fast backend grants bf16 products exactly when oneDNN's AMX / AVX512-BF16 matmul loads,
    /// and says why not otherwise.
    func testTheFallbackIsStated() throws {
        let half = try CPUBackend(kernels: .fast, matmul: .halfInputs)
        switch BF16ProductInfo.load() {
        case let .success(info):
            XCTAssertEqual(half.matmul, .halfInputs)
            XCTAssertNil(half.matmulFallback)
            XCTAssertTrue(info.kernel.contains("avx512_core_bf16") || info.kernel.contains("amx"), info.summary)
        case let .failure(why):
            XCTAssertEqual(half.matmul, .fp32)
            XCTAssertEqual(half.matmulFallback, why)
            XCTAssertFalse(why.reason.isEmpty)
            let cpu = CPUFeatures.current
            if !cpu.avx512BF16 && !(cpu.amxBF16 && cpu.amxPermitted) {
                XCTAssertTrue(why.reason.contains("neither AMX-BF16 nor AVX512-BF16"), why.reason)
            }
        }
        XCTAssertEqual(try CPUBackend(kernels: .fast).matmul, .fp32, "fp32 unless asked")
    }

    /// oneDNN's products equal the rounded reference within f32's tolerance (only the summation
    /// order differs: a product of two bf16 values is exact in f32) and the fp32 reference within
    /// bf16's bound, for every gemm check (odd shapes, the decode rows, both splits, transposes,
    /// alpha and beta).
    func testBF16ProductsMatchTheReferences() throws {
        let half = try CPUBackend(kernels: .fast, matmul: .halfInputs)
        if let why = half.matmulFallback { throw XCTSkip("bf16 products run in fp32 on this machine: \(why.reason)") }
        let rounded = try CPUBackend(kernels: .reference, matmul: .halfInputs), exact = try CPUBackend(kernels: .reference)
        let gemmChecks = BackendSelfTest.opChecks().filter { $0.name.hasPrefix("gemm") }
        XCTAssertGreaterThan(gemmChecks.count, 30)
        for result in BackendSelfTest(candidate: half, reference: rounded, checks: gemmChecks).run() {
            XCTAssertTrue(result.passed, "against the rounded reference: \(result)")
        }
        for result in BackendSelfTest(candidate: half, reference: exact, checks: BackendSelfTest.halfInputProductChecks()).run() {
            XCTAssertTrue(result.passed, "against the fp32 reference: \(result)")
        }
    }

    /// A product the workers split (rows, then columns) equals one unsplit call of the rounded
    /// reference, and the rounding shows against fp32 products.
    func testSplitProductsAndTheRoundingShows() throws {
        let half = try CPUBackend(kernels: .fast, matmul: .halfInputs)
        if let why = half.matmulFallback { throw XCTSkip("bf16 products run in fp32 on this machine: \(why.reason)") }
        let rounded = try CPUBackend(kernels: .reference, matmul: .halfInputs), fp32 = try CPUBackend(kernels: .fast)
        var rng = SeededRandom(seed: 9)
        for (m, n, k) in [(512, 96, 64), (24, 2048, 64)] {
            let a = rng.floats(m * k), w = rng.floats(n * k)
            var results: [[Float]] = []
            for backend in [half, rounded, fp32] {
                let c = try backend.zeros([m, n], dtype: .f32)
                try backend.gemm(backend.f32(a, [m, k]), transposeA: false, backend.upload(w, shape: [n, k], dtype: .bf16), transposeB: true,
                                 into: c, alpha: 1, beta: 0)
                results.append(try backend.values(c))
            }
            assertClose(results[0], results[1], rtol: 1e-4, atol: 1e-5, "[\(m), \(n), \(k)] against the rounded reference")
            let largest = zip(results[0], results[2]).map { abs($0 - $1) }.max() ?? 0
            XCTAssertGreaterThan(largest, 1e-4, "[\(m), \(n), \(k)]: bf16 inputs must round something")
        }
    }
}
