import Foundation
import TailorTensor
import TailorTestSupport
import XCTest

/// The fast kernels (OpenBLAS + SIMD, multi-threaded) against the reference kernels, on sizes
/// that exercise SIMD tails, thread splits and attention blocks.
final class CPUKernelParityTests: XCTestCase {
    var harness: KernelHarness!
    var rng = SeededRandom(seed: 1234)

    override func setUpWithError() throws {
        harness = try KernelHarness()
    }

    /// Runs `body` on both backends and returns (reference, fast) outputs.
    func both(_ body: (Backend) throws -> [Float]) rethrows -> ([Float], [Float]) {
        (try body(harness.reference), try body(harness.fast))
    }

    func testGemmAllTransposesAndHalfWeights() throws {
        let (m, n, k) = (67, 45, 133)
        let a = rng.floats(m * k), b = rng.floats(k * n), c0 = rng.floats(m * n)
        for transposeA in [false, true] {
            for transposeB in [false, true] {
                for dtype in [DType.f32, .bf16, .f16] {
                    let (ref, fast) = try both { cpu in
                        let c = try cpu.f32(c0, [m, n])
                        try cpu.gemm(cpu.f32(a, transposeA ? [k, m] : [m, k]), transposeA: transposeA,
                                     cpu.upload(b, shape: transposeB ? [n, k] : [k, n], dtype: dtype), transposeB: transposeB,
                                     into: c, alpha: 0.5, beta: 0.25)
                        return try cpu.values(c)
                    }
                    assertClose(fast, ref, rtol: 1e-4, atol: 1e-4, "transposeA \(transposeA) transposeB \(transposeB) \(dtype)")
                }
            }
        }
    }

    func testLargeGemmSplitsAcrossWorkersIdentically() throws {
        // Big enough to be split by rows and by columns.
        for (m, n, k) in [(300, 64, 128), (40, 520, 128)] {
            let a = rng.floats(m * k), b = rng.floats(n * k)
            let (ref, fast) = try both { cpu in
                let c = try cpu.zeros([m, n], dtype: .f32)
                try cpu.gemm(cpu.f32(a, [m, k]), transposeA: false, cpu.f32(b, [n, k]), transposeB: true, into: c, alpha: 1, beta: 0)
                return try cpu.values(c)
            }
            assertClose(fast, ref, rtol: 1e-4, atol: 1e-4, "[\(m), \(n), \(k)]")
        }
    }

    func testElementwise() throws {
        let count = 100_003
        let a = rng.floats(count), b = rng.floats(count)
        let (ref, fast) = try both { cpu in
            let x = try cpu.f32(a, [count]), y = try cpu.f32(b, [count]), out = try cpu.empty([count], dtype: .f32)
            try cpu.add(x, y, into: out)
            try cpu.axpy(0.3, x, out)
            try cpu.scale(out, by: 1.5)
            let squares = try cpu.sumOfSquares(out)
            return try cpu.values(out) + [Float(squares)]
        }
        assertClose(fast, ref, rtol: 1e-5, atol: 1e-6)
    }

    func testRMSNorm() throws {
        let (n, c) = (37, 203)
        let x = rng.floats(n * c), w = rng.floats(c), dy = rng.floats(n * c), dx0 = rng.floats(n * c)
        let (ref, fast) = try both { cpu in
            let xt = try cpu.f32(x, [n, c]), wt = try cpu.f32(w, [c])
            let out = try cpu.empty([n, c], dtype: .f32), rstd = try cpu.empty([n], dtype: .f32)
            try cpu.rmsNormForward(xt, weight: wt, eps: 1e-6, into: out, rstd: rstd)
            let dx = try cpu.f32(dx0, [n, c]), dw = try cpu.zeros([c], dtype: .f32)
            try cpu.rmsNormBackward(cpu.f32(dy, [n, c]), x: xt, weight: wt, rstd: rstd, dx: dx, accumulate: true, dWeight: dw)
            return try cpu.values(out) + cpu.values(rstd) + cpu.values(dx) + cpu.values(dw)
        }
        assertClose(fast, ref, rtol: 1e-4, atol: 1e-5)
    }

    func testRoPE() throws {
        let (n, h, d, p) = (33, 3, 40, 50)
        let x = rng.floats(n * h * d), cosv = rng.floats(p * d / 2), sinv = rng.floats(p * d / 2)
        let positions = rng.ints(n, in: 0..<Int32(p))
        for inverse in [false, true] {
            let (ref, fast) = try both { cpu in
                let t = try cpu.f32(x, [n, h, d])
                try cpu.rope(t, positions: cpu.i32(positions), cos: cpu.f32(cosv, [p, d / 2]), sin: cpu.f32(sinv, [p, d / 2]), inverse: inverse)
                return try cpu.values(t)
            }
            assertClose(fast, ref, rtol: 1e-5, atol: 1e-6)
        }
    }

    func testAttentionForwardAndBackward() throws {
        // Sequences longer than one 64-row block, GQA 6/2, head dim 24 (SIMD tail).
        let (hq, hkv, d) = (6, 2, 24)
        let starts = sequenceStarts([70, 1, 131, 9])
        let n = starts.count
        let q = rng.floats(n * hq * d), k = rng.floats(n * hkv * d), v = rng.floats(n * hkv * d), dOut = rng.floats(n * hq * d)
        let (ref, fast) = try both { cpu in
            let (qt, kt, vt) = (try cpu.f32(q, [n, hq, d]), try cpu.f32(k, [n, hkv, d]), try cpu.f32(v, [n, hkv, d]))
            let seq = try cpu.i32(starts)
            let out = try cpu.empty([n, hq, d], dtype: .f32), lse = try cpu.empty([n, hq], dtype: .f32)
            try cpu.attentionForward(q: qt, k: kt, v: vt, seqStart: seq, scale: 0.2, into: out, lse: lse)
            let dq = try cpu.empty([n, hq, d], dtype: .f32), dk = try cpu.empty([n, hkv, d], dtype: .f32), dv = try cpu.empty([n, hkv, d], dtype: .f32)
            try cpu.attentionBackward(dOut: cpu.f32(dOut, [n, hq, d]), q: qt, k: kt, v: vt, out: out, lse: lse,
                                      seqStart: seq, scale: 0.2, dq: dq, dk: dk, dv: dv)
            return try cpu.values(out) + cpu.values(lse) + cpu.values(dq) + cpu.values(dk) + cpu.values(dv)
        }
        assertClose(fast, ref, rtol: 1e-4, atol: 1e-5)
    }

    func testSwiGLU() throws {
        let count = 10_007
        let g = rng.floats(count, scale: 6), u = rng.floats(count), dy = rng.floats(count)
        let (ref, fast) = try both { cpu in
            let (gt, ut) = (try cpu.f32(g, [count]), try cpu.f32(u, [count]))
            let out = try cpu.empty([count], dtype: .f32)
            try cpu.swigluForward(gate: gt, up: ut, into: out)
            let dg = try cpu.empty([count], dtype: .f32), du = try cpu.empty([count], dtype: .f32)
            try cpu.swigluBackward(cpu.f32(dy, [count]), gate: gt, up: ut, dGate: dg, dUp: du)
            return try cpu.values(out) + cpu.values(dg) + cpu.values(du)
        }
        assertClose(fast, ref, rtol: 1e-5, atol: 1e-6)
    }

    func testCrossEntropy() throws {
        let (rows, vocab) = (9, 1003)
        let logits = rng.floats(rows * vocab, scale: 8)
        var targets = rng.ints(rows, in: 0..<Int32(vocab))
        targets[4] = -100
        let (ref, fast) = try both { cpu in
            let t = try cpu.f32(logits, [rows, vocab]), losses = try cpu.empty([rows], dtype: .f32)
            try cpu.crossEntropy(logits: t, targets: cpu.i32(targets), losses: losses, gradScale: 0.1)
            return try cpu.values(losses) + cpu.values(t)
        }
        assertClose(fast, ref, rtol: 1e-5, atol: 1e-7)
    }

    func testAdamWAgainstHandComputedStep() throws {
        let count = 1000
        let p = rng.floats(count), g = rng.floats(count), m0 = rng.floats(count, scale: 0.1), v0 = rng.floats(count, scale: 0.1).map(abs)
        let hyper = AdamWHyper(lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01)
        let (ref, fast) = try both { cpu in
            let (pt, gt, mt, vt) = (try cpu.f32(p, [count]), try cpu.f32(g, [count]), try cpu.f32(m0, [count]), try cpu.f32(v0, [count]))
            try cpu.adamw(param: pt, grad: gt, m: mt, v: vt, hyper: hyper, step: 3)
            return try cpu.values(pt) + cpu.values(mt) + cpu.values(vt)
        }
        XCTAssertEqual(ref, fast, "the fast AdamW runs the same arithmetic in chunks: bit-identical")
        // Element 0 by hand, in Double.
        let m1 = 0.9 * Double(m0[0]) + 0.1 * Double(g[0])
        let v1 = 0.999 * Double(v0[0]) + 0.001 * Double(g[0]) * Double(g[0])
        let decayed = Double(p[0]) * (1 - 1e-3 * 0.01)
        let expected = decayed - 1e-3 / (1 - pow(0.9, 3)) * m1 / (v1.squareRoot() / (1 - pow(0.999, 3)).squareRoot() + 1e-8)
        XCTAssertEqual(Double(ref[0]), expected, accuracy: 1e-6)
    }

    func testEmbeddingWithBF16Table() throws {
        let (vocab, c) = (50, 19)
        let table = rng.floats(vocab * c), ids = rng.ints(30, in: 0..<Int32(vocab))
        let (ref, fast) = try both { cpu in
            let out = try cpu.empty([30, c], dtype: .f32)
            try cpu.embeddingForward(ids: cpu.i32(ids), table: cpu.upload(table, shape: [vocab, c], dtype: .bf16), into: out)
            return try cpu.values(out)
        }
        XCTAssertEqual(ref, fast)
        let expectedRow0 = table[(Int(ids[0]) * c)..<(Int(ids[0]) * c + c)].map { HalfPrecision.bf16ToFloat(HalfPrecision.floatToBF16($0)) }
        XCTAssertEqual(Array(ref[0..<c]), expectedRow0)
    }

    func testBadOperandsAreErrorsNotCrashes() throws {
        let cpu = harness.fast
        let a = try cpu.zeros([2, 3], dtype: .f32)
        XCTAssertThrowsError(try cpu.gemm(a, transposeA: false, a, transposeB: false, into: a, alpha: 1, beta: 0)) { error in
            XCTAssertTrue("\(error)".contains("gemm"), "\(error)")
        }
        let out = try cpu.empty([1, 3], dtype: .f32)
        XCTAssertThrowsError(try cpu.embeddingForward(ids: cpu.i32([7]), table: a, into: out)) { error in
            XCTAssertTrue("\(error)".contains("ids[0] = 7"), "\(error)")
        }
        let q = try cpu.zeros([3, 1, 2], dtype: .f32), o = try cpu.empty([3, 1, 2], dtype: .f32), lse = try cpu.empty([3, 1], dtype: .f32)
        XCTAssertThrowsError(try cpu.attentionForward(q: q, k: q, v: q, seqStart: cpu.i32([0, 0, 1]), scale: 1, into: o, lse: lse)) { error in
            XCTAssertTrue("\(error)".contains("seqStart[2]"), "\(error)")
        }
        XCTAssertThrowsError(try cpu.crossEntropy(logits: a, targets: cpu.i32([0, 5]), losses: cpu.empty([2], dtype: .f32), gradScale: 1))
    }
}

extension CPUKernelParityTests {
    func testBatchedGemmEqualsOneProductPerItem() throws {
        let (batch, m, n, k) = (5, 13, 9, 21)
        let a = rng.floats(batch * m * k), b = rng.floats(batch * k * n), shared = rng.floats(n * k), c0 = rng.floats(batch * m * n)
        for cpu in [harness.reference, harness.fast] {
            // Per-item b, transposed a.
            let c = try cpu.f32(c0, [batch, m, n])
            try cpu.gemmBatched(cpu.f32(a, [batch, k, m]), transposeA: true, cpu.f32(b, [batch, k, n]), transposeB: false,
                                into: c, alpha: 0.5, beta: 1)
            var expected: [Float] = []
            for i in 0..<batch {
                let refC = try harness.reference.f32(Array(c0[(i * m * n)..<((i + 1) * m * n)]), [m, n])
                try harness.reference.gemm(harness.reference.f32(Array(a[(i * m * k)..<((i + 1) * m * k)]), [k, m]), transposeA: true,
                                           harness.reference.f32(Array(b[(i * k * n)..<((i + 1) * k * n)]), [k, n]), transposeB: false,
                                           into: refC, alpha: 0.5, beta: 1)
                expected += try harness.reference.values(refC)
            }
            assertClose(try cpu.values(c), expected, rtol: 1e-4, atol: 1e-5, "\(cpu.name) per-item b")
            // A shared bf16 b (a frozen weight), transposed.
            let c2 = try cpu.zeros([batch, m, n], dtype: .f32)
            try cpu.gemmBatched(cpu.f32(a, [batch, m, k]), transposeA: false, cpu.upload(shared, shape: [n, k], dtype: .bf16), transposeB: true,
                                into: c2, alpha: 1, beta: 0)
            let flat = try harness.reference.zeros([batch * m, n], dtype: .f32)
            try harness.reference.gemm(harness.reference.f32(a, [batch * m, k]), transposeA: false,
                                       harness.reference.upload(shared, shape: [n, k], dtype: .bf16), transposeB: true, into: flat, alpha: 1, beta: 0)
            assertClose(try cpu.values(c2), try harness.reference.values(flat), rtol: 1e-4, atol: 1e-5, "\(cpu.name) shared b")
        }
        XCTAssertThrowsError(try harness.fast.gemmBatched(harness.fast.zeros([2, 3, 4], dtype: .f32), transposeA: false,
                                                          harness.fast.zeros([3, 4, 5], dtype: .f32), transposeB: false,
                                                          into: harness.fast.zeros([2, 3, 5], dtype: .f32), alpha: 1, beta: 0))
    }
}
