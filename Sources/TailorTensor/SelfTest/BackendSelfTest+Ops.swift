/// The op checks: every Backend op, forward and backward, with the tolerance it is held to.
extension BackendSelfTest {
    /// Deterministic inputs for one check: the same values on both backends.
    struct Inputs {
        var rng: SplitMix64
        init(_ seed: UInt64) { rng = SplitMix64(state: seed) }
        mutating func floats(_ count: Int, scale: Float = 1) -> [Float] {
            (0..<count).map { _ in (rng.nextFloat() * 2 - 1) * scale }
        }
        mutating func ints(_ count: Int, below bound: Int) -> [Int32] {
            (0..<count).map { _ in Int32(rng.next() % UInt64(bound)) }  // allowed: self-test values below a small bound of its own
        }
    }

    /// seqStart for back-to-back sequences of the given lengths.
    static func sequenceStarts(_ lengths: [Int]) -> [Int32] {
        var starts: [Int32] = [], offset = 0
        for length in lengths {
            starts += Array(repeating: Int32(offset), count: length)  // allowed: self-test values below a small bound of its own
            offset += length
        }
        return starts
    }

    /// The product checks (gemm, gemmBatched, and gemm's operand-error check) for a candidate in
    /// CUDABackend's bf16 mode, held to `Tolerance.bf16Inputs` where the weight is bf16/f16.
    public static func halfInputProductChecks() -> [Check] {
        opChecks(halfInputGemm: true).filter { $0.name.hasPrefix("gemm") }
    }

    /// Every op check. `halfInputGemm`: the candidate multiplies bf16/f16 weights with activations
    /// rounded to the weight's dtype (CUDABackend's bf16 mode), so those products get
    /// `Tolerance.bf16Inputs`; otherwise they are held to f32.
    public static func opChecks(halfInputGemm: Bool = false) -> [Check] {
        var checks: [Check] = []
        func f32(_ b: any Backend, _ v: [Float], _ shape: [Int]) throws -> Tensor { try b.upload(v, shape: shape, dtype: .f32) }

        // MARK: Matrix products
        // An odd shape; then with f32 and bf16 weights, a few rows (the decode GEMV), a product the
        // fast kernels split by rows and one they split by columns.
        let shapes = [(67, 45, 133, [DType.f32, .bf16, .f16]), (5, 64, 96, [.f32, .bf16]), (260, 96, 160, [.f32, .bf16]),
                      (40, 600, 100, [.f32, .bf16])]
        for (m, n, k, dtypes) in shapes {
            for transposeA in [false, true] {
                for transposeB in [false, true] {
                    for dtype in dtypes {
                        let tolerance: Tolerance = halfInputGemm && dtype != .f32 ? .bf16Inputs(k: k) : .f32
                        checks.append(Check("gemm \(transposeA ? "Aᵀ" : "A")·\(transposeB ? "Bᵀ" : "B") b \(dtype) [\(m), \(n), \(k)]",
                                            tolerance: tolerance) { b in
                            var x = Inputs(1)
                            let a = x.floats(m * k), w = x.floats(k * n), c0 = x.floats(m * n)
                            let c = try f32(b, c0, [m, n])
                            try b.gemm(f32(b, a, transposeA ? [k, m] : [m, k]), transposeA: transposeA,
                                       b.upload(w, shape: transposeB ? [n, k] : [k, n], dtype: dtype), transposeB: transposeB,
                                       into: c, alpha: 0.5, beta: 0.25)
                            return try b.download(c)
                        })
                    }
                }
            }
        }
        let (batch, bm, bn, bk) = (5, 13, 9, 21)
        checks.append(Check("gemmBatched Aᵀ·B per-item b [\(batch), \(bm), \(bn), \(bk)]") { b in
            var x = Inputs(2)
            let c = try f32(b, x.floats(batch * bm * bn), [batch, bm, bn])
            try b.gemmBatched(f32(b, x.floats(batch * bk * bm), [batch, bk, bm]), transposeA: true,
                              f32(b, x.floats(batch * bk * bn), [batch, bk, bn]), transposeB: false, into: c, alpha: 0.5, beta: 1)
            return try b.download(c)
        })
        checks.append(Check("gemmBatched A·Bᵀ shared bf16 b [\(batch), \(bm), \(bn), \(bk)]",
                            tolerance: halfInputGemm ? .bf16Inputs(k: bk) : .f32) { b in
            var x = Inputs(3)
            let c = try b.zeros([batch, bm, bn], dtype: .f32)
            try b.gemmBatched(f32(b, x.floats(batch * bm * bk), [batch, bm, bk]), transposeA: false,
                              b.upload(x.floats(bn * bk), shape: [bn, bk], dtype: .bf16), transposeB: true, into: c, alpha: 1, beta: 0)
            return try b.download(c)
        })

        // MARK: Elementwise, casts, reductions
        let count = 100_003
        checks.append(Check("add, axpy, scale, sumOfSquares [\(count)]") { b in
            var x = Inputs(4)
            let p = try f32(b, x.floats(count), [count]), q = try f32(b, x.floats(count), [count]), out = try b.empty([count], dtype: .f32)
            try b.add(p, q, into: out)
            try b.axpy(0.3, p, out)
            try b.scale(out, by: 1.5)
            let squares = try b.sumOfSquares(out)
            return try b.download(out) + [Float(squares / Double(count))]
        })
        checks.append(Check("fill and copy f32 → bf16 → f16 → f32, i32 → f32", tolerance: .exact) { b in
            var x = Inputs(5)
            let values = x.floats(1001, scale: 70000) + [0, -0.0, 1e-7, -3e-8, 65519, 65520, 6e-5, 3.0e38]
            let source = try f32(b, values, [values.count])
            let half = try b.empty([values.count], dtype: .bf16), f16 = try b.empty([values.count], dtype: .f16)
            let back = try b.empty([values.count], dtype: .f32), viaHalf = try b.empty([values.count], dtype: .f32)
            try b.copy(source, into: half)
            try b.copy(half, into: back)
            try b.copy(source, into: f16)
            try b.copy(f16, into: viaHalf)
            let ints = try b.upload([3, -7, 123456], shape: [3]), widened = try b.empty([3], dtype: .f32)
            try b.copy(ints, into: widened)
            let filled = try b.empty([37], dtype: .bf16)
            try b.fill(filled, value: 0.1)
            return try b.download(back) + b.download(viaHalf) + b.download(widened) + b.download(filled)
        })
        checks.append(Check("addBias, biasBackward [301, 77]") { b in
            var x = Inputs(6)
            let t = try f32(b, x.floats(301 * 77), [301, 77]), bias = try f32(b, x.floats(77), [77]), dBias = try f32(b, x.floats(77), [77])
            try b.addBias(t, bias: bias)
            try b.biasBackward(t, dBias: dBias)
            return try b.download(t) + b.download(dBias)
        })
        checks.append(Check("gatherRows, scatterAddRows [40 of 23 × 19]") { b in
            var x = Inputs(7)
            let source = try f32(b, x.floats(23 * 19), [23, 19]), indices = try b.upload(x.ints(40, below: 23), shape: [40])
            let gathered = try b.empty([40, 19], dtype: .f32)
            try b.gatherRows(source, indices: indices, into: gathered)
            try b.scatterAddRows(gathered, indices: indices, into: source)
            return try b.download(gathered) + b.download(source)
        })

        // MARK: Layers
        for dtype in [DType.f32, .bf16] {
            checks.append(Check("embedding forward (\(dtype) table) and backward [60 of 97 × 35]") { b in
                var x = Inputs(8)
                let table = try b.upload(x.floats(97 * 35), shape: [97, 35], dtype: dtype), ids = try b.upload(x.ints(60, below: 97), shape: [60])
                let out = try b.empty([60, 35], dtype: .f32), dTable = try f32(b, x.floats(97 * 35), [97, 35])
                try b.embeddingForward(ids: ids, table: table, into: out)
                try b.embeddingBackward(ids: ids, dOut: out, dTable: dTable)
                return try b.download(out) + b.download(dTable)
            })
        }
        for (dtype, accumulate) in [(DType.f32, true), (.bf16, false)] {
            checks.append(Check("rmsNorm forward and backward (\(dtype) weight, accumulate \(accumulate)) [37, 203]") { b in
                var x = Inputs(9)
                let (rows, cols) = (37, 203)
                let input = try f32(b, x.floats(rows * cols), [rows, cols]), weight = try b.upload(x.floats(cols), shape: [cols], dtype: dtype)
                let out = try b.empty([rows, cols], dtype: .f32), rstd = try b.empty([rows], dtype: .f32)
                try b.rmsNormForward(input, weight: weight, eps: 1e-6, into: out, rstd: rstd)
                let dx = try f32(b, x.floats(rows * cols), [rows, cols]), dWeight = try f32(b, x.floats(cols), [cols])
                try b.rmsNormBackward(f32(b, x.floats(rows * cols), [rows, cols]), x: input, weight: weight, rstd: rstd, dx: dx,
                                      accumulate: accumulate, dWeight: dWeight)
                return try b.download(out) + b.download(rstd) + b.download(dx) + b.download(dWeight)
            })
        }
        for dtype in [DType.f32, .bf16] {
            checks.append(Check("addRMSNorm forward (\(dtype) weight, sum into a) [29, 517]") { b in
                var x = Inputs(21)
                let (rows, cols) = (29, 517)
                let a = try f32(b, x.floats(rows * cols), [rows, cols]), other = try f32(b, x.floats(rows * cols), [rows, cols])
                let weight = try b.upload(x.floats(cols), shape: [cols], dtype: dtype)
                let out = try b.empty([rows, cols], dtype: .f32), rstd = try b.empty([rows], dtype: .f32)
                try b.addRMSNormForward(a, other, weight: weight, eps: 1e-5, sum: a, into: out, rstd: rstd)
                return try b.download(a) + b.download(out) + b.download(rstd)
            })
        }
        checks.append(Check("rope forward and inverse [33, 3, 40], 50 positions") { b in
            var x = Inputs(10)
            let (tokens, heads, dim, positions) = (33, 3, 40, 50)
            let t = try f32(b, x.floats(tokens * heads * dim), [tokens, heads, dim])
            let cos = try f32(b, x.floats(positions * dim / 2), [positions, dim / 2]), sin = try f32(b, x.floats(positions * dim / 2), [positions, dim / 2])
            let pos = try b.upload(x.ints(tokens, below: positions), shape: [tokens])
            try b.rope(t, positions: pos, cos: cos, sin: sin, inverse: false)
            let forward = try b.download(t)
            try b.rope(t, positions: pos, cos: cos, sin: sin, inverse: true)
            return try forward + b.download(t)
        })
        for (heads, kvHeads, dim, lengths) in [(6, 2, 24, [70, 1, 45, 9]), (4, 4, 64, [33]), (3, 1, 128, [5, 17])] {
            checks.append(Check("attention forward and backward Hq \(heads) Hkv \(kvHeads) D \(dim), sequences \(lengths)") { b in
                var x = Inputs(11)
                let starts = sequenceStarts(lengths), tokens = starts.count
                let q = try f32(b, x.floats(tokens * heads * dim), [tokens, heads, dim])
                let key = try f32(b, x.floats(tokens * kvHeads * dim), [tokens, kvHeads, dim])
                let value = try f32(b, x.floats(tokens * kvHeads * dim), [tokens, kvHeads, dim])
                let seq = try b.upload(starts, shape: [tokens])
                let out = try b.empty([tokens, heads, dim], dtype: .f32), lse = try b.empty([tokens, heads], dtype: .f32)
                let scale = 1 / Float(dim).squareRoot() * 2
                try b.attentionForward(q: q, k: key, v: value, seqStart: seq, scale: scale, into: out, lse: lse)
                let dq = try b.empty([tokens, heads, dim], dtype: .f32)
                let dk = try b.empty([tokens, kvHeads, dim], dtype: .f32), dv = try b.empty([tokens, kvHeads, dim], dtype: .f32)
                try b.attentionBackward(dOut: f32(b, x.floats(tokens * heads * dim), [tokens, heads, dim]), q: q, k: key, v: value,
                                        out: out, lse: lse, seqStart: seq, scale: scale, dq: dq, dk: dk, dv: dv)
                return try b.download(out) + b.download(lse) + b.download(dq) + b.download(dk) + b.download(dv)
            })
        }
        checks.append(Check("attentionDecode Hq 6 Hkv 2 D 64, 3 slots of 40") { b in
            var x = Inputs(12)
            let (tokens, heads, kvHeads, dim, slots, capacity) = (4, 6, 2, 64, 3, 40)
            let q = try f32(b, x.floats(tokens * heads * dim), [tokens, heads, dim])
            let kCache = try f32(b, x.floats(slots * capacity * kvHeads * dim), [slots, capacity, kvHeads, dim])
            let vCache = try f32(b, x.floats(slots * capacity * kvHeads * dim), [slots, capacity, kvHeads, dim])
            let out = try b.empty([tokens, heads, dim], dtype: .f32)
            try b.attentionDecode(q: q, kCache: kCache, vCache: vCache, slots: b.upload([2, 0, 2, 1], shape: [tokens]),
                                  lengths: b.upload([40, 1, 17, 33], shape: [tokens]), scale: 0.125, into: out)
            return try b.download(out)
        })
        for dtype in [DType.f32, .bf16] {
            checks.append(Check("swiglu forward and backward (\(dtype) gate and up) [10007]") { b in
                var x = Inputs(13)
                let gate = try b.upload(x.floats(10007, scale: 6), shape: [10007], dtype: dtype)
                let up = try b.upload(x.floats(10007), shape: [10007], dtype: dtype)
                let out = try b.empty([10007], dtype: .f32), dGate = try b.empty([10007], dtype: .f32), dUp = try b.empty([10007], dtype: .f32)
                try b.swigluForward(gate: gate, up: up, into: out)
                try b.swigluBackward(f32(b, x.floats(10007), [10007]), gate: gate, up: up, dGate: dGate, dUp: dUp)
                return try b.download(out) + b.download(dGate) + b.download(dUp)
            })
        }
        checks.append(Check("dropout p 0.1 (the same mask as the CPU) [5003]", tolerance: .exact) { b in
            var x = Inputs(14)
            let input = try f32(b, x.floats(5003), [5003]), out = try b.empty([5003], dtype: .f32)
            try b.dropout(input, into: out, probability: 0.1, seed: 0xDEAD_BEEF)
            return try b.download(out).map { $0 == 0 ? 0 : 1 }
        })
        checks.append(Check("crossEntropy with an ignored row [9, 1003]") { b in
            var x = Inputs(15)
            var targets = x.ints(9, below: 1003)
            targets[4] = -100
            let logits = try f32(b, x.floats(9 * 1003, scale: 8), [9, 1003]), losses = try b.empty([9], dtype: .f32)
            try b.crossEntropy(logits: logits, targets: b.upload(targets, shape: [9]), losses: losses, gradScale: 0.1)
            return try b.download(losses) + b.download(logits)
        })

        // MARK: Optimizers
        checks.append(Check("adamw step 3 with weight decay [1000]") { b in
            var x = Inputs(16)
            let hyper = AdamWHyper(lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01)
            let p = try f32(b, x.floats(1000), [1000]), g = try f32(b, x.floats(1000), [1000])
            let mm = try f32(b, x.floats(1000, scale: 0.1), [1000]), vv = try f32(b, x.floats(1000, scale: 0.1).map(abs), [1000])
            try b.adamw(param: p, grad: g, m: mm, v: vv, hyper: hyper, step: 3)
            return try b.download(p) + b.download(mm) + b.download(vv)
        })
        let sizes = [1000, 0, 20011, 7]
        checks.append(Check("adamw over \(sizes.count) tensors in one step, decay on two \(sizes)") { b in
            var x = Inputs(22)
            let hyper = AdamWHyper(lr: 2e-2, beta1: 0.9, beta2: 0.98, eps: 1e-6, weightDecay: 0.1)
            let parameters = try sizes.enumerated().map { index, size in
                AdamWTensors(param: try f32(b, x.floats(size), [size]), grad: try f32(b, x.floats(size), [size]),
                             m: try f32(b, x.floats(size, scale: 0.1), [size]), v: try f32(b, x.floats(size, scale: 0.1).map(abs), [size]),
                             decays: index % 2 == 0)
            }
            try b.adamw(parameters, hyper: hyper, step: 2)
            return try parameters.flatMap { try b.download($0.param) + b.download($0.m) + b.download($0.v) }
        })
        checks.append(Check("sumOfSquares over \(sizes.count) tensors \(sizes)") { b in
            var x = Inputs(23)
            return [Float(try b.sumOfSquares(try sizes.map { try f32(b, x.floats($0), [$0]) }))]
        })
        checks.append(Check("sgd Nesterov momentum, first and second step [1000]") { b in
            var x = Inputs(17)
            let hyper = SGDHyper(lr: 0.05, momentum: 0.9, dampening: 0.1, nesterov: true, weightDecay: 0.01)
            let p = try f32(b, x.floats(1000), [1000]), g = try f32(b, x.floats(1000), [1000]), buffer = try b.empty([1000], dtype: .f32)
            try b.sgd(param: p, grad: g, momentumBuffer: buffer, hyper: hyper, initializeBuffer: true)
            try b.sgd(param: p, grad: g, momentumBuffer: buffer, hyper: hyper, initializeBuffer: false)
            return try b.download(p) + b.download(buffer)
        })

        // MARK: Bad operands are errors naming the operand
        checks.append(Check("embedding with a token id outside the table", throwsNaming: "ids[1] = 97") { b in
            let out = try b.empty([2, 3], dtype: .f32)
            try b.embeddingForward(ids: b.upload([0, 97], shape: [2]), table: b.zeros([97, 3], dtype: .f32), into: out)
            _ = try b.download(out)
        })
        checks.append(Check("crossEntropy with a target outside the vocabulary", throwsNaming: "targets[0] = 5") { b in
            let losses = try b.empty([1], dtype: .f32)
            try b.crossEntropy(logits: b.zeros([1, 5], dtype: .f32), targets: b.upload([5], shape: [1]), losses: losses, gradScale: 1)
            _ = try b.download(losses)
        })
        checks.append(Check("gemm with mismatched inner dimensions", throwsNaming: "gemm") { b in
            let a = try b.zeros([2, 3], dtype: .f32)
            try b.gemm(a, transposeA: false, a, transposeB: false, into: a, alpha: 1, beta: 0)
        })
        checks.append(Check("addRMSNorm writing its norm over an input", throwsNaming: "out has shape [2, 3], expected memory apart from b") { b in
            let x = try b.zeros([2, 3], dtype: .f32), y = try b.zeros([2, 3], dtype: .f32)
            try b.addRMSNormForward(x, y, weight: b.zeros([3], dtype: .f32), eps: 1e-6, sum: x, into: y,
                                    rstd: b.empty([2], dtype: .f32))
        })
        checks.append(Check("adamw over tensors with a mis-shaped moment", throwsNaming: "adamw: m has shape [3]") { b in
            let p = try b.zeros([4], dtype: .f32)
            try b.adamw([AdamWTensors(param: p, grad: p, m: b.zeros([3], dtype: .f32), v: p, decays: true)],
                        hyper: AdamWHyper(lr: 1e-3), step: 1)
        })
        return checks
    }
}
