#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import TailorTensor

/// RoPE frequencies and cos/sin tables, computed as transformers computes them (float32).
public enum RotaryEmbedding {
    /// inv_freq [headDim / 2] for the config's theta and scaling.
    public static func inverseFrequencies(_ config: ModelConfig) -> [Float] {
        let dim = config.headDim
        let base = Float(config.ropeTheta)
        var inv = (0..<(dim / 2)).map { i in 1 / powf(base, Float(2 * i) / Float(dim)) }
        switch config.ropeScaling {
        case .none:
            break
        case let .linear(factor):
            inv = inv.map { $0 / Float(factor) }
        case let .llama3(factor, low, high, original):
            let lowWavelength = Double(original) / low
            let highWavelength = Double(original) / high
            inv = inv.map { f in
                let wavelength = 2 * Double.pi / Double(f)
                if wavelength < highWavelength { return f }
                if wavelength > lowWavelength { return f / Float(factor) }
                let smooth = Float((Double(original) / wavelength - low) / (high - low))
                return (1 - smooth) * f / Float(factor) + smooth * f
            }
        }
        return inv
    }

    /// cos and sin tables [positions, headDim / 2] on `backend`.
    public static func tables(_ config: ModelConfig, positions: Int, backend: Backend) throws -> (cos: Tensor, sin: Tensor) {
        let inv = inverseFrequencies(config)
        let half = inv.count
        var cosValues = [Float](repeating: 0, count: positions * half)
        var sinValues = [Float](repeating: 0, count: positions * half)
        for p in 0..<positions {
            for i in 0..<half {
                let angle = Double(Float(p) * inv[i])
                cosValues[p * half + i] = Float(cos(angle))
                sinValues[p * half + i] = Float(sin(angle))
            }
        }
        return (try backend.upload(cosValues, shape: [positions, half], dtype: .f32),
                try backend.upload(sinValues, shape: [positions, half], dtype: .f32))
    }
}
