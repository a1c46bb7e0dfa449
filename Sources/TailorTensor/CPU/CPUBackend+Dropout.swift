/// Dropout on the CPU: the keep decision of element i is a hash of (seed, i), so a mask is never
/// stored and the reference and fast kernels agree bit for bit.
extension CPUBackend {
    public func dropout(_ x: Tensor, into out: Tensor, probability: Float, seed: UInt64) throws {
        try requireCount(out, x.count, op: "dropout", "out")
        guard probability >= 0, probability < 1 else {
            throw TensorError.shapeMismatch(op: "dropout", argument: "probability = \(probability)", expected: "a value in [0, 1)", got: [])
        }
        let px = try f32(x, op: "dropout", "x"), po = try f32(out, op: "dropout", "out")
        let count = x.count
        let scale = 1 / (1 - probability)
        // keep when the hash's top 24 bits, as a fraction, are at least `probability`.
        let threshold = UInt64((Double(probability) * Double(1 << 24)).rounded(.up))  // allowed: probability in [0, 1) checked by the op, so the threshold is at most 2^24
        Parallel.forEachChunk(count, costPerItem: kernels == .fast ? 8 : 0) { range in
            for i in range {
                let keep = (SplitMix64.value(seed: seed, index: UInt64(i)) >> 40) >= threshold  // allowed: a non-negative index widens
                po[i] = keep ? px[i] * scale : 0
            }
        }
    }
}
