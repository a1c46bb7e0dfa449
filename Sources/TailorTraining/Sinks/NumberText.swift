/// Fixed-width number text for the console (no Foundation `String(format:)` on Linux's essentials).
enum NumberText {
    /// `value` rounded to `decimals` places: `fixed(2.34567, 4) == "2.3457"`.
    static func fixed(_ value: Double, _ decimals: Int) -> String {
        guard value.isFinite else { return value.isNaN ? "nan" : (value < 0 ? "-inf" : "inf") }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        guard scaled < 9.0e18 else { return value.description }
        var digits = String(Int64(scaled))  // allowed: scaled < 9e18 < 2^63 checked a line above
        if decimals > 0 {
            if digits.count <= decimals { digits = String(repeating: "0", count: decimals - digits.count + 1) + digits }
            digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -decimals))
        }
        return (value < 0 && scaled != 0 ? "-" : "") + digits
    }

    /// `2.00e-04` (C's `%.2e`).
    static func scientific(_ value: Double, _ decimals: Int = 2) -> String {
        guard value.isFinite else { return fixed(value, 0) }
        if value == 0 { return fixed(0, decimals) + "e+00" }
        var exponent = 0
        var mantissa = abs(value)
        while mantissa >= 10 { mantissa /= 10; exponent += 1 }
        while mantissa < 1 { mantissa *= 10; exponent -= 1 }
        var text = fixed(mantissa, decimals)
        if text.hasPrefix("10") {  // rounding carried into a new digit
            exponent += 1
            text = fixed(mantissa / 10, decimals)
        }
        let magnitude = String(abs(exponent))
        return (value < 0 ? "-" : "") + text + "e" + (exponent < 0 ? "-" : "+")
            + (magnitude.count < 2 ? "0" : "") + magnitude
    }

    /// `h:mm:ss`, or `mm:ss` under an hour.
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0, seconds < 1e15 else { return "--:--" }
        let total = Int(seconds.rounded())  // allowed: 0 <= seconds < 1e15, checked just before
        let (hours, minutes, secs) = (total / 3600, total / 60 % 60, total % 60)
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return hours > 0 ? "\(hours):\(two(minutes)):\(two(secs))" : "\(two(minutes)):\(two(secs))"
    }

    /// `12.3k`-style token rates.
    static func rate(_ value: Double) -> String {
        guard value.isFinite else { return "-" }
        if value >= 1e6 { return fixed(value / 1e6, 2) + "M" }
        if value >= 1e4 { return fixed(value / 1e3, 1) + "k" }
        return fixed(value, 0)
    }
}
