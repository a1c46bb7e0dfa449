import Foundation
import TailorTensor
import TailorTestSupport
import XCTest

/// Every op's backward against central finite differences of its forward (reference kernels).
final class CPUGradientTests: XCTestCase {
    var cpu: CPUBackend!
    var rng = SeededRandom(seed: 42)

    override func setUpWithError() throws {
        cpu = try CPUBackend(kernels: .reference)
    }

    func testLinearBackwardMatchesFiniteDifferences() throws {
        // y[N, O] = x[N, I] · W[O, I]ᵀ ; dx = dy · W ; dW = dyᵀ · x
        let (n, i, o) = (3, 5, 4)
        let x = rng.floats(n * i), w = rng.floats(o * i), r = rng.floats(n * o)
        func forward(_ x: [Float], _ w: [Float]) throws -> Double {
            let y = try cpu.zeros([n, o], dtype: .f32)
            try cpu.gemm(cpu.f32(x, [n, i]), transposeA: false, cpu.f32(w, [o, i]), transposeB: true, into: y, alpha: 1, beta: 0)
            return KernelHarness.weightedSum(try cpu.values(y), r)
        }
        let dy = try cpu.f32(r, [n, o])
        let dx = try cpu.zeros([n, i], dtype: .f32), dw = try cpu.zeros([o, i], dtype: .f32)
        try cpu.gemm(dy, transposeA: false, cpu.f32(w, [o, i]), transposeB: false, into: dx, alpha: 1, beta: 0)
        try cpu.gemm(dy, transposeA: true, cpu.f32(x, [n, i]), transposeB: false, into: dw, alpha: 1, beta: 0)
        try GradientCheck.check("linear dx", input: x, analytic: cpu.values(dx)) { try forward($0, w) }
        try GradientCheck.check("linear dW", input: w, analytic: cpu.values(dw)) { try forward(x, $0) }
    }

    func testBiasBackward() throws {
        let (n, c) = (4, 6)
        let x = rng.floats(n * c), b = rng.floats(c), r = rng.floats(n * c)
        func forward(_ b: [Float]) throws -> Double {
            let t = try cpu.f32(x, [n, c])
            try cpu.addBias(t, bias: cpu.f32(b, [c]))
            return KernelHarness.weightedSum(try cpu.values(t), r)
        }
        let db = try cpu.zeros([c], dtype: .f32)
        try cpu.biasBackward(cpu.f32(r, [n, c]), dBias: db)
        try GradientCheck.check("bias", input: b, analytic: cpu.values(db)) { try forward($0) }
    }

    func testRMSNormBackward() throws {
        let (n, c) = (3, 16)
        let x = rng.floats(n * c), w = rng.floats(c).map { $0 + 1.5 }, r = rng.floats(n * c)
        func forward(_ x: [Float], _ w: [Float]) throws -> Double {
            let out = try cpu.empty([n, c], dtype: .f32), rstd = try cpu.empty([n], dtype: .f32)
            try cpu.rmsNormForward(cpu.f32(x, [n, c]), weight: cpu.f32(w, [c]), eps: 1e-5, into: out, rstd: rstd)
            return KernelHarness.weightedSum(try cpu.values(out), r)
        }
        let xt = try cpu.f32(x, [n, c]), wt = try cpu.f32(w, [c])
        let out = try cpu.empty([n, c], dtype: .f32), rstd = try cpu.empty([n], dtype: .f32)
        try cpu.rmsNormForward(xt, weight: wt, eps: 1e-5, into: out, rstd: rstd)
        let dx = try cpu.f32(Array(repeating: 0.5, count: n * c), [n, c]), dw = try cpu.zeros([c], dtype: .f32)
        try cpu.rmsNormBackward(cpu.f32(r, [n, c]), x: xt, weight: wt, rstd: rstd, dx: dx, accumulate: true, dWeight: dw)
        // accumulate: the 0.5 already in dx stays.
        try GradientCheck.check("rmsnorm dx", input: x, analytic: cpu.values(dx).map { $0 - 0.5 }) { try forward($0, w) }
        try GradientCheck.check("rmsnorm dw", input: w, analytic: cpu.values(dw)) { try forward(x, $0) }
    }

    func testRoPEInverseIsTheBackward() throws {
        let (n, h, d, p) = (4, 2, 8, 6)
        let x = rng.floats(n * h * d), r = rng.floats(n * h * d)
        let angles = (0..<(p * d / 2)).map { Float($0 % (d / 2) + 1) * Float($0 / (d / 2)) * 0.3 }
        let cosT = try cpu.f32(angles.map { Foundation.cos($0) }, [p, d / 2]), sinT = try cpu.f32(angles.map { Foundation.sin($0) }, [p, d / 2])
        let positions = try cpu.i32([0, 3, 1, 5])
        func forward(_ x: [Float]) throws -> Double {
            let t = try cpu.f32(x, [n, h, d])
            try cpu.rope(t, positions: positions, cos: cosT, sin: sinT, inverse: false)
            return KernelHarness.weightedSum(try cpu.values(t), r)
        }
        let grad = try cpu.f32(r, [n, h, d])
        try cpu.rope(grad, positions: positions, cos: cosT, sin: sinT, inverse: true)
        try GradientCheck.check("rope", input: x, analytic: cpu.values(grad)) { try forward($0) }
    }

    func testAttentionBackwardWithGQAAndPackedSequences() throws {
        let (hq, hkv, d) = (4, 2, 4)
        let starts = sequenceStarts([3, 4])
        let n = starts.count
        let q = rng.floats(n * hq * d), k = rng.floats(n * hkv * d), v = rng.floats(n * hkv * d), r = rng.floats(n * hq * d)
        let seq = try cpu.i32(starts)
        let scale: Float = 0.5
        func forward(_ q: [Float], _ k: [Float], _ v: [Float]) throws -> Double {
            let out = try cpu.empty([n, hq, d], dtype: .f32), lse = try cpu.empty([n, hq], dtype: .f32)
            try cpu.attentionForward(q: cpu.f32(q, [n, hq, d]), k: cpu.f32(k, [n, hkv, d]), v: cpu.f32(v, [n, hkv, d]),
                                     seqStart: seq, scale: scale, into: out, lse: lse)
            return KernelHarness.weightedSum(try cpu.values(out), r)
        }
        let (qt, kt, vt) = (try cpu.f32(q, [n, hq, d]), try cpu.f32(k, [n, hkv, d]), try cpu.f32(v, [n, hkv, d]))
        let out = try cpu.empty([n, hq, d], dtype: .f32), lse = try cpu.empty([n, hq], dtype: .f32)
        try cpu.attentionForward(q: qt, k: kt, v: vt, seqStart: seq, scale: scale, into: out, lse: lse)
        let dq = try cpu.empty([n, hq, d], dtype: .f32), dk = try cpu.empty([n, hkv, d], dtype: .f32), dv = try cpu.empty([n, hkv, d], dtype: .f32)
        try cpu.attentionBackward(dOut: cpu.f32(r, [n, hq, d]), q: qt, k: kt, v: vt, out: out, lse: lse, seqStart: seq,
                                  scale: scale, dq: dq, dk: dk, dv: dv)
        try GradientCheck.check("attention dq", input: q, analytic: cpu.values(dq)) { try forward($0, k, v) }
        try GradientCheck.check("attention dk", input: k, analytic: cpu.values(dk)) { try forward(q, $0, v) }
        try GradientCheck.check("attention dv", input: v, analytic: cpu.values(dv)) { try forward(q, k, $0) }
    }

    func testAttentionDoesNotCrossSequences() throws {
        // Changing the first sequence's values must not change the second sequence's outputs.
        let (h, d) = (1, 4)
        let starts = sequenceStarts([2, 3])
        let n = starts.count
        let q = rng.floats(n * h * d), k = rng.floats(n * h * d)
        var v = rng.floats(n * h * d)
        func run(_ v: [Float]) throws -> [Float] {
            let out = try cpu.empty([n, h, d], dtype: .f32), lse = try cpu.empty([n, h], dtype: .f32)
            try cpu.attentionForward(q: cpu.f32(q, [n, h, d]), k: cpu.f32(k, [n, h, d]), v: cpu.f32(v, [n, h, d]),
                                     seqStart: cpu.i32(starts), scale: 1, into: out, lse: lse)
            return try cpu.values(out)
        }
        let before = try run(v)
        for i in 0..<(2 * d) { v[i] += 10 }
        let after = try run(v)
        XCTAssertEqual(Array(before[(2 * d)...]), Array(after[(2 * d)...]))
        XCTAssertNotEqual(Array(before[..<(2 * d)]), Array(after[..<(2 * d)]))
    }

    func testSwiGLUBackward() throws {
        let count = 24
        let g = rng.floats(count, scale: 3), u = rng.floats(count), r = rng.floats(count)
        func forward(_ g: [Float], _ u: [Float]) throws -> Double {
            let out = try cpu.empty([count], dtype: .f32)
            try cpu.swigluForward(gate: cpu.f32(g, [count]), up: cpu.f32(u, [count]), into: out)
            return KernelHarness.weightedSum(try cpu.values(out), r)
        }
        let dg = try cpu.empty([count], dtype: .f32), du = try cpu.empty([count], dtype: .f32)
        try cpu.swigluBackward(cpu.f32(r, [count]), gate: cpu.f32(g, [count]), up: cpu.f32(u, [count]), dGate: dg, dUp: du)
        try GradientCheck.check("swiglu gate", input: g, analytic: cpu.values(dg)) { try forward($0, u) }
        try GradientCheck.check("swiglu up", input: u, analytic: cpu.values(du)) { try forward(g, $0) }
    }

    func testCrossEntropyGradientAndIgnoreIndex() throws {
        let (rows, vocab) = (4, 7)
        let logits = rng.floats(rows * vocab, scale: 3)
        let targets: [Int32] = [2, -100, 6, 0]
        let scale: Float = 0.25
        func loss(_ logits: [Float]) throws -> Double {
            let t = try cpu.f32(logits, [rows, vocab]), losses = try cpu.empty([rows], dtype: .f32)
            try cpu.crossEntropy(logits: t, targets: cpu.i32(targets), losses: losses, gradScale: scale)
            return try cpu.values(losses).reduce(0.0) { $0 + Double($1) } * Double(scale)
        }
        let t = try cpu.f32(logits, [rows, vocab]), losses = try cpu.empty([rows], dtype: .f32)
        try cpu.crossEntropy(logits: t, targets: cpu.i32(targets), losses: losses, gradScale: scale)
        let lossValues = try cpu.values(losses)
        XCTAssertEqual(lossValues[1], 0)
        // Row 0 by hand: logsumexp − logit[target].
        let row0 = logits[0..<vocab].map(Double.init)
        let lse0 = log(row0.map { exp($0) }.reduce(0, +))
        XCTAssertEqual(Double(lossValues[0]), lse0 - row0[2], accuracy: 1e-5)
        try GradientCheck.check("cross-entropy", input: logits, analytic: cpu.values(t), step: 1e-2) { try loss($0) }
    }

    func testEmbeddingBackwardAccumulatesRepeatedIds() throws {
        let (vocab, c) = (5, 3)
        let table = rng.floats(vocab * c), r = rng.floats(4 * c)
        let ids: [Int32] = [1, 3, 1, 0]
        func forward(_ table: [Float]) throws -> Double {
            let out = try cpu.empty([4, c], dtype: .f32)
            try cpu.embeddingForward(ids: cpu.i32(ids), table: cpu.f32(table, [vocab, c]), into: out)
            return KernelHarness.weightedSum(try cpu.values(out), r)
        }
        let dTable = try cpu.zeros([vocab, c], dtype: .f32)
        try cpu.embeddingBackward(ids: cpu.i32(ids), dOut: cpu.f32(r, [4, c]), dTable: dTable)
        try GradientCheck.check("embedding", input: table, analytic: cpu.values(dTable)) { try forward($0) }
    }
}
