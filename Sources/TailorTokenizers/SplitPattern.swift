import Foundation

/// A byte range of a piece's UTF-8 text and whether the pattern matched it
/// (`tokenizers`' `find_matches`: the ranges cover the whole text, in order).
typealias PatternMatch = (range: Range<Int>, isMatch: Bool)

/// Something a `Split` pre-tokenizer or a `Replace` normalizer/decoder can search for.
protocol SplitPattern: Sendable {
    func findMatches(_ bytes: [UInt8]) -> [PatternMatch]
}

/// The regular expressions real tokenizers use, matched by hand over Unicode scalars
/// (much faster than a regex engine); each reproduces Oniguruma's leftmost-first backtracking result.
enum KnownPattern: String, CaseIterable {
    case gpt2 = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
    case llama3 = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    case qwen2 = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
}

struct HandPattern: SplitPattern {
    enum Kind { case gpt2, llama(maxDigits: Int) }
    let kind: Kind

    init(_ known: KnownPattern) {
        switch known {
        case .gpt2: kind = .gpt2
        case .llama3: kind = .llama(maxDigits: 3)
        case .qwen2: kind = .llama(maxDigits: 1)
        }
    }

    func findMatches(_ bytes: [UInt8]) -> [PatternMatch] {
        if bytes.isEmpty { return [(0..<0, false)] }
        let text = ScalarText(bytes)
        var out: [PatternMatch] = []
        forEachMatch(text) { out.append(($0, true)) }
        return out
    }

    /// Calls `body` with the byte range of every match, in order; the matches tile the text.
    func forEachMatch(_ text: ScalarText, _ body: (Range<Int>) -> Void) {
        let n = text.count
        text.values.withUnsafeBufferPointer { v in
            var classes = [UInt8](repeating: 0, count: n)
            for k in 0..<n {
                let x = v[k]
                classes[k] = x < 0x10000 ? CharClass.bmp[Int(x)] : CharClass.compute(x)
            }
            classes.withUnsafeBufferPointer { c in
                var i = 0
                while i < n {
                    let j: Int
                    switch kind {
                    case .gpt2: j = HandPattern.gpt2Match(v, c, i, n)
                    case .llama(let maxDigits): j = HandPattern.llamaMatch(v, c, i, n, maxDigits)
                    }
                    body(text.offsets[i]..<text.offsets[j])
                    i = j
                }
            }
        }
    }

    @inline(__always)
    static func lowerASCII(_ x: UInt32) -> UInt32 { (x >= 0x41 && x <= 0x5A) ? x + 0x20 : x }

    /// Length-2 or -3 contraction ('s 't 're 've 'm 'll 'd) at i, or nil.
    @inline(__always)
    static func contraction(_ v: UnsafeBufferPointer<UInt32>, _ i: Int, _ n: Int, caseInsensitive: Bool) -> Int? {
        guard v[i] == 0x27, i + 1 < n else { return nil }
        let y = caseInsensitive ? lowerASCII(v[i + 1]) : v[i + 1]
        switch y {
        case 0x73, 0x74, 0x6D, 0x64: return i + 2                  // s t m d
        case 0x72, 0x76:                                           // r v
            if i + 2 < n, (caseInsensitive ? lowerASCII(v[i + 2]) : v[i + 2]) == 0x65 { return i + 3 }
        case 0x6C:                                                 // l
            if i + 2 < n, (caseInsensitive ? lowerASCII(v[i + 2]) : v[i + 2]) == 0x6C { return i + 3 }
        default: break
        }
        return nil
    }

    /// End of the whitespace alternatives `\s+(?!\S)|\s+` starting at whitespace i.
    @inline(__always)
    static func spaceRun(_ c: UnsafeBufferPointer<UInt8>, _ i: Int, _ n: Int) -> Int {
        var j = i + 1
        while j < n && c[j] & CharClass.space != 0 { j += 1 }
        if j == n { return j }
        return j - i >= 2 ? j - 1 : j
    }

    /// Llama 3 / Qwen2 pattern at scalar i; returns the end scalar index.
    static func llamaMatch(_ v: UnsafeBufferPointer<UInt32>, _ c: UnsafeBufferPointer<UInt8>, _ i: Int, _ n: Int,
                           _ maxDigits: Int) -> Int {
        let L = CharClass.letter, N = CharClass.number, S = CharClass.space, NL = CharClass.newline
        if let e = contraction(v, i, n, caseInsensitive: true) { return e }
        let cx = c[i]
        // [^\r\n\p{L}\p{N}]?\p{L}+
        var j: Int
        if cx & L != 0 {
            j = i + 1
            while j < n && c[j] & L != 0 { j += 1 }
            return j
        }
        if cx & (L | N | NL) == 0 && i + 1 < n && c[i + 1] & L != 0 {
            j = i + 2
            while j < n && c[j] & L != 0 { j += 1 }
            return j
        }
        // \p{N}{1,maxDigits}
        if cx & N != 0 {
            j = i + 1
            while j < n && j - i < maxDigits && c[j] & N != 0 { j += 1 }
            return j
        }
        // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
        let other: (UInt8) -> Bool = { $0 & (S | L | N) == 0 }
        var start = -1
        if other(cx) { start = i + 1 } else if v[i] == 0x20 && i + 1 < n && other(c[i + 1]) { start = i + 2 }
        if start >= 0 {
            j = start
            while j < n && other(c[j]) { j += 1 }
            while j < n && c[j] & NL != 0 { j += 1 }
            return j
        }
        // Here cx is whitespace. \s*[\r\n]+ : up to and including the last newline of the run.
        j = i
        var lastNewline = -1
        while j < n && c[j] & S != 0 {
            if c[j] & NL != 0 { lastNewline = j }
            j += 1
        }
        if lastNewline >= 0 { return lastNewline + 1 }
        if j == n { return j }
        return j - i >= 2 ? j - 1 : j
    }

    /// GPT-2 pattern at scalar i; returns the end scalar index.
    static func gpt2Match(_ v: UnsafeBufferPointer<UInt32>, _ c: UnsafeBufferPointer<UInt8>, _ i: Int, _ n: Int) -> Int {
        let L = CharClass.letter, N = CharClass.number, S = CharClass.space
        if let e = contraction(v, i, n, caseInsensitive: false) { return e }
        var k = i
        if v[i] == 0x20 && i + 1 < n && c[i + 1] & S == 0 { k = i + 1 }
        let ck = c[k]
        var j = k + 1
        if ck & L != 0 {
            while j < n && c[j] & L != 0 { j += 1 }
            return j
        }
        if ck & N != 0 {
            while j < n && c[j] & N != 0 { j += 1 }
            return j
        }
        if ck & S == 0 {
            while j < n && c[j] & (S | L | N) == 0 { j += 1 }
            return j
        }
        return spaceRun(c, i, n)
    }
}

/// A literal string pattern (`{"String": "..."}`).
struct LiteralPattern: SplitPattern {
    let needle: [UInt8]

    func findMatches(_ bytes: [UInt8]) -> [PatternMatch] {
        if bytes.isEmpty { return [(0..<0, false)] }
        guard !needle.isEmpty, needle.count <= bytes.count else { return [(0..<bytes.count, false)] }
        var out: [PatternMatch] = []
        var prev = 0, i = 0
        let m = needle.count
        while i + m <= bytes.count {
            if bytes[i] == needle[0] && bytes[i..<i + m].elementsEqual(needle) {
                if prev != i { out.append((prev..<i, false)) }
                out.append((i..<i + m, true))
                i += m; prev = i
            } else { i += 1 }
        }
        if prev != bytes.count { out.append((prev..<bytes.count, false)) }
        return out
    }
}

/// A per-character predicate (Punctuation, Digits, WhitespaceSplit): each matching character is its own match.
struct CharPredicatePattern: SplitPattern {
    let predicate: @Sendable (UInt32) -> Bool

    func findMatches(_ bytes: [UInt8]) -> [PatternMatch] {
        if bytes.isEmpty { return [(0..<0, false)] }
        let text = ScalarText(bytes)
        var out: [PatternMatch] = []
        var prev = 0
        for k in 0..<text.count where predicate(text.values[k]) {
            let s = text.offsets[k], e = text.offsets[k + 1]
            if prev != s { out.append((prev..<s, false)) }
            out.append((s..<e, true))
            prev = e
        }
        if prev != bytes.count { out.append((prev..<bytes.count, false)) }
        return out
    }
}

/// Any other regular expression, run by Foundation's ICU engine. `\s` is widened to Oniguruma's
/// White_Space set (ICU's lacks U+000B and U+0085).
final class RegexPattern: SplitPattern, @unchecked Sendable {
    let regex: NSRegularExpression

    init(_ pattern: String) throws {
        regex = try NSRegularExpression(pattern: RegexPattern.onigToICU(pattern), options: [])
    }

    static func onigToICU(_ p: String) -> String {
        var out = "", inClass = 0, escaped = false
        for ch in p {
            if escaped {
                escaped = false
                if ch == "s" { out += inClass > 0 ? "\\s\\x{0B}\\x{85}" : "[\\s\\x{0B}\\x{85}]"; continue }
                if ch == "S" && inClass == 0 { out += "[^\\s\\x{0B}\\x{85}]"; continue }
                out += "\\" + String(ch); continue
            }
            if ch == "\\" { escaped = true; continue }
            if ch == "[" { inClass += 1 } else if ch == "]" && inClass > 0 { inClass -= 1 }
            out.append(ch)
        }
        return out
    }

    func findMatches(_ bytes: [UInt8]) -> [PatternMatch] {
        if bytes.isEmpty { return [(0..<0, false)] }
        let string = String(decoding: bytes, as: UTF8.self)
        // UTF-16 offset -> UTF-8 offset.
        var map = [Int](repeating: 0, count: string.utf16.count + 1)
        var u16 = 0, u8 = 0
        for s in string.unicodeScalars {
            map[u16] = u8
            if s.value >= 0x10000 { map[u16 + 1] = u8 }
            u16 += s.value >= 0x10000 ? 2 : 1
            u8 += s.value < 0x80 ? 1 : s.value < 0x800 ? 2 : s.value < 0x10000 ? 3 : 4
        }
        map[u16] = u8
        var out: [PatternMatch] = []
        var prev = 0
        let ns = string as NSString
        for m in regex.matches(in: string, options: [], range: NSRange(location: 0, length: ns.length)) {
            let s = map[m.range.location], e = map[m.range.location + m.range.length]
            if s == e { continue }
            if prev != s { out.append((prev..<s, false)) }
            out.append((s..<e, true))
            prev = e
        }
        if prev != bytes.count { out.append((prev..<bytes.count, false)) }
        return out
    }
}

/// How a `Split` keeps the matched delimiters (`tokenizers`' SplitDelimiterBehavior).
enum SplitBehavior: String, CaseIterable {
    case removed = "Removed", isolated = "Isolated", mergedWithPrevious = "MergedWithPrevious"
    case mergedWithNext = "MergedWithNext", contiguous = "Contiguous"

    /// Turns pattern matches into the byte ranges of the pieces to keep (empty ones dropped).
    func apply(_ matches: [PatternMatch]) -> [Range<Int>] {
        var acc: [PatternMatch] = []
        acc.reserveCapacity(matches.count)
        switch self {
        case .removed:
            acc = matches.map { ($0.range, $0.isMatch) }
        case .isolated:
            acc = matches.map { ($0.range, false) }
        case .mergedWithPrevious:
            var previousMatch = false
            for m in matches {
                if m.isMatch && !previousMatch {
                    if let last = acc.last { acc[acc.count - 1].range = last.range.lowerBound..<m.range.upperBound } else { acc.append((m.range, false)) }
                } else { acc.append((m.range, false)) }
                previousMatch = m.isMatch
            }
        case .mergedWithNext:
            var previousMatch = false
            for m in matches.reversed() {
                if m.isMatch && !previousMatch {
                    if let last = acc.last { acc[acc.count - 1].range = m.range.lowerBound..<last.range.upperBound } else { acc.append((m.range, false)) }
                } else { acc.append((m.range, false)) }
                previousMatch = m.isMatch
            }
            acc.reverse()
        case .contiguous:
            var previousMatch = false
            for m in matches {
                if m.isMatch == previousMatch, let last = acc.last {
                    acc[acc.count - 1].range = last.range.lowerBound..<m.range.upperBound
                } else { acc.append((m.range, false)) }
                previousMatch = m.isMatch
            }
        }
        return acc.compactMap { ($0.isMatch || $0.range.isEmpty) ? nil : $0.range }
    }
}
