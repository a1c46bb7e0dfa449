/// Measurements of the machine, for benchmarks that report a fraction of peak.
extension CPUBackend {
    /// The best rate (GFLOP/s) of this backend's GEMM path on an m×k · k×n product over `rounds`
    /// timed rounds of about `seconds` each, after one warm-up call (the best round is the
    /// machine's rate; the others lost time to whatever else ran). `weights: .bf16` stores b in
    /// bf16, so a backend with bf16 products measures those (rounding of a included).
    public func measureGemmRate(m: Int = 1024, n: Int = 2048, k: Int = 1024, weights: DType = .f32, seconds: Double = 0.5,
                                rounds: Int = 4) throws -> Double {
        var generator = UInt32(1)
        func values(_ count: Int) -> [Float] {
            (0..<count).map { _ in
                generator = generator &* 1_664_525 &+ 1_013_904_223
                return Float(generator >> 8) / Float(1 << 24) - 0.5
            }
        }
        let a = try upload(values(m * k), shape: [m, k], dtype: .f32)
        let b = try upload(values(n * k), shape: [n, k], dtype: weights)
        let c = try empty([m, n], dtype: .f32)
        try gemm(a, transposeA: false, b, transposeB: true, into: c, alpha: 1, beta: 0)
        var best = 0.0
        for _ in 0..<max(1, rounds) {
            var calls = 0
            let start = monotonicSeconds()
            var elapsed = 0.0
            repeat {
                try gemm(a, transposeA: false, b, transposeB: true, into: c, alpha: 1, beta: 0)
                calls += 1
                elapsed = monotonicSeconds() - start
            } while elapsed < seconds
            best = max(best, 2 * Double(m) * Double(n) * Double(k) * Double(calls) / elapsed / 1e9)
        }
        return best
    }
}
