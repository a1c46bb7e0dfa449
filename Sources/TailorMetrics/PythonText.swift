/// Text as the Python peers see it: a sequence of Unicode scalars (Python's `str` is code points,
/// compared code point by code point; Swift's `String ==` compares canonical equivalence, which the
/// peers do not). Every metric here works on `[Unicode.Scalar]` so its tokens, n-grams and lengths
/// are the peers' exactly.
public typealias Scalars = [Unicode.Scalar]

enum PythonText {
    /// The scalars of `text`.
    static func scalars(_ text: String) -> Scalars { Array(text.unicodeScalars) }

    /// A String of `scalars`.
    static func string<S: Sequence>(_ scalars: S) -> String where S.Element == Unicode.Scalar {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    }

    /// Python's `str.isspace()` (what `str.split()`, `str.strip()` and `re`'s `\s` use for str patterns).
    static func isSpace(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: return true
        default: return false
        }
    }

    static func isASCIIDigit(_ s: Unicode.Scalar) -> Bool { s.value >= 0x30 && s.value <= 0x39 }

    static func isASCIIAlphanumeric(_ s: Unicode.Scalar) -> Bool {
        isASCIIDigit(s) || (s.value >= 0x41 && s.value <= 0x5A) || (s.value >= 0x61 && s.value <= 0x7A)
    }

    /// `text` cut into maximal runs of scalars that are all in `inClass` or all outside it, in order
    /// (what `re.split("([class]+)", text)` gives, the empty pieces left out).
    static func runs(_ text: Scalars, _ inClass: (Unicode.Scalar) -> Bool) -> [(inClass: Bool, run: Scalars)] {
        var result: [(inClass: Bool, run: Scalars)] = [], i = 0
        while i < text.count {
            var j = i
            let kind = inClass(text[i])
            while j < text.count && inClass(text[j]) == kind { j += 1 }
            result.append((kind, Array(text[i..<j])))
            i = j
        }
        return result
    }

    /// Python's `text.split()`: runs of non-space scalars.
    static func split(_ text: some Collection<Unicode.Scalar>) -> [Scalars] {
        var words: [Scalars] = [], word: Scalars = []
        for s in text {
            if isSpace(s) {
                if !word.isEmpty { words.append(word); word = [] }
            } else {
                word.append(s)
            }
        }
        if !word.isEmpty { words.append(word) }
        return words
    }

    /// Python's `text.split(separator)` for a one-scalar separator: empty pieces kept.
    static func split(_ text: Scalars, on separator: Unicode.Scalar) -> [Scalars] {
        text.split(separator: separator, omittingEmptySubsequences: false).map(Array.init)
    }

    /// Python's `text.strip()`.
    static func strip(_ text: Scalars) -> Scalars { Array(rstrip(Array(text.drop(while: isSpace)))) }

    /// Python's `text.rstrip()`.
    static func rstrip(_ text: Scalars) -> Scalars {
        var end = text.count
        while end > 0 && isSpace(text[end - 1]) { end -= 1 }
        return Array(text[..<end])
    }

    /// Python's `" ".join(text.split())`.
    static func normalizeSpaces(_ text: Scalars) -> Scalars {
        Array(split(text).joined(separator: [" "]))
    }

    /// Python's `round(x, digits)`: the decimal nearest the exact binary value (ties to even), read back.
    static func round(_ x: Double, digits: Int) -> Double {
        guard x.isFinite else { return x }
        return Double(decimalText(x, digits: digits)) ?? x
    }

    /// `x` with `digits` decimals, correctly rounded from its exact binary value (C's `%.*f`).
    static func decimalText(_ x: Double, digits: Int) -> String {
        // Exact decimal expansion of the double, then round half to even at `digits`.
        let exact = ExactDecimal(x)
        return exact.rounded(fractionDigits: digits)
    }
}

/// The exact decimal value of a finite double (every double is a finite binary fraction), kept as
/// decimal digits, so rounding to N places is exact without relying on the C library's printf.
struct ExactDecimal {
    var negative: Bool
    /// Decimal digits, most significant first, with `pointPosition` digits before the point.
    var digits: [UInt8]
    var pointPosition: Int

    init(_ x: Double) {
        negative = x.sign == .minus
        let magnitude = x.magnitude
        if magnitude == 0 { digits = [0]; pointPosition = 1; return }
        // magnitude = significand * 2^exponent with an integer significand.
        var significand = magnitude.significandBitPattern | (magnitude.isNormal ? (1 << 52) : 0)
        var exponent = Int(magnitude.exponentBitPattern) - 1075  // allowed: an 11-bit exponent field widens
        if !magnitude.isNormal { exponent = -1074 }
        while significand & 1 == 0 && exponent < 0 { significand >>= 1; exponent += 1 }
        // Big decimal number in base 10 digits (least significant first) of the significand.
        var number: [UInt8] = []
        var s = significand
        repeat { number.append(UInt8(s % 10)); s /= 10 } while s > 0  // allowed: a decimal digit, 0...9
        var fraction = 0
        if exponent >= 0 {
            for _ in 0..<exponent { number = Self.times(number, 2) }
        } else {
            // significand / 2^k = significand * 5^k / 10^k
            for _ in 0..<(-exponent) { number = Self.times(number, 5) }
            fraction = -exponent
        }
        while number.count <= fraction { number.append(0) }
        digits = number.reversed()
        pointPosition = number.count - fraction
    }

    static func times(_ number: [UInt8], _ factor: UInt8) -> [UInt8] {
        var result: [UInt8] = [], carry = 0
        result.reserveCapacity(number.count + 1)
        for d in number {
            let v = Int(d) * Int(factor) + carry  // allowed: a UInt8 widens
            result.append(UInt8(v % 10)); carry = v / 10  // allowed: a decimal digit, 0...9
        }
        while carry > 0 { result.append(UInt8(carry % 10)); carry /= 10 }  // allowed: a decimal digit, 0...9
        return result
    }

    func rounded(fractionDigits: Int) -> String {
        var kept = Array(digits.prefix(pointPosition + fractionDigits))
        while kept.count < pointPosition + fractionDigits { kept.append(0) }
        let rest = Array(digits.dropFirst(pointPosition + fractionDigits))
        let first = rest.first ?? 0
        let beyond = rest.dropFirst().contains { $0 != 0 }
        let roundUp = first > 5 || (first == 5 && (beyond || (kept.last ?? 0) % 2 == 1))
        if roundUp {
            var i = kept.count - 1
            while i >= 0 {
                if kept[i] == 9 { kept[i] = 0; i -= 1 } else { kept[i] += 1; break }
            }
            if i < 0 { kept.insert(1, at: 0) }
        }
        let intCount = kept.count - fractionDigits
        let intPart = intCount > 0 ? kept[..<intCount].map { String($0) }.joined() : "0"
        let fracPart = kept[intCount...].map { String($0) }.joined()
        return (negative ? "-" : "") + intPart + (fractionDigits > 0 ? "." + fracPart : "")
    }
}
