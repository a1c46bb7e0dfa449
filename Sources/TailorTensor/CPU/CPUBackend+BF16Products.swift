import CBLAS

extension CPUBackend {
    /// c[m, n] = alpha · op(a) · op(b) + beta · c with a bf16 `b` and bf16 products: a rounded to
    /// bf16 (nearest even) into a scratch copy, then oneDNN's bf16 matmul (f32 accumulation), split
    /// across Tailor's workers as the fp32 GEMM is (`CPUFast.forEachProductPiece`), one
    /// single-threaded oneDNN call per piece.
    /// - Throws: `TensorError.notBuilt` naming oneDNN's status if a call fails.
    func gemmBF16Products(_ pa: UnsafePointer<Float>, transposeA: Bool, _ b: Tensor, transposeB: Bool,
                          _ pc: UnsafeMutablePointer<Float>, m: Int, n: Int, k: Int, alpha: Float, beta: Float) throws {
        try gemmBF16Products(pa, transposeA: transposeA, try raw(b, op: "gemm").assumingMemoryBound(to: UInt16.self), transposeB: transposeB,
                             pc, m: m, n: n, k: k, alpha: alpha, beta: beta)
    }

    /// The same with `b`'s bf16 values at `pb` (op(b) [k, n], rows contiguous: ldb k with transposeB, else n).
    func gemmBF16Products(_ pa: UnsafePointer<Float>, transposeA: Bool, _ pb: UnsafePointer<UInt16>, transposeB: Bool,
                          _ pc: UnsafeMutablePointer<Float>, m: Int, n: Int, k: Int, alpha: Float, beta: Float) throws {
        guard max(m, n, k) < Int(Int32.max) else {
            throw TensorError.shapeMismatch(op: "gemm", argument: "bf16 product", expected: "every dimension below 2^31", got: [m, n, k])
        }
        try Self.withBF16Copy(pa, count: m * k) { rounded in  // op(a) stored as a is, in bf16
            try gemmRoundedBF16Products(rounded, transposeA: transposeA, pb, transposeB: transposeB, pc, m: m, n: n, k: k,
                                        alpha: alpha, beta: beta)
        }
    }

    /// The oneDNN calls, `rounded` being op(a) rounded to bf16.
    private func gemmRoundedBF16Products(_ rounded: UnsafePointer<UInt16>, transposeA: Bool, _ pb: UnsafePointer<UInt16>, transposeB: Bool,
                                         _ pc: UnsafeMutablePointer<Float>, m: Int, n: Int, k: Int, alpha: Float, beta: Float) throws {
        let lda = transposeA ? m : k, ldb = transposeB ? k : n
        // One status per piece (at most one piece per worker), each written by its own piece.
        let statuses = UnsafeMutableBufferPointer<Int32>.allocate(capacity: max(Parallel.workerCount, 1))
        defer { statuses.deallocate() }
        statuses.initialize(repeating: 0)
        CPUFast.forEachProductPiece(m: m, n: n, k: k) { index, rows, cols in
            let aStart = transposeA ? rounded + rows.lowerBound : rounded + rows.lowerBound * lda
            let bStart = transposeB ? pb + cols.lowerBound * ldb : pb + cols.lowerBound
            statuses[index] = tailor_dnnl_gemm_bf16(transposeA ? 1 : 0, transposeB ? 1 : 0,
                                                    Int32(rows.count), Int32(cols.count), Int32(k), alpha,  // allowed: dims checked < 2^31 above
                                                    aStart, Int32(lda), bStart, Int32(ldb), beta,  // allowed: dims checked < 2^31 above
                                                    pc + rows.lowerBound * n + cols.lowerBound, Int32(n))  // allowed: dims checked < 2^31 above
        }
        if let status = statuses.first(where: { $0 != 0 }) {
            throw TensorError.notBuilt(what: "a bf16 product of [\(m), \(k)] · [\(k), \(n)] (oneDNN status \(status))", backend: name,
                                       instead: "run with --matmul fp32 (bf16: false in a recipe) and report this with `tailor doctor`")
        }
    }
}

extension CPUBackend {
    /// `count` values rounded to bf16 (nearest even), in parallel chunks, into a scratch copy `body` reads.
    static func withBF16Copy<T>(_ x: UnsafePointer<Float>, count: Int, _ body: (UnsafePointer<UInt16>) throws -> T) rethrows -> T {
        let rounded = UnsafeMutablePointer<UInt16>.allocate(capacity: max(count, 1))
        defer { rounded.deallocate() }
        Parallel.forEachChunk(count, costPerItem: 1) { range in
            HalfPrecision.floatsToBF16(x + range.lowerBound, rounded + range.lowerBound, count: range.count)
        }
        return try body(rounded)
    }

    /// `count` values rounded to bf16 (nearest even) and widened back: what a bf16 product
    /// multiplies, for the decode GEMV and the reference kernels.
    static func roundedToBF16(_ x: UnsafePointer<Float>, count: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { out, initialized in
            Parallel.forEachChunk(count, costPerItem: 1) { range in
                for i in range { out[i] = HalfPrecision.bf16ToFloat(HalfPrecision.floatToBF16(x[i])) }
            }
            initialized = count
        }
    }
}
