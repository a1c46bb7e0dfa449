/// Python `str` methods on code points (Python strings index Unicode scalars, not graphemes).
enum PyString {
    /// `str.isspace()` for one code point.
    static func isSpace(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F,
            0x3000:
            return true
        default: return false
        }
    }

    static func scalars(_ s: String) -> [Unicode.Scalar] { Array(s.unicodeScalars) }

    static func string<C: Collection>(_ scalars: C) -> String where C.Element == Unicode.Scalar {
        var out = String()
        out.unicodeScalars.append(contentsOf: scalars)
        return out
    }

    static func strip(_ s: String, chars: String?, leading: Bool, trailing: Bool) -> String {
        let a = scalars(s)
        let set = chars.map { Set($0.unicodeScalars) }
        let drop: (Unicode.Scalar) -> Bool = { c in set.map { $0.contains(c) } ?? isSpace(c) }
        var start = 0
        var end = a.count
        if leading { while start < end, drop(a[start]) { start += 1 } }
        if trailing { while end > start, drop(a[end - 1]) { end -= 1 } }
        return string(a[start..<end])
    }

    /// Index (in scalars) of `needle` in `hay` at or after `from`, or nil.
    static func find(_ hay: [Unicode.Scalar], _ needle: [Unicode.Scalar], from: Int = 0, to: Int? = nil) -> Int? {
        let end = to ?? hay.count
        if needle.isEmpty { return from <= end ? from : nil }
        guard needle.count <= end - from else { return nil }
        var i = from
        while i + needle.count <= end {
            if hay[i] == needle[0] && hay[i..<i + needle.count].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }

    static func rfind(_ hay: [Unicode.Scalar], _ needle: [Unicode.Scalar]) -> Int? {
        if needle.isEmpty { return hay.count }
        var i = hay.count - needle.count
        while i >= 0 {
            if hay[i..<i + needle.count].elementsEqual(needle) { return i }
            i -= 1
        }
        return nil
    }

    static func contains(_ hay: String, _ needle: String) -> Bool {
        find(scalars(hay), scalars(needle)) != nil
    }

    static func count(_ hay: String, _ needle: String) -> Int {
        let h = scalars(hay)
        let n = scalars(needle)
        if n.isEmpty { return h.count + 1 }
        var total = 0
        var i = 0
        while let at = find(h, n, from: i) {
            total += 1
            i = at + n.count
        }
        return total
    }

    static func replace(_ s: String, _ old: String, _ new: String, count limit: Int = -1) -> String {
        let h = scalars(s)
        let o = scalars(old)
        let n = scalars(new)
        var out: [Unicode.Scalar] = []
        var done = 0
        if o.isEmpty {
            for c in h {
                if limit < 0 || done < limit {
                    out += n
                    done += 1
                }
                out.append(c)
            }
            if limit < 0 || done < limit { out += n }
            return string(out)
        }
        var i = 0
        while limit < 0 || done < limit, let at = find(h, o, from: i) {
            out += h[i..<at]
            out += n
            i = at + o.count
            done += 1
        }
        out += h[i...]
        return string(out)
    }

    /// `str.split(sep, maxsplit)`; `sep == nil` splits on runs of whitespace.
    static func split(_ s: String, sep: String?, maxsplit: Int) throws -> [String] {
        let h = scalars(s)
        guard let sep else {
            var parts: [String] = []
            var i = 0
            while true {
                while i < h.count, isSpace(h[i]) { i += 1 }
                if i >= h.count { break }
                if maxsplit >= 0 && parts.count == maxsplit {
                    var end = h.count
                    while end > i, isSpace(h[end - 1]) { end -= 1 }
                    parts.append(string(h[i..<end]))
                    break
                }
                let start = i
                while i < h.count, !isSpace(h[i]) { i += 1 }
                parts.append(string(h[start..<i]))
            }
            return parts
        }
        let n = scalars(sep)
        guard !n.isEmpty else { throw RawTemplateError(.runtime, "ValueError: empty separator") }
        var parts: [String] = []
        var i = 0
        while maxsplit < 0 || parts.count < maxsplit, let at = find(h, n, from: i) {
            parts.append(string(h[i..<at]))
            i = at + n.count
        }
        parts.append(string(h[i...]))
        return parts
    }

    static func rsplit(_ s: String, sep: String?, maxsplit: Int) throws -> [String] {
        if maxsplit < 0 { return try split(s, sep: sep, maxsplit: -1) }
        let h = scalars(s)
        guard let sep else {
            var parts: [String] = []
            var end = h.count
            while true {
                while end > 0, isSpace(h[end - 1]) { end -= 1 }
                if end == 0 { break }
                if parts.count == maxsplit {
                    var start = 0
                    while start < end, isSpace(h[start]) { start += 1 }
                    parts.append(string(h[start..<end]))
                    break
                }
                var start = end
                while start > 0, !isSpace(h[start - 1]) { start -= 1 }
                parts.append(string(h[start..<end]))
                end = start
            }
            return parts.reversed()
        }
        let n = scalars(sep)
        guard !n.isEmpty else { throw RawTemplateError(.runtime, "ValueError: empty separator") }
        var parts: [String] = []
        var end = h.count
        while parts.count < maxsplit {
            guard let at = rfind(Array(h[..<end]), n) else { break }
            parts.append(string(h[(at + n.count)..<end]))
            end = at
        }
        parts.append(string(h[..<end]))
        return parts.reversed()
    }

    /// `str.splitlines()` (no ends kept), on every line boundary Python knows.
    static func splitlines(_ s: String) -> [String] {
        let h = scalars(s)
        var lines: [String] = []
        var start = 0
        var i = 0
        while i < h.count {
            let c = h[i].value
            if [0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029].contains(c) {
                lines.append(string(h[start..<i]))
                if c == 0x0D, i + 1 < h.count, h[i + 1] == "\n" { i += 1 }
                start = i + 1
            }
            i += 1
        }
        if start < h.count { lines.append(string(h[start...])) }
        return lines
    }

    static func isCased(_ c: Unicode.Scalar) -> Bool {
        c.properties.isLowercase || c.properties.isUppercase || c.properties.generalCategory == .titlecaseLetter
    }

    static func titlecase(_ c: Unicode.Scalar) -> String { c.properties.titlecaseMapping }

    /// `str.title()`: a cased letter after an uncased character starts a word.
    static func title(_ s: String) -> String {
        var out = ""
        var previousCased = false
        for c in s.unicodeScalars {
            out += previousCased ? c.properties.lowercaseMapping : titlecase(c)
            previousCased = isCased(c)
        }
        return out
    }

    /// `str.capitalize()`: first character titlecased, the rest lowercased.
    static func capitalize(_ s: String) -> String {
        var out = ""
        for (i, c) in s.unicodeScalars.enumerated() {
            out += i == 0 ? titlecase(c) : c.properties.lowercaseMapping
        }
        return out
    }

    static func upper(_ s: String) -> String { s.unicodeScalars.map(\.properties.uppercaseMapping).joined() }
    static func lower(_ s: String) -> String { s.unicodeScalars.map(\.properties.lowercaseMapping).joined() }

    /// Python slicing `seq[start:stop:step]` resolved to indices.
    static func sliceIndices(count: Int, start: Int?, stop: Int?, step: Int?) throws -> [Int] {
        let step = step ?? 1
        guard step != 0 else { throw RawTemplateError(.runtime, "ValueError: slice step cannot be zero") }
        func clamp(_ v: Int?, _ defaultValue: Int, low: Int, high: Int) -> Int {
            guard var v else { return defaultValue }
            if v < 0 { v += count }
            return min(max(v, low), high)
        }
        var indices: [Int] = []
        if step > 0 {
            let from = clamp(start, 0, low: 0, high: count)
            let to = clamp(stop, count, low: 0, high: count)
            var i = from
            while i < to {
                indices.append(i)
                i += step
            }
        } else {
            let from = clamp(start, count - 1, low: -1, high: count - 1)
            let to = clamp(stop, -1, low: -1, high: count - 1)
            var i = from
            while i > to {
                indices.append(i)
                i += step
            }
        }
        return indices
    }
}
