import Foundation

extension Jieba {
    /// The jieba version whose files Tailor reads (and fetches from PyPI).
    public static let version = "0.42.1"

    /// The files a jieba folder needs, relative to it (the layout of jieba's package folder).
    public static let requiredFiles = ["dict.txt", "finalseg/prob_start.py", "finalseg/prob_trans.py", "finalseg/prob_emit.py"]

    /// jieba loaded from a folder laid out as jieba's package (`dict.txt`, `finalseg/prob_*.py`):
    /// an installed `site-packages/jieba`, or the cache `tailor eval` fills from jieba's PyPI sdist.
    public convenience init(folder: URL) throws {
        for file in Self.requiredFiles where !FileManager.default.fileExists(atPath: folder.appendingPathComponent(file).path) {
            throw MetricsError.jiebaMissing(folder: folder.path, file: file)
        }
        func read(_ file: String) throws -> [UInt8] {
            let url = folder.appendingPathComponent(file)
            guard let data = FileManager.default.contents(atPath: url.path) else { throw MetricsError.jiebaMissing(folder: folder.path, file: file) }
            return [UInt8](data)
        }
        let (children, frequency, total) = try Self.prefixDictionary(read("dict.txt"), file: folder.appendingPathComponent("dict.txt").path)
        func table(_ file: String) throws -> PythonTable {
            try PythonTable(parsing: read(file), file: folder.appendingPathComponent(file).path)
        }
        let start = try table("finalseg/prob_start.py"), trans = try table("finalseg/prob_trans.py"), emit = try table("finalseg/prob_emit.py")
        let letters: [Unicode.Scalar] = ["B", "M", "E", "S"]
        func number(_ t: PythonTable, _ key: Unicode.Scalar, file: String) throws -> Double {
            guard let v = t.numbers[[key]] else { throw MetricsError.jiebaMalformed(file: file, line: 1, reason: "no entry '\(key)'") }
            return v
        }
        func nested(_ t: PythonTable, _ key: Unicode.Scalar, file: String) throws -> [Scalars: Double] {
            guard let v = t.tables[[key]] else { throw MetricsError.jiebaMalformed(file: file, line: 1, reason: "no table '\(key)'") }
            return v
        }
        let hmm = JiebaHMM(
            start: try letters.map { try number(start, $0, file: "prob_start.py") },
            transition: try letters.map { from in
                let row = try nested(trans, from, file: "prob_trans.py")
                return letters.map { row[[$0]] ?? JiebaHMM.minFloat }
            },
            emission: try letters.map { state in
                var row: [Unicode.Scalar: Double] = [:]
                for (key, value) in try nested(emit, state, file: "prob_emit.py") where key.count == 1 { row[key[0]] = value }
                return row
            })
        self.init(children: children, frequency: frequency, total: total, hmm: hmm)
    }

    /// jieba's `gen_pfdict`: each line `word freq [tag]`; the word's count (a later line for the
    /// same word replaces it, while the total adds both, as jieba does), every prefix kept with 0.
    static func prefixDictionary(_ bytes: [UInt8], file: String) throws -> ([UInt64: Int32], [Int], Int) {
        var children: [UInt64: Int32] = [:]
        children.reserveCapacity(600_000)
        var frequency: [Int] = [0]
        frequency.reserveCapacity(600_000)
        var total = 0, lineNumber = 0, start = 0
        let isSpace = { (b: UInt8) in b == 0x20 || (b >= 0x09 && b <= 0x0D) }
        while start < bytes.count {
            var end = start
            while end < bytes.count && bytes[end] != 0x0A { end += 1 }
            lineNumber += 1
            var a = start, b = end
            while a < b && isSpace(bytes[a]) { a += 1 }
            while b > a && isSpace(bytes[b - 1]) { b -= 1 }
            let fields = bytes[a..<b].split(separator: 0x20, maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count >= 2, let word = String(validating: fields[0], as: UTF8.self),
                  let count = Int(String(decoding: fields[1], as: UTF8.self)) else {  // allowed: parses a String: an optional, nil when it does not fit
                throw MetricsError.jiebaMalformed(file: file, line: lineNumber, reason: "not 'word frequency [tag]'")
            }
            total += count
            var node: Int32 = 0
            for s in word.unicodeScalars {
                let key = UInt64(node) << 21 | UInt64(s.value)  // allowed: widenings: a trie node (Int32 ≥ 0) and a scalar (< 2^21) into UInt64
                if let child = children[key] { node = child } else {
                    let child = Int32(frequency.count)  // allowed: trie nodes: jieba's dictionary has well under 2^31 prefixes
                    children[key] = child
                    frequency.append(0)
                    node = child
                }
            }
            frequency[Int(node)] = count  // allowed: a trie node (Int32 ≥ 0) widens
            start = end + 1
        }
        return (children, frequency, total)
    }
}

/// A Python module that assigns one dict literal (`P={'B': -0.26, ...}` or `P={'B': {'\u4e00': -3.6, ...}}`),
/// as jieba's finalseg tables are written: string keys, float values, one level of nesting.
struct PythonTable {
    var numbers: [Scalars: Double] = [:]
    var tables: [Scalars: [Scalars: Double]] = [:]

    init(parsing bytes: [UInt8], file: String) throws {
        let text = PythonText.scalars(String(decoding: bytes, as: UTF8.self))
        var i = 0, line = 1
        func fail(_ reason: String) -> MetricsError { .jiebaMalformed(file: file, line: line, reason: reason) }
        func skipSpace() {
            while i < text.count && (PythonText.isSpace(text[i]) || text[i] == ",") {
                if text[i] == "\n" { line += 1 }
                i += 1
            }
        }
        func string() throws -> Scalars {
            guard i < text.count, text[i] == "'" || text[i] == "\"" else { throw fail("expected a quoted key") }
            let quote = text[i]; i += 1
            var out: Scalars = []
            while i < text.count && text[i] != quote {
                if text[i] == "\\" && i + 1 < text.count {
                    let e = text[i + 1]
                    if e == "u" || e == "U" {
                        let width = e == "u" ? 4 : 8
                        guard i + 2 + width <= text.count, let v = UInt32(PythonText.string(text[(i + 2)..<(i + 2 + width)]), radix: 16),
                              let scalar = Unicode.Scalar(v) else { throw fail("bad \\\(e) escape") }
                        out.append(scalar); i += 2 + width
                    } else {
                        switch e {
                        case "n": out.append("\n")
                        case "t": out.append("\t")
                        case "r": out.append("\r")
                        default: out.append(e)
                        }
                        i += 2
                    }
                } else {
                    out.append(text[i]); i += 1
                }
            }
            guard i < text.count else { throw fail("unterminated string") }
            i += 1
            return out
        }
        func number() throws -> Double {
            let begin = i
            while i < text.count, "0123456789+-.eE".unicodeScalars.contains(text[i]) { i += 1 }
            guard let v = Double(PythonText.string(text[begin..<i])) else { throw fail("expected a number") }
            return v
        }
        func colon() throws {
            skipSpace()
            guard i < text.count, text[i] == ":" else { throw fail("expected ':'") }
            i += 1
            skipSpace()
        }
        // The literal starts at the first '{' after "P".
        guard let assign = text.firstIndex(of: "{") else { throw fail("no dict literal") }
        for s in text[..<assign] where s == "\n" { line += 1 }
        i = assign + 1
        while true {
            skipSpace()
            guard i < text.count else { throw fail("unterminated dict") }
            if text[i] == "}" { break }
            let key = try string()
            try colon()
            if i < text.count && text[i] == "{" {
                i += 1
                var inner: [Scalars: Double] = [:]
                while true {
                    skipSpace()
                    guard i < text.count else { throw fail("unterminated dict") }
                    if text[i] == "}" { i += 1; break }
                    let k = try string()
                    try colon()
                    inner[k] = try number()
                }
                tables[key] = inner
            } else {
                numbers[key] = try number()
            }
        }
    }
}

extension Jieba {
    /// Where jieba's files are looked for: `TAILOR_JIEBA_DIR` when set (a jieba package folder, e.g. an
    /// installed site-packages/jieba), else the cache `<TAILOR_CACHE or ~/.cache/tailor>/jieba/0.42.1`.
    public static func defaultFolder(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let dir = environment["TAILOR_JIEBA_DIR"], !dir.isEmpty { return URL(fileURLWithPath: dir) }
        return cacheFolder(environment: environment)
    }

    /// The cache folder `scripts/fetch_jieba.sh` and `tailor eval` fill from jieba's PyPI sdist.
    public static func cacheFolder(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        let root = environment["TAILOR_CACHE"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/tailor")
        return root.appendingPathComponent("jieba/\(version)")
    }
}
