/// The operand checks every backend makes before a kernel runs, so each backend reports a
/// wrong shape or dtype with the same message naming the op and the operand.
public enum OperandChecks {
    public static func requireDType(_ tensor: Tensor, _ allowed: [DType], op: String, argument: String) throws {
        guard allowed.contains(tensor.dtype) else {
            throw TensorError.unsupportedDType(op: op, argument: argument, dtype: tensor.dtype, supported: allowed)
        }
    }

    public static func requireShape(_ tensor: Tensor, _ shape: [Int], op: String, _ argument: String) throws {
        guard tensor.shape == shape else {
            throw TensorError.shapeMismatch(op: op, argument: argument, expected: "\(shape)", got: tensor.shape)
        }
    }

    public static func requireCount(_ tensor: Tensor, _ count: Int, op: String, _ argument: String) throws {
        guard tensor.count == count else {
            throw TensorError.shapeMismatch(op: op, argument: argument, expected: "\(count) elements", got: tensor.shape)
        }
    }

    /// [rows, last dim] of a tensor read as a matrix.
    public static func matrix(_ tensor: Tensor) -> (rows: Int, cols: Int) {
        let cols = tensor.shape.last ?? 1
        return (cols == 0 ? 0 : tensor.count / cols, cols)
    }

    /// The shapes of gemm's operands: (m, n, k).
    public static func gemmShape(_ a: Tensor, transposeA: Bool, _ b: Tensor, transposeB: Bool, _ c: Tensor) throws -> (m: Int, n: Int, k: Int) {
        let (aRows, aCols) = matrix(a), (bRows, bCols) = matrix(b), (cRows, cCols) = matrix(c)
        let (m, k) = transposeA ? (aCols, aRows) : (aRows, aCols)
        let (kb, n) = transposeB ? (bCols, bRows) : (bRows, bCols)
        guard kb == k else {
            throw TensorError.shapeMismatch(op: "gemm", argument: "b", expected: "inner dimension \(k)", got: b.shape)
        }
        guard cRows == m && cCols == n else {
            throw TensorError.shapeMismatch(op: "gemm", argument: "c", expected: "[\(m), \(n)]", got: c.shape)
        }
        return (m, n, k)
    }

    /// The shapes of gemmBatched's operands: (batch, m, n, k, whether b is one shared matrix).
    public static func gemmBatchedShape(_ a: Tensor, transposeA: Bool, _ b: Tensor, transposeB: Bool, _ c: Tensor) throws
        -> (batch: Int, m: Int, n: Int, k: Int, sharedB: Bool)
    {
        let op = "gemmBatched"
        guard a.rank == 3, c.rank == 3, b.rank == 2 || b.rank == 3 else {
            throw TensorError.shapeMismatch(op: op, argument: "a, b, c", expected: "a [batch, rows, cols], b [batch, rows, cols] or [rows, cols], c [batch, M, N]",
                                            got: a.shape + [-1] + b.shape + [-1] + c.shape)
        }
        let batch = a.shape[0]
        let (m, k) = transposeA ? (a.shape[2], a.shape[1]) : (a.shape[1], a.shape[2])
        let bRows = b.shape[b.rank - 2], bCols = b.shape[b.rank - 1]
        let (kb, n) = transposeB ? (bCols, bRows) : (bRows, bCols)
        guard kb == k, b.rank == 2 || b.shape[0] == batch else {
            throw TensorError.shapeMismatch(op: op, argument: "b", expected: "inner dimension \(k) and batch \(batch) (or a shared matrix)", got: b.shape)
        }
        guard c.shape == [batch, m, n] else {
            throw TensorError.shapeMismatch(op: op, argument: "c", expected: "[\(batch), \(m), \(n)]", got: c.shape)
        }
        return (batch, m, n, k, b.rank == 2)
    }

    /// Attention operands: q [N, Hq, D]; k, v [N, Hkv, D] with Hkv dividing Hq; seqStart [N].
    /// Returns (tokens, heads, kvHeads, headDim).
    public static func attentionShape(q: Tensor, k: Tensor, v: Tensor, seqStart: Tensor, op: String) throws
        -> (tokens: Int, heads: Int, kvHeads: Int, headDim: Int)
    {
        guard q.rank == 3, k.rank == 3 else {
            throw TensorError.shapeMismatch(op: op, argument: "q", expected: "[N, Hq, D]", got: q.shape)
        }
        let (tokens, heads, headDim) = (q.shape[0], q.shape[1], q.shape[2])
        let kvHeads = k.shape[1]
        guard k.shape[0] == tokens, k.shape[2] == headDim, kvHeads > 0, heads % kvHeads == 0 else {
            throw TensorError.shapeMismatch(op: op, argument: "k", expected: "[\(tokens), Hkv dividing \(heads), \(headDim)]", got: k.shape)
        }
        try requireShape(v, k.shape, op: op, "v")
        try requireCount(seqStart, tokens, op: op, "seqStart")
        return (tokens, heads, kvHeads, headDim)
    }

    /// attentionDecode's operands. Returns (tokens, heads, kvHeads, headDim, slots S, capacity L).
    public static func decodeShape(q: Tensor, kCache: Tensor, vCache: Tensor, slots: Tensor, lengths: Tensor, out: Tensor) throws
        -> (tokens: Int, heads: Int, kvHeads: Int, headDim: Int, slotCount: Int, capacity: Int)
    {
        let op = "attentionDecode"
        guard q.rank == 3 else { throw TensorError.shapeMismatch(op: op, argument: "q", expected: "[N, Hq, D]", got: q.shape) }
        let (tokens, heads, headDim) = (q.shape[0], q.shape[1], q.shape[2])
        guard kCache.rank == 4, kCache.shape[3] == headDim, kCache.shape[2] > 0, heads % kCache.shape[2] == 0 else {
            throw TensorError.shapeMismatch(op: op, argument: "kCache", expected: "[S, L, Hkv dividing \(heads), \(headDim)]", got: kCache.shape)
        }
        try requireShape(vCache, kCache.shape, op: op, "vCache")
        try requireShape(out, q.shape, op: op, "out")
        try requireCount(slots, tokens, op: op, "slots")
        try requireCount(lengths, tokens, op: op, "lengths")
        return (tokens, heads, kCache.shape[2], headDim, kCache.shape[0], kCache.shape[1])
    }

    /// rmsNormForward's operands (and the norm half of addRMSNormForward's, under `op`):
    /// x, out matrix [N, C]; weight [C]; rstd [N]. Returns (rows N, cols C).
    public static func rmsNorm(_ x: Tensor, weight: Tensor, out: Tensor, rstd: Tensor, op: String = "rmsNormForward") throws
        -> (rows: Int, cols: Int)
    {
        let (rows, cols) = matrix(x)
        try requireShape(weight, [cols], op: op, "weight")
        try requireCount(out, x.count, op: op, "out")
        try requireCount(rstd, rows, op: op, "rstd")
        return (rows, cols)
    }

    /// rmsNormBackward's operands: dOut, x, dx [N, C]; weight [C]; rstd [N]; dWeight [C].
    /// Returns (rows N, cols C).
    public static func rmsNormBackward(_ dOut: Tensor, x: Tensor, weight: Tensor, rstd: Tensor, dx: Tensor, dWeight: Tensor?) throws
        -> (rows: Int, cols: Int)
    {
        let op = "rmsNormBackward"
        let (rows, cols) = matrix(x)
        try requireShape(weight, [cols], op: op, "weight")
        try requireCount(dOut, x.count, op: op, "dOut")
        try requireCount(dx, x.count, op: op, "dx")
        try requireCount(rstd, rows, op: op, "rstd")
        if let dWeight { try requireShape(dWeight, [cols], op: op, "dWeight") }
        return (rows, cols)
    }

    /// addRMSNormForward's operands: (rows, cols). `sum` may be `a` or `b`; `out` must not overlap
    /// any of a, b and sum (the kernels read a row of them after writing out).
    public static func addRMSNorm(_ a: Tensor, _ b: Tensor, weight: Tensor, sum: Tensor, out: Tensor, rstd: Tensor) throws
        -> (rows: Int, cols: Int)
    {
        let op = "addRMSNormForward"
        let (rows, cols) = try rmsNorm(a, weight: weight, out: out, rstd: rstd, op: op)
        try requireCount(b, a.count, op: op, "b")
        try requireCount(sum, a.count, op: op, "sum")
        for (other, name) in [(a, "a"), (b, "b"), (sum, "sum")] where out.overlaps(other) {
            throw TensorError.shapeMismatch(op: op, argument: "out", expected: "memory apart from \(name)", got: out.shape)
        }
        for (other, name) in [(a, "a"), (b, "b")] where sum.overlaps(other) && sum.byteOffset != other.byteOffset {
            throw TensorError.shapeMismatch(op: op, argument: "sum", expected: "\(name) itself or memory apart from it", got: sum.shape)
        }
        return (rows, cols)
    }

    /// rope's operands: x [N, H, D] with even D; positions [N]; cos, sin [P, D/2].
    /// Returns (tokens N, heads H, headDim D).
    public static func rope(_ x: Tensor, positions: Tensor, cos: Tensor, sin: Tensor) throws -> (tokens: Int, heads: Int, headDim: Int) {
        let op = "rope"
        guard x.rank == 3, x.shape[2] % 2 == 0 else {
            throw TensorError.shapeMismatch(op: op, argument: "x", expected: "[N, H, D] with even D", got: x.shape)
        }
        let (tokens, heads, headDim) = (x.shape[0], x.shape[1], x.shape[2])
        try requireCount(positions, tokens, op: op, "positions")
        guard cos.rank == 2, cos.shape[1] == headDim / 2, sin.shape == cos.shape else {
            throw TensorError.shapeMismatch(op: op, argument: "cos/sin", expected: "[P, \(headDim / 2)]", got: cos.shape)
        }
        return (tokens, heads, headDim)
    }

    /// An AdamW step's operands: grad, m and v shaped like param; `step` counted from 1.
    public static func adamw(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, step: Int) throws {
        for (tensor, name) in [(grad, "grad"), (m, "m"), (v, "v")] { try requireShape(tensor, param.shape, op: "adamw", name) }
        guard step >= 1 else {
            throw TensorError.shapeMismatch(op: "adamw", argument: "step = \(step)", expected: "step counted from 1", got: [])
        }
    }

    /// Throws for `nf4` / `fp4`, which only `upload(fourBit:)` makes (their bytes are codes plus scales).
    public static func requireNotBlockQuantized(_ dtype: DType, op: String) throws {
        guard !dtype.isBlockQuantized else {
            throw TensorError.unsupportedDType(op: op, argument: "dtype", dtype: dtype, supported: [.f32, .bf16, .f16, .i32, .i64, .u8])
        }
    }
}
