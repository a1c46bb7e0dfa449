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
        let threshold = UInt64((Double(probability) * Double(1 << 24)).rounded(.up))
        Parallel.forEachChunk(count, costPerItem: kernels == .fast ? 8 : 0) { range in
            for i in range {
                let keep = (DropoutHash.mix(seed, UInt64(i)) >> 40) >= threshold
                po[i] = keep ? px[i] * scale : 0
            }
        }
    }
}

/// A counter-based hash (SplitMix64's finaliser over seed and index).
enum DropoutHash {
    @inline(__always)
    static func mix(_ seed: UInt64, _ index: UInt64) -> UInt64 {
        var z = seed &+ (index &+ 1) &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
