/// The Backend operations on the CPU: operand checks, then the reference or the fast kernel.
extension CPUBackend {
    private var fast: Bool { kernels == .fast }

    // MARK: Elementwise and reductions

    public func fill(_ tensor: Tensor, value: Float) throws {
        switch tensor.dtype {
        case .f32:
            let x = try f32(tensor, op: "fill", "tensor")
            if fast { CPUFast.fill(x, value, count: tensor.count) } else { x.update(repeating: value, count: tensor.count) }
        case .i32:
            try i32(tensor, op: "fill", "tensor").update(repeating: Int32(value), count: tensor.count)  // allowed: fill of an i32 tensor is only called with the backend's own small constants (0, -100)
        case .bf16, .f16:
            let bits = tensor.dtype == .bf16 ? HalfPrecision.floatToBF16(value) : HalfPrecision.floatToF16(value)
            try raw(tensor, op: "fill").assumingMemoryBound(to: UInt16.self).update(repeating: bits, count: tensor.count)
        default:
            throw TensorError.unsupportedDType(op: "fill", argument: "tensor", dtype: tensor.dtype, supported: [.f32, .bf16, .f16, .i32])
        }
    }

    public func copy(_ source: Tensor, into destination: Tensor) throws {
        try requireCount(destination, source.count, op: "copy", "destination")
        if source.dtype == destination.dtype {
            try raw(destination, op: "copy").copyMemory(from: raw(source, op: "copy"), byteCount: source.byteCount)
            return
        }
        try store(try download(source), into: destination, op: "copy")
    }

    public func add(_ a: Tensor, _ b: Tensor, into out: Tensor) throws {
        try requireCount(b, a.count, op: "add", "b")
        try requireCount(out, a.count, op: "add", "out")
        let (pa, pb, po) = (try f32(a, op: "add", "a"), try f32(b, op: "add", "b"), try f32(out, op: "add", "out"))
        if fast { CPUFast.add(pa, pb, po, count: a.count) } else { for i in 0..<a.count { po[i] = pa[i] + pb[i] } }
    }

    public func axpy(_ alpha: Float, _ x: Tensor, _ y: Tensor) throws {
        try requireCount(y, x.count, op: "axpy", "y")
        let (px, py) = (try f32(x, op: "axpy", "x"), try f32(y, op: "axpy", "y"))
        if fast { CPUFast.axpy(alpha, px, py, count: x.count) } else { for i in 0..<x.count { py[i] += alpha * px[i] } }
    }

    public func scale(_ x: Tensor, by factor: Float) throws {
        let px = try f32(x, op: "scale", "x")
        if fast { CPUFast.scale(px, factor, count: x.count) } else { for i in 0..<x.count { px[i] *= factor } }
    }

    public func sumOfSquares(_ x: Tensor) throws -> Double {
        let px = try f32(x, op: "sumOfSquares", "x")
        if fast { return CPUFast.sumOfSquares(px, count: x.count) }
        var sum = 0.0
        for i in 0..<x.count { sum += Double(px[i]) * Double(px[i]) }
        return sum
    }

    public func sumOfSquares(_ tensors: [Tensor]) throws -> Double {
        try tensors.reduce(0) { $0 + (try sumOfSquares($1)) }
    }

    public func gatherRows(_ source: Tensor, indices: Tensor, into out: Tensor) throws {
        let (rows, cols) = matrix(source)
        try requireShape(out, [indices.count, cols], op: "gatherRows", "out")
        let (idx, dst) = (try i32(indices, op: "gatherRows", "indices"), try f32(out, op: "gatherRows", "out"))
        for i in 0..<indices.count {
            let r = Int(idx[i])  // allowed: Int32 ids, positions and offsets widen to Int
            guard r >= 0 && r < rows else {
                throw TensorError.shapeMismatch(op: "gatherRows", argument: "indices[\(i)] = \(r)", expected: "0..<\(rows)", got: source.shape)
            }
        }
        if source.dtype.ggmlBlockType != nil {
            try gatherDecodedRows(source, indices: idx, count: indices.count, into: dst)
            return
        }
        let src = try f32(source, op: "gatherRows", "source")
        Parallel.forEachChunk(indices.count, costPerItem: fast ? cols : 0) { range in
            for i in range { (dst + i * cols).update(from: src + Int(idx[i]) * cols, count: cols) }  // allowed: Int32 ids, positions and offsets widen to Int
        }
    }

    public func scatterAddRows(_ source: Tensor, indices: Tensor, into out: Tensor) throws {
        let (rows, cols) = matrix(out)
        try requireShape(source, [indices.count, cols], op: "scatterAddRows", "source")
        let (src, idx, dst) = (try f32(source, op: "scatterAddRows", "source"), try i32(indices, op: "scatterAddRows", "indices"),
                               try f32(out, op: "scatterAddRows", "out"))
        for i in 0..<indices.count {
            let r = Int(idx[i])  // allowed: Int32 ids, positions and offsets widen to Int
            guard r >= 0 && r < rows else {
                throw TensorError.shapeMismatch(op: "scatterAddRows", argument: "indices[\(i)] = \(r)", expected: "0..<\(rows)", got: out.shape)
            }
            let s = src + i * cols, d = dst + r * cols
            for c in 0..<cols { d[c] += s[c] }
        }
    }

    // MARK: Matrix products

    public func gemm(_ a: Tensor, transposeA: Bool, _ b: Tensor, transposeB: Bool, into c: Tensor,
                     alpha: Float, beta: Float) throws {
        let (m, n, k) = try OperandChecks.gemmShape(a, transposeA: transposeA, b, transposeB: transposeB, c)
        let pa = try f32(a, op: "gemm", "a"), pc = try f32(c, op: "gemm", "c")
        // bf16 products: the activation rounded to bf16, f32 accumulation (MatmulPrecision.halfInputs).
        let bf16Products = matmul == .halfInputs && b.dtype == .bf16
        if fast, batchInvariant, !transposeA, transposeB, m > 0, n > 0, k > 0,
           try gemmBatchInvariant(pa, b, pc, m: m, n: n, k: k, alpha: alpha, beta: beta) {
            return
        }
        if fast, !transposeA, transposeB, m <= CPUFast.gemvMaxRows, b.dtype == .f32 || b.dtype == .bf16 {
            // A few rows (decoding): read the weight once, bf16 widened in registers.
            let weight = try raw(b, op: "gemm"), isBF16 = b.dtype == .bf16
            let product = { (x: UnsafePointer<Float>) in
                CPUFast.gemvRows(x, m: m, k: k, weight: weight, bf16: isBF16, n: n, pc, alpha: alpha, beta: beta)
            }
            if bf16Products, m * k > 0 {
                Self.roundedToBF16(pa, count: m * k).withUnsafeBufferPointer { if let x = $0.baseAddress { product(x) } }
            } else {
                product(pa)
            }
            return
        }
        if b.dtype.isBlockQuantized, m > 0, n > 0, k > 0 {
            // ggml or 4-bit blocks decoded a block of rows at a time; with bf16 products the decoded values are
            // rounded to bf16, as an f32 weight is at load (ProductWeightRounding).
            try gemmDecodingBlocks(pa, transposeA: transposeA, b, transposeB: transposeB, pc, m: m, n: n, k: k, alpha: alpha, beta: beta)
            return
        }
        if bf16Products, m > 0, n > 0, k > 0 {
            if fast {
                try gemmBF16Products(pa, transposeA: transposeA, b, transposeB: transposeB, pc, m: m, n: n, k: k, alpha: alpha, beta: beta)
            } else {
                let rounded = Self.roundedToBF16(pa, count: m * k)
                try withFloats(b, op: "gemm", "b") { pb in
                    CPUReference.gemm(rounded, transposeA: transposeA, pb, transposeB: transposeB, pc, m: m, n: n, k: k, alpha: alpha, beta: beta)
                }
            }
            return
        }
        if fast, b.dtype == .bf16 || b.dtype == .f16, b.count > Self.widenBlockElements, m > 0, n > 0, k > 0 {
            try gemmWideningInBlocks(pa, transposeA: transposeA, b, transposeB: transposeB, pc, m: m, n: n, k: k, alpha: alpha, beta: beta)
            return
        }

        try withFloats(b, op: "gemm", "b") { pb in
            if fast {
                CPUFast.gemm(pa, transposeA: transposeA, pb, transposeB: transposeB, pc, m: m, n: n, k: k, alpha: alpha, beta: beta)
            } else {
                CPUReference.gemm(pa, transposeA: transposeA, pb, transposeB: transposeB, pc, m: m, n: n, k: k, alpha: alpha, beta: beta)
            }
        }
    }

    public func addBias(_ x: Tensor, bias: Tensor) throws {
        let (rows, cols) = matrix(x)
        try requireShape(bias, [cols], op: "addBias", "bias")
        let px = try f32(x, op: "addBias", "x")
        try withFloats(bias, op: "addBias", "bias") { pb in
            if fast { CPUFast.addBias(px, pb, rows: rows, cols: cols) } else { CPUReference.addBias(px, pb, rows: rows, cols: cols) }
        }
    }

    public func biasBackward(_ dOut: Tensor, dBias: Tensor) throws {
        let (rows, cols) = matrix(dOut)
        try requireShape(dBias, [cols], op: "biasBackward", "dBias")
        let (pd, pb) = (try f32(dOut, op: "biasBackward", "dOut"), try f32(dBias, op: "biasBackward", "dBias"))
        if fast { CPUFast.biasBackward(pd, pb, rows: rows, cols: cols) } else { CPUReference.biasBackward(pd, pb, rows: rows, cols: cols) }
    }

    // MARK: Layers

    public func embeddingForward(ids: Tensor, table: Tensor, into out: Tensor) throws {
        let (vocab, cols) = matrix(table)
        try requireShape(out, [ids.count, cols], op: "embeddingForward", "out")
        let (pid, po) = (try i32(ids, op: "embeddingForward", "ids"), try f32(out, op: "embeddingForward", "out"))
        for n in 0..<ids.count where pid[n] < 0 || Int(pid[n]) >= vocab {  // allowed: Int32 ids, positions and offsets widen to Int
            throw TensorError.shapeMismatch(op: "embeddingForward", argument: "ids[\(n)] = \(pid[n])",
                                            expected: "a token id in 0..<\(vocab)", got: table.shape)
        }
        if table.dtype.ggmlBlockType != nil {
            try gatherDecodedRows(table, indices: pid, count: ids.count, into: po)
            return
        }
        let base = try raw(table, op: "embeddingForward")
        let dtype = table.dtype
        try requireDType(table, [.f32, .bf16, .f16], op: "embeddingForward", argument: "table")
        Parallel.forEachChunk(ids.count, costPerItem: fast ? cols : 0) { range in
            for n in range {
                let row = Int(pid[n]), o = po + n * cols  // allowed: Int32 ids, positions and offsets widen to Int
                switch dtype {
                case .f32: o.update(from: base.assumingMemoryBound(to: Float.self) + row * cols, count: cols)
                case .bf16:
                    let src = base.assumingMemoryBound(to: UInt16.self) + row * cols
                    for c in 0..<cols { o[c] = HalfPrecision.bf16ToFloat(src[c]) }
                default:
                    let src = base.assumingMemoryBound(to: UInt16.self) + row * cols
                    for c in 0..<cols { o[c] = HalfPrecision.f16ToFloat(src[c]) }
                }
            }
        }
    }

    public func embeddingBackward(ids: Tensor, dOut: Tensor, dTable: Tensor) throws {
        let (vocab, cols) = matrix(dTable)
        try requireShape(dOut, [ids.count, cols], op: "embeddingBackward", "dOut")
        let (pid, pd, pt) = (try i32(ids, op: "embeddingBackward", "ids"), try f32(dOut, op: "embeddingBackward", "dOut"),
                             try f32(dTable, op: "embeddingBackward", "dTable"))
        for n in 0..<ids.count {
            let row = Int(pid[n])  // allowed: Int32 ids, positions and offsets widen to Int
            guard row >= 0 && row < vocab else {
                throw TensorError.shapeMismatch(op: "embeddingBackward", argument: "ids[\(n)] = \(row)", expected: "0..<\(vocab)", got: dTable.shape)
            }
            let d = pt + row * cols, s = pd + n * cols
            for c in 0..<cols { d[c] += s[c] }
        }
    }

    public func rmsNormForward(_ x: Tensor, weight: Tensor, eps: Float, into out: Tensor, rstd: Tensor) throws {
        let (rows, cols) = try OperandChecks.rmsNorm(x, weight: weight, out: out, rstd: rstd)
        let (px, po, pr) = (try f32(x, op: "rmsNormForward", "x"), try f32(out, op: "rmsNormForward", "out"), try f32(rstd, op: "rmsNormForward", "rstd"))
        try withFloats(weight, op: "rmsNormForward", "weight") { pw in
            if fast { CPUFast.rmsNormForward(px, pw, eps: eps, po, pr, rows: rows, cols: cols) }
            else { CPUReference.rmsNormForward(px, pw, eps: eps, po, pr, rows: rows, cols: cols) }
        }
    }

    /// The plain composition: the add, then the norm (the CPU gains little from fusing them).
    public func addRMSNormForward(_ a: Tensor, _ b: Tensor, weight: Tensor, eps: Float, sum: Tensor, into out: Tensor,
                                  rstd: Tensor) throws {
        _ = try OperandChecks.addRMSNorm(a, b, weight: weight, sum: sum, out: out, rstd: rstd)
        try add(a, b, into: sum)
        try rmsNormForward(sum, weight: weight, eps: eps, into: out, rstd: rstd)
    }

    public func rmsNormBackward(_ dOut: Tensor, x: Tensor, weight: Tensor, rstd: Tensor,
                                dx: Tensor, accumulate: Bool, dWeight: Tensor?) throws {
        let (rows, cols) = try OperandChecks.rmsNormBackward(dOut, x: x, weight: weight, rstd: rstd, dx: dx, dWeight: dWeight)
        let pdy = try f32(dOut, op: "rmsNormBackward", "dOut"), px = try f32(x, op: "rmsNormBackward", "x")
        let pr = try f32(rstd, op: "rmsNormBackward", "rstd"), pdx = try f32(dx, op: "rmsNormBackward", "dx")
        let pdw = try dWeight.map { try f32($0, op: "rmsNormBackward", "dWeight") }
        try withFloats(weight, op: "rmsNormBackward", "weight") { pw in
            if fast { CPUFast.rmsNormBackward(pdy, px, pw, pr, pdx, accumulate: accumulate, pdw, rows: rows, cols: cols) }
            else { CPUReference.rmsNormBackward(pdy, px, pw, pr, pdx, accumulate: accumulate, pdw, rows: rows, cols: cols) }
        }
    }

    public func rope(_ x: Tensor, positions: Tensor, cos: Tensor, sin: Tensor, inverse: Bool) throws {
        let (tokens, heads, headDim) = try OperandChecks.rope(x, positions: positions, cos: cos, sin: sin)
        let px = try f32(x, op: "rope", "x"), pp = try i32(positions, op: "rope", "positions")
        let pc = try f32(cos, op: "rope", "cos"), ps = try f32(sin, op: "rope", "sin")
        for n in 0..<tokens where pp[n] < 0 || Int(pp[n]) >= cos.shape[0] {  // allowed: Int32 ids, positions and offsets widen to Int
            throw TensorError.shapeMismatch(op: "rope", argument: "positions[\(n)] = \(pp[n])", expected: "0..<\(cos.shape[0])", got: cos.shape)
        }
        if fast { CPUFast.rope(px, positions: pp, cos: pc, sin: ps, tokens: tokens, heads: heads, headDim: headDim, inverse: inverse) }
        else { CPUReference.rope(px, positions: pp, cos: pc, sin: ps, tokens: tokens, heads: heads, headDim: headDim, inverse: inverse) }
    }

    private func attentionOperands(q: Tensor, k: Tensor, v: Tensor, seqStart: Tensor, op: String) throws
        -> CPUFast.AttentionShape
    {
        let (tokens, heads, kvHeads, headDim) = try OperandChecks.attentionShape(q: q, k: k, v: v, seqStart: seqStart, op: op)
        // Sequences must be contiguous runs: each token starts a run or continues the previous one's.
        let starts = try i32(seqStart, op: op, "seqStart")
        for n in 0..<tokens {
            let s = Int(starts[n])  // allowed: Int32 ids, positions and offsets widen to Int
            let valid = s == n || (n > 0 && s == Int(starts[n - 1]) && s < n)  // allowed: Int32 ids, positions and offsets widen to Int
            guard valid else {
                throw TensorError.shapeMismatch(op: op, argument: "seqStart[\(n)] = \(s)",
                                                expected: "\(n) (a new sequence) or seqStart[\(n - 1)] (the same one)", got: seqStart.shape)
            }
        }
        return CPUFast.AttentionShape(heads: heads, kvHeads: kvHeads, headDim: headDim)
    }

    public func attentionForward(q: Tensor, k: Tensor, v: Tensor, seqStart: Tensor, scale: Float,
                                 into out: Tensor, lse: Tensor) throws {
        let shape = try attentionOperands(q: q, k: k, v: v, seqStart: seqStart, op: "attentionForward")
        let tokens = q.shape[0]
        try requireShape(out, q.shape, op: "attentionForward", "out")
        try requireCount(lse, tokens * shape.heads, op: "attentionForward", "lse")
        let op = "attentionForward"
        let (pq, pk, pv) = (try f32(q, op: op, "q"), try f32(k, op: op, "k"), try f32(v, op: op, "v"))
        let (ps, po, pl) = (try i32(seqStart, op: op, "seqStart"), try f32(out, op: op, "out"), try f32(lse, op: op, "lse"))
        if fast {
            CPUFast.attentionForward(q: pq, k: pk, v: pv, seqStart: ps, scale: scale, out: po, lse: pl, tokens: tokens, shape: shape)
        } else {
            CPUReference.attentionForward(q: pq, k: pk, v: pv, seqStart: ps, scale: scale, out: po, lse: pl, tokens: tokens,
                                          heads: shape.heads, kvHeads: shape.kvHeads, headDim: shape.headDim)
        }
    }

    public func attentionBackward(dOut: Tensor, q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor,
                                  seqStart: Tensor, scale: Float, dq: Tensor, dk: Tensor, dv: Tensor) throws {
        let op = "attentionBackward"
        let shape = try attentionOperands(q: q, k: k, v: v, seqStart: seqStart, op: op)
        let tokens = q.shape[0]
        for (tensor, name) in [(dOut, "dOut"), (out, "out"), (dq, "dq")] { try requireShape(tensor, q.shape, op: op, name) }
        for (tensor, name) in [(dk, "dk"), (dv, "dv")] { try requireShape(tensor, k.shape, op: op, name) }
        try requireCount(lse, tokens * shape.heads, op: op, "lse")
        let (pdo, pq, pk, pv) = (try f32(dOut, op: op, "dOut"), try f32(q, op: op, "q"), try f32(k, op: op, "k"), try f32(v, op: op, "v"))
        let (po, pl, ps) = (try f32(out, op: op, "out"), try f32(lse, op: op, "lse"), try i32(seqStart, op: op, "seqStart"))
        let (pdq, pdk, pdv) = (try f32(dq, op: op, "dq"), try f32(dk, op: op, "dk"), try f32(dv, op: op, "dv"))
        if fast {
            CPUFast.attentionBackward(dOut: pdo, q: pq, k: pk, v: pv, out: po, lse: pl, seqStart: ps, scale: scale,
                                      dq: pdq, dk: pdk, dv: pdv, tokens: tokens, shape: shape)
        } else {
            CPUReference.attentionBackward(dOut: pdo, q: pq, k: pk, v: pv, lse: pl, seqStart: ps, scale: scale,
                                           dq: pdq, dk: pdk, dv: pdv, tokens: tokens,
                                           heads: shape.heads, kvHeads: shape.kvHeads, headDim: shape.headDim)
        }
    }

    public func swigluForward(gate: Tensor, up: Tensor, into out: Tensor) throws {
        try requireShape(up, gate.shape, op: "swigluForward", "up")
        try requireShape(out, gate.shape, op: "swigluForward", "out")
        let po = try f32(out, op: "swigluForward", "out")
        try withFloats(gate, op: "swigluForward", "gate") { pg in
            try withFloats(up, op: "swigluForward", "up") { pu in
                if fast { CPUFast.swigluForward(gate: pg, up: pu, out: po, count: gate.count) }
                else { CPUReference.swigluForward(gate: pg, up: pu, out: po, count: gate.count) }
            }
        }
    }

    public func swigluBackward(_ dOut: Tensor, gate: Tensor, up: Tensor, dGate: Tensor, dUp: Tensor) throws {
        let op = "swigluBackward"
        for (tensor, name) in [(up, "up"), (dOut, "dOut"), (dGate, "dGate"), (dUp, "dUp")] { try requireShape(tensor, gate.shape, op: op, name) }
        let pd = try f32(dOut, op: op, "dOut")
        let (pdg, pdu) = (try f32(dGate, op: op, "dGate"), try f32(dUp, op: op, "dUp"))
        try withFloats(gate, op: op, "gate") { pg in
            try withFloats(up, op: op, "up") { pu in
                if fast { CPUFast.swigluBackward(pd, gate: pg, up: pu, dGate: pdg, dUp: pdu, count: gate.count) }
                else { CPUReference.swigluBackward(pd, gate: pg, up: pu, dGate: pdg, dUp: pdu, count: gate.count) }
            }
        }
    }

    public func crossEntropy(logits: Tensor, targets: Tensor, losses: Tensor, gradScale: Float) throws {
        let (rows, vocab) = matrix(logits)
        try requireCount(targets, rows, op: "crossEntropy", "targets")
        try requireCount(losses, rows, op: "crossEntropy", "losses")
        let (pl, pt, ploss) = (try f32(logits, op: "crossEntropy", "logits"), try i32(targets, op: "crossEntropy", "targets"),
                               try f32(losses, op: "crossEntropy", "losses"))
        for r in 0..<rows where pt[r] >= Int32(vocab) || (pt[r] < 0 && pt[r] != -100) {  // allowed: vocab is the row length of a logits tensor held in memory
            throw TensorError.shapeMismatch(op: "crossEntropy", argument: "targets[\(r)] = \(pt[r])",
                                            expected: "a token id in 0..<\(vocab) or -100", got: logits.shape)
        }
        if fast { CPUFast.crossEntropy(pl, targets: pt, losses: ploss, gradScale: gradScale, rows: rows, vocab: vocab) }
        else { CPUReference.crossEntropy(pl, targets: pt, losses: ploss, gradScale: gradScale, rows: rows, vocab: vocab) }
    }

    public func adamw(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, hyper: AdamWHyper, step: Int) throws {
        let op = "adamw"
        try OperandChecks.adamw(param: param, grad: grad, m: m, v: v, step: step)
        let (pp, pg, pm, pv) = (try f32(param, op: op, "param"), try f32(grad, op: op, "grad"), try f32(m, op: op, "m"), try f32(v, op: op, "v"))
        if fast { CPUFast.adamw(param: pp, grad: pg, m: pm, v: pv, count: param.count, hyper: hyper, step: step) }
        else { CPUReference.adamw(param: pp, grad: pg, m: pm, v: pv, count: param.count, hyper: hyper, step: step) }
    }

    public func adamw(_ parameters: [AdamWTensors], hyper: AdamWHyper, step: Int) throws {
        // Every operand checked before any parameter moves.
        for p in parameters { try OperandChecks.adamw(param: p.param, grad: p.grad, m: p.m, v: p.v, step: step) }
        var noDecay = hyper
        noDecay.weightDecay = 0
        for p in parameters {
            try adamw(param: p.param, grad: p.grad, m: p.m, v: p.v, hyper: p.decays ? hyper : noDecay, step: step)
        }
    }

    public func sgd(param: Tensor, grad: Tensor, momentumBuffer: Tensor?, hyper: SGDHyper, initializeBuffer: Bool) throws {
        let op = "sgd"
        try requireShape(grad, param.shape, op: op, "grad")
        if let momentumBuffer { try requireShape(momentumBuffer, param.shape, op: op, "momentumBuffer") }
        let (pp, pg) = (try f32(param, op: op, "param"), try f32(grad, op: op, "grad"))
        let pb = try momentumBuffer.map { try f32($0, op: op, "momentumBuffer") }
        if fast { CPUFast.sgd(param: pp, grad: pg, buffer: pb, count: param.count, hyper: hyper, initializeBuffer: initializeBuffer) }
        else { CPUReference.sgd(param: pp, grad: pg, buffer: pb, count: param.count, hyper: hyper, initializeBuffer: initializeBuffer) }
    }
}
