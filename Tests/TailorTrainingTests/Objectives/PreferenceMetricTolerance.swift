import TailorFormats

/// How close a logged preference metric must be to TRL's.
///
/// Rewards are β × a difference of two float32 sums of label log-probabilities (policy and
/// reference). Each sum is only known to an ulp or two of its size, and another CPU's GEMM sums
/// in another order: at the steps where policy and reference are still the same adapter, TRL
/// logs exactly 0 and Tailor a few ulps of the sums (seen in CI on another CPU: 1.4e-6 with β 0.5 and
/// sums near -28). So a reward's floor is β × 4 ulps of the step's largest |log-probability sum|
/// (twice that for margins, a difference of two rewards); every other metric keeps 1e-6.
enum PreferenceMetricTolerance {
    static func accuracy(_ name: String, expected: Double, beta: Double, reference: SafetensorsFile, step: Int) throws -> Double {
        var floor = 1e-6
        if name.hasPrefix("rewards/") {
            var largest: Float = 0
            for sum in ["metric.logps/chosen", "metric.logps/rejected"] where reference.tensorNames.contains(sum) {
                let value = try reference.floats(sum)[step]
                if !value.isNaN { largest = max(largest, abs(value)) }
            }
            floor += beta * 4 * Double(largest.ulp) * (name == "rewards/margins" ? 2 : 1)
        }
        return 1e-4 * abs(expected) + floor
    }
}
