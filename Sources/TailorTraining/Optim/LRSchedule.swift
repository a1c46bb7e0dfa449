#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Learning-rate schedules with transformers.get_scheduler's formulas. `multiplier(step:)` is
/// the factor of the base rate used for the optimizer step taken after `step` earlier steps
/// (so with warmup the first step runs at 0, as in transformers).
public struct LRSchedule: Sendable, Equatable {
    /// transformers' `lr_scheduler_type` values.
    public enum Kind: String, Sendable, CaseIterable {
        case linear, cosine
        case cosineWithRestarts = "cosine_with_restarts"
        case polynomial, constant
        case constantWithWarmup = "constant_with_warmup"
        case inverseSqrt = "inverse_sqrt"
    }

    public var kind: Kind
    public var baseLR: Double
    public var warmupSteps: Int
    public var totalSteps: Int
    /// cosine: 0.5 (half a wave); cosine_with_restarts: 1.
    public var cycles: Double?
    /// polynomial: final rate and power (transformers' defaults 1e-7 and 1).
    public var lrEnd: Double = 1e-7
    public var power: Double = 1

    public init(kind: Kind, baseLR: Double, warmupSteps: Int, totalSteps: Int, cycles: Double? = nil) {
        self.kind = kind
        self.baseLR = baseLR
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
        self.cycles = cycles
    }

    /// warmup_ratio → warmup steps as transformers rounds it: ceil(ratio · total).
    public static func warmupSteps(ratio: Double, totalSteps: Int) -> Int {
        Int(exactly: (ratio * Double(totalSteps)).rounded(.up)) ?? totalSteps  // a ratio past any count warms up all the way
    }

    /// The learning rate of the step taken after `step` earlier steps.
    public func lr(step: Int) -> Double { baseLR * multiplier(step: step) }

    public func multiplier(step s: Int) -> Double {
        let w = warmupSteps, t = totalSteps
        let warming = s < w && kind != .constant
        if warming { return Double(s) / Double(max(1, w)) }
        switch kind {
        case .constant, .constantWithWarmup:
            return 1
        case .linear:
            return max(0, Double(t - s) / Double(max(1, t - w)))
        case .cosine:
            let progress = Double(s - w) / Double(max(1, t - w))
            return max(0, 0.5 * (1 + cos(Double.pi * (cycles ?? 0.5) * 2 * progress)))
        case .cosineWithRestarts:
            let progress = Double(s - w) / Double(max(1, t - w))
            if progress >= 1 { return 0 }
            let phase = ((cycles ?? 1) * progress).truncatingRemainder(dividingBy: 1)
            return max(0, 0.5 * (1 + cos(Double.pi * phase)))
        case .polynomial:
            guard baseLR > lrEnd else { return 1 }
            if s > t { return lrEnd / baseLR }
            let remaining = 1 - Double(s - w) / Double(max(1, t - w))
            return ((baseLR - lrEnd) * pow(remaining, power) + lrEnd) / baseLR
        case .inverseSqrt:
            let timescale = Double(w > 0 ? w : 10_000)
            let shift = timescale - Double(w)
            return 1 / ((Double(s) + shift) / timescale).squareRoot()
        }
    }
}
