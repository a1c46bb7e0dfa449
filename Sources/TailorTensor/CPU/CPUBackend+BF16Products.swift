import CBLAS

extension CPUBackend {
    /// c[m, n] = alpha · op(a) · op(b) + beta · c with a bf16 `b` and bf16 products: a rounded to
    /// bf16 (nearest even) into a scratch copy, then oneDNN's bf16 matmul (f32 accumulation), split
    /// across Tailor's workers by rows of c (or by columns when c is wide and short), one
    /// single-threaded oneDNN call per piece.
    /// - Throws: `TensorError.notBuilt` naming oneDNN's status if a call fails.
    func gemmBF16Products(_ pa: UnsafePointer<Float>, transposeA: Bool, _ b: Tensor, transposeB: Bool,
                          _ pc: UnsafeMutablePointer<Float>, m: Int, n: Int, k: Int, alpha: Float, beta: Float) throws {
        guard max(m, n, k) < Int(Int32.max) else {
            throw TensorError.shapeMismatch(op: "gemm", argument: "bf16 product", expected: "every dimension below 2^31", got: [m, n, k])
        }
        let pb = try raw(b, op: "gemm").assumingMemoryBound(to: UInt16.self)
        let rounded = UnsafeMutablePointer<UInt16>.allocate(capacity: max(m * k, 1))  // op(a) stored as a is, in bf16
        defer { rounded.deallocate() }
        Parallel.forEachChunk(m * k, costPerItem: 1) { range in
            for i in range { rounded[i] = HalfPrecision.floatToBF16(pa[i]) }
        }
        let lda = transposeA ? m : k, ldb = transposeB ? k : n
        let workers = Parallel.workerCount
        // One status per piece (at most `workers` pieces), each written by its own worker.
        let statuses = UnsafeMutableBufferPointer<Int32>.allocate(capacity: max(workers, 1))
        defer { statuses.deallocate() }
        statuses.initialize(repeating: 0)
        let piece = { (index: Int, r0: Int, rows: Int, c0: Int, cols: Int) in
            let aStart = transposeA ? rounded + r0 : rounded + r0 * lda
            let bStart = transposeB ? pb + c0 * ldb : pb + c0
            let status = tailor_dnnl_gemm_bf16(transposeA ? 1 : 0, transposeB ? 1 : 0, Int32(rows), Int32(cols), Int32(k), alpha,  // allowed: dims checked < 2^31 above
                                               aStart, Int32(lda), bStart, Int32(ldb), beta, pc + r0 * n + c0, Int32(n))  // allowed: dims checked < 2^31 above
            statuses[index] = status
        }
        if workers <= 1 || m * n * k < 1 << 21 {
            piece(0, 0, m, 0, n)
        } else if m >= n || m >= 64 * workers {
            let chunk = ((m + workers - 1) / workers + 7) / 8 * 8
            Parallel.forEach((m + chunk - 1) / chunk) { w in piece(w, w * chunk, min(m, w * chunk + chunk) - w * chunk, 0, n) }
        } else {
            let chunk = ((n + workers - 1) / workers + 15) / 16 * 16
            Parallel.forEach((n + chunk - 1) / chunk) { w in piece(w, 0, m, w * chunk, min(n, w * chunk + chunk) - w * chunk) }
        }
        if let status = statuses.first(where: { $0 != 0 }) {
            throw TensorError.notBuilt(what: "a bf16 product of [\(m), \(k)] · [\(k), \(n)] (oneDNN status \(status))", backend: name,
                                       instead: "run with --matmul fp32 (bf16: false in a recipe) and report this with `tailor doctor`")
        }
    }
}

extension CPUBackend {
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
