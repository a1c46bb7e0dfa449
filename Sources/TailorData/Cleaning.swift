import Foundation

/// Cleaning before training (seed 003): whitespace normalization, length filters, exact and
/// near-duplicate removal. Every removal is reported with the sample's file and line.
public struct CleaningOptions: Sendable {
    /// Trim each message and collapse runs of spaces/tabs; turn \r\n into \n; at most 2 newlines in a row.
    public var normalizeWhitespace: Bool
    /// Drop samples whose text (all messages) has fewer characters than this, or an empty reply.
    public var minCharacters: Int
    /// Drop samples with more characters than this.
    public var maxCharacters: Int?
    /// Drop exact duplicates (same text after normalization), keeping the first.
    public var deduplicate: Bool
    /// Drop near duplicates: MinHash over character shingles; Jaccard estimate at or above this.
    public var nearDuplicateThreshold: Double?
    public var shingleSize: Int
    public var minHashPermutations: Int

    public init(normalizeWhitespace: Bool = true, minCharacters: Int = 1, maxCharacters: Int? = nil,
                deduplicate: Bool = true, nearDuplicateThreshold: Double? = nil, shingleSize: Int = 5,
                minHashPermutations: Int = 64) {
        self.normalizeWhitespace = normalizeWhitespace
        self.minCharacters = minCharacters
        self.maxCharacters = maxCharacters
        self.deduplicate = deduplicate
        self.nearDuplicateThreshold = nearDuplicateThreshold
        self.shingleSize = shingleSize
        self.minHashPermutations = minHashPermutations
    }
}

public struct CleaningReport: Sendable {
    public var kept: [Conversation]
    public var removed: [DataIssue]
    public var count: (empty: Int, short: Int, long: Int, duplicate: Int, nearDuplicate: Int)
}

public enum Cleaner {
    public static func clean(_ conversations: [Conversation], options: CleaningOptions = CleaningOptions()) -> CleaningReport {
        var report = CleaningReport(kept: [], removed: [], count: (0, 0, 0, 0, 0))
        var seen = Set<Digest>()
        var lsh = MinHashIndex(permutations: options.minHashPermutations, threshold: options.nearDuplicateThreshold ?? 1)
        for var c in conversations {
            if options.normalizeWhitespace { c = normalized(c) }
            let text = c.allText
            let hasReply = c.text.map { !$0.isEmpty } ?? c.messages.contains { $0.role == .assistant && (!$0.content.isEmpty || $0.toolCalls != nil) }
            let characters = c.text?.count ?? c.messages.reduce(0) { $0 + $1.content.count }
            if !hasReply {
                report.count.empty += 1
                report.removed.append(DataIssue(kind: .filtered, source: c.source, message: "empty reply"))
                continue
            }
            if characters < options.minCharacters {
                report.count.short += 1
                report.removed.append(DataIssue(kind: .filtered, source: c.source, message: "\(characters) characters < min \(options.minCharacters)"))
                continue
            }
            if let max = options.maxCharacters, characters > max {
                report.count.long += 1
                report.removed.append(DataIssue(kind: .filtered, source: c.source, message: "\(characters) characters > max \(max)"))
                continue
            }
            if options.deduplicate {
                let d = Digest(text)
                if !seen.insert(d).inserted {
                    report.count.duplicate += 1
                    report.removed.append(DataIssue(kind: .duplicate, source: c.source, message: "same text as an earlier sample"))
                    continue
                }
            }
            if options.nearDuplicateThreshold != nil {
                let sig = MinHash.signature(text, shingle: options.shingleSize, permutations: options.minHashPermutations)
                if let match = lsh.query(sig) {
                    report.count.nearDuplicate += 1
                    report.removed.append(DataIssue(kind: .nearDuplicate, source: c.source,
                        message: "near duplicate of \(report.kept[match].source) (MinHash Jaccard ≥ \(options.nearDuplicateThreshold!))"))
                    continue
                }
                lsh.insert(sig, id: report.kept.count)
            }
            report.kept.append(c)
        }
        return report
    }

    /// Whitespace normalization of one string: \r\n -> \n, runs of spaces/tabs -> one space,
    /// 3+ newlines -> 2, spaces trimmed at line ends and at both ends.
    public static func normalizeWhitespace(_ s: String) -> String {
        var out = String.UnicodeScalarView()
        var spaces = 0, newlines = 0
        for u in s.replacingOccurrences(of: "\r\n", with: "\n").unicodeScalars {
            if u == " " || u == "\t" || u == "\u{3000}" || u == "\u{A0}" { spaces += 1; continue }
            if u == "\n" || u == "\r" { spaces = 0; newlines += 1; continue }
            if newlines > 0 { if !out.isEmpty { out.append(contentsOf: String(repeating: "\n", count: min(newlines, 2)).unicodeScalars) }; newlines = 0; spaces = 0 }
            if spaces > 0 { if !out.isEmpty { out.append(" ") }; spaces = 0 }
            out.append(u)
        }
        return String(out)
    }

    static func normalized(_ c: Conversation) -> Conversation {
        var c = c
        if let t = c.text { c.text = normalizeWhitespace(t) }
        for i in c.messages.indices { c.messages[i].content = normalizeWhitespace(c.messages[i].content) }
        if let r = c.rejected { c.rejected = r.map { var m = $0; m.content = normalizeWhitespace(m.content); return m } }
        return c
    }
}

/// A 128-bit content hash (two FNV-1a variants) for exact dedup; stable across runs.
struct Digest: Hashable {
    var a: UInt64, b: UInt64
    init(_ s: String) {
        var h1: UInt64 = 0xcbf29ce484222325, h2: UInt64 = 0x84222325cbf29ce4
        for byte in s.utf8 {
            h1 = (h1 ^ UInt64(byte)) &* 0x100000001b3  // allowed: bytes, scalar values and non-negative indices widen
            h2 = (h2 &+ UInt64(byte)) &* 0x9E3779B97F4A7C15  // allowed: bytes, scalar values and non-negative indices widen
            h2 ^= h2 >> 29
        }
        a = h1; b = h2
    }
}

/// MinHash signatures over character shingles.
public enum MinHash {
    public static func signature(_ text: String, shingle: Int, permutations: Int) -> [UInt64] {
        let scalars = Array(text.unicodeScalars)
        var sig = [UInt64](repeating: .max, count: permutations)
        let k = max(1, min(shingle, scalars.count))
        guard !scalars.isEmpty else { return sig }
        for start in 0...(scalars.count - k) {
            var h: UInt64 = 0xcbf29ce484222325
            for u in scalars[start..<(start + k)] { h = (h ^ UInt64(u.value)) &* 0x100000001b3 }  // allowed: bytes, scalar values and non-negative indices widen
            for p in 0..<permutations {
                var x = h ^ (UInt64(p + 1) &* 0x9E3779B97F4A7C15)  // allowed: bytes, scalar values and non-negative indices widen
                x ^= x >> 33; x = x &* 0xff51afd7ed558ccd; x ^= x >> 33; x = x &* 0xc4ceb9fe1a85ec53; x ^= x >> 33
                if x < sig[p] { sig[p] = x }
            }
        }
        return sig
    }

    /// The share of equal positions: an estimate of the Jaccard similarity of the shingle sets.
    public static func similarity(_ a: [UInt64], _ b: [UInt64]) -> Double {
        guard a.count == b.count, !a.isEmpty else { return 0 }
        return Double(zip(a, b).filter { $0 == $1 }.count) / Double(a.count)
    }
}

/// Locality-sensitive hashing over MinHash bands: candidates share a band, then are checked.
struct MinHashIndex {
    let bands: Int, rows: Int, threshold: Double
    var buckets: [[UInt64: [Int]]]
    var signatures: [Int: [UInt64]] = [:]

    init(permutations: Int, threshold: Double) {
        rows = permutations >= 64 ? 4 : 2
        bands = max(1, permutations / rows)
        self.threshold = threshold
        buckets = Array(repeating: [:], count: bands)
    }

    func key(_ sig: [UInt64], band: Int) -> UInt64 {
        var h: UInt64 = 1469598103934665603
        for v in sig[(band * rows)..<min(sig.count, (band + 1) * rows)] { h = (h ^ v) &* 0x100000001b3 }
        return h
    }

    func query(_ sig: [UInt64]) -> Int? {
        var checked = Set<Int>()
        for b in 0..<bands {
            for id in buckets[b][key(sig, band: b)] ?? [] where checked.insert(id).inserted {
                if let other = signatures[id], MinHash.similarity(sig, other) >= threshold { return id }
            }
        }
        return nil
    }

    mutating func insert(_ sig: [UInt64], id: Int) {
        signatures[id] = sig
        for b in 0..<bands { buckets[b][key(sig, band: b), default: []].append(id) }
    }
}

/// A deterministic train/validation split by ratio and seed (SplitMix64 shuffle of the indices).
public enum Splitter {
    /// Returns (train, validation). `validationRatio` in [0, 1); at least one validation sample
    /// when the ratio is positive and there are 2 or more samples.
    public static func split<T>(_ items: [T], validationRatio: Double, seed: UInt64) throws -> (train: [T], validation: [T]) {
        guard validationRatio >= 0, validationRatio < 1 else {
            throw DataError.invalidOption(name: "val_size", reason: "\(validationRatio) is not in [0, 1)")
        }
        var idx = Array(items.indices)
        var state = seed
        func next() -> UInt64 {
            state &+= 0x9E3779B97F4A7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
            z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
            return z ^ (z >> 31)
        }
        if idx.count > 1 {
            for i in stride(from: idx.count - 1, to: 0, by: -1) {
                let j = Int(next() % UInt64(i + 1))  // allowed: the remainder is below i + 1, an Int index
                idx.swapAt(i, j)
            }
        }
        var nVal = Int(exactly: (Double(items.count) * validationRatio).rounded()) ?? items.count
        if validationRatio > 0, items.count >= 2 { nVal = max(1, nVal) }
        let valSet = Set(idx.prefix(nVal))
        var train: [T] = [], val: [T] = []
        for i in items.indices { if valSet.contains(i) { val.append(items[i]) } else { train.append(items[i]) } }
        return (train, val)
    }
}
