import Foundation

/// Token text as exact UTF-8 bytes: a dictionary key that, unlike `String`, never merges
/// canonically-equivalent spellings (`"é"` vs `"e\u{301}"` are different tokens).
struct ByteKey: Hashable, Sendable {
    var bytes: [UInt8]

    init(_ bytes: [UInt8]) { self.bytes = bytes }
    init(_ string: String) { bytes = Array(string.utf8) }

    func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    static func == (a: ByteKey, b: ByteKey) -> Bool { a.bytes == b.bytes }
}

/// The byte-pair-encoding model of tokenizer.json (`model.type == "BPE"`).
///
/// A word is split into characters (or, with `byte_fallback`, into `<0xXX>` byte tokens where a character
/// is not in the vocabulary), then adjacent pairs are merged lowest rank first, leftmost first among equals,
/// exactly as `tokenizers` does. `dropout` is ignored (inference never uses it).
public final class BPEModel: Sendable {
    /// Token text -> id.
    let vocab: [ByteKey: Int32]
    /// id -> token text (nil where the id is unused).
    let idToToken: [String?]
    /// (left id << 32 | right id) -> (rank << 32 | merged id).
    let merges: [UInt64: UInt64]
    /// Ids of the one-character tokens with scalar value < 0x800, -1 when absent.
    let lowScalarIds: [Int32]
    /// Ids of the other one-character tokens.
    let highScalarIds: [UInt32: Int32]
    /// Ids of `<0x00>`...`<0xFF>` when byte_fallback is on.
    let byteFallbackIds: [Int32]?
    let unkId: Int32?
    let fuseUnk: Bool
    let ignoreMerges: Bool
    let continuingSubwordPrefix: [UInt8]?
    let endOfWordSuffix: [UInt8]?

    static let supportedModels = ["BPE"]
    /// How far above the entry count a vocabulary id may go (real vocabularies are dense: 0..<count).
    static let idSlack = 1 << 20

    init(_ node: JSONNode) throws {
        let file = node.file
        var vocab: [ByteKey: Int32] = [:]
        let vocabNode = try node.required("vocab")
        let entries = try vocabNode.members
        vocab.reserveCapacity(entries.count)
        var maxId = -1
        for (token, idNode) in entries {
            let id = try idNode.tokenId
            // Ids index a table of maxId + 1 names: one far beyond the vocabulary's size would allocate gigabytes.
            guard id < entries.count + Self.idSlack else {
                throw TokenizerError.invalidValue(file: file, path: idNode.path, value: String(id),
                                                  reason: "the vocabulary has \(entries.count) entries; ids must be below \(entries.count + Self.idSlack)")
            }
            vocab[ByteKey(token)] = Int32(id)  // allowed: tokenId is 0...Int32.max
            maxId = max(maxId, id)
        }
        self.vocab = vocab
        var idToToken = [String?](repeating: nil, count: maxId + 1)
        for (token, id) in vocab { idToToken[Int(id)] = String(decoding: token.bytes, as: UTF8.self) }  // allowed: an Int32 id widens
        self.idToToken = idToToken

        var low = [Int32](repeating: -1, count: 0x800)
        var high: [UInt32: Int32] = [:]
        for (token, id) in vocab {
            let s = String(decoding: token.bytes, as: UTF8.self).unicodeScalars
            guard s.count == 1, let v = s.first?.value else { continue }
            if v < 0x800 { low[Int(v)] = id } else { high[v] = id }  // allowed: v < 0x800 checked on this line
        }
        lowScalarIds = low
        highScalarIds = high

        let continuingPrefix = try node.optionalString("continuing_subword_prefix").map { Array($0.utf8) }
        // Merges: "a b" strings (older files) or ["a", "b"] pairs.
        var merges: [UInt64: UInt64] = [:]
        let mergeNodes = try node.optional("merges")?.elements ?? []
        merges.reserveCapacity(mergeNodes.count)
        for (rank, m) in mergeNodes.enumerated() {
            let left: String, right: String
            switch m.value {
            case .string(let s):
                let parts = s.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2 else {
                    throw TokenizerError.malformedMerge(file: file, index: rank, entry: "\"\(s)\"",
                                                        reason: "a string merge must hold exactly one space")
                }
                left = String(parts[0]); right = String(parts[1])
            case .array(let items):
                guard items.count == 2, case .string(let a) = items[0], case .string(let b) = items[1] else {
                    throw TokenizerError.malformedMerge(file: file, index: rank, entry: "an array of \(items.count) items",
                                                        reason: "a pair merge must be two strings")
                }
                left = a; right = b
            default:
                throw TokenizerError.malformedMerge(file: file, index: rank, entry: m.value.kindName,
                                                    reason: "expected a string or a pair of strings")
            }
            guard let a = vocab[ByteKey(left)] else {
                throw TokenizerError.malformedMerge(file: file, index: rank, entry: "\"\(left) \(right)\"", reason: "\"\(left)\" is not in model.vocab")
            }
            guard let b = vocab[ByteKey(right)] else {
                throw TokenizerError.malformedMerge(file: file, index: rank, entry: "\"\(left) \(right)\"", reason: "\"\(right)\" is not in model.vocab")
            }
            // With a continuing_subword_prefix ("##"), "a ##b" merges into "a" + "b" and keeps a's prefix.
            var rightPart = Array(right.utf8)
            if let p = continuingPrefix, rightPart.starts(with: p) { rightPart.removeFirst(p.count) }
            guard let merged = vocab[ByteKey(Array(left.utf8) + rightPart)] else {
                throw TokenizerError.malformedMerge(file: file, index: rank, entry: "\"\(left) \(right)\"",
                                                    reason: "the merged token \"\(left)\(right)\" is not in model.vocab")
            }
            let key = UInt64(UInt32(a)) << 32 | UInt64(UInt32(b))  // allowed: ids, ranks and positions are non-negative and below 2^32 (vocabulary ids are checked 0...Int32.max on reading)
            if merges[key] == nil { merges[key] = UInt64(rank) << 32 | UInt64(UInt32(merged)) }  // allowed: ids, ranks and positions are non-negative and below 2^32 (vocabulary ids are checked 0...Int32.max on reading)
        }
        self.merges = merges

        if let unk = try node.optionalString("unk_token") {
            guard let id = vocab[ByteKey(unk)] else {
                throw TokenizerError.unknownToken(file: file, path: node.path + ".unk_token", token: unk)
            }
            unkId = id
        } else { unkId = nil }
        fuseUnk = try node.bool("fuse_unk", default: false)
        ignoreMerges = try node.bool("ignore_merges", default: false)
        continuingSubwordPrefix = try node.optionalString("continuing_subword_prefix").map { Array($0.utf8) }
        endOfWordSuffix = try node.optionalString("end_of_word_suffix").map { Array($0.utf8) }
        if try node.bool("byte_fallback", default: false) {
            var ids: [Int32] = []
            for b in 0..<256 {
                guard let id = vocab[ByteKey(String(format: "<0x%02X>", b))] else { ids = []; break }
                ids.append(id)
            }
            byteFallbackIds = ids.isEmpty ? nil : ids
        } else { byteFallbackIds = nil }
    }

    public var vocabularySize: Int { vocab.count }

    public func tokenToId(_ token: String) -> Int? { vocab[ByteKey(token)].map(Int.init) }  // allowed: an Int32 id widens

    public func idToTokenString(_ id: Int) -> String? {
        id >= 0 && id < idToToken.count ? idToToken[id] : nil
    }

    /// Appends the ids of one pre-tokenized word.
    func tokenize(_ word: [UInt8], into out: inout [Int32]) {
        if word.isEmpty { return }
        if ignoreMerges, let id = vocab[ByteKey(word)] { out.append(id); return }
        var symbols = initialSymbols(word)
        mergeAll(&symbols)
        out.append(contentsOf: symbols)
    }

    /// `merge_word`: one symbol per character, byte tokens or unk where the character is unknown.
    func initialSymbols(_ word: [UInt8]) -> [Int32] {
        var symbols: [Int32] = []
        symbols.reserveCapacity(word.count)
        let text = ScalarText(word)
        var pendingUnk = false
        let plain = continuingSubwordPrefix == nil && endOfWordSuffix == nil
        for k in 0..<text.count {
            let v = text.values[k]
            var id: Int32? = nil
            var key: [UInt8] = []
            if plain {
                if v < 0x800 { let x = lowScalarIds[Int(v)]; if x >= 0 { id = x } } else { id = highScalarIds[v] }  // allowed: v < 0x800 checked on this line
            } else {
                if k > 0, let p = continuingSubwordPrefix { key += p }
                key += word[text.offsets[k]..<text.offsets[k + 1]]
                if k == text.count - 1, let s = endOfWordSuffix { key += s }
                id = vocab[ByteKey(key)]
            }
            if let id {
                if pendingUnk, let unkId { symbols.append(unkId); pendingUnk = false }
                symbols.append(id)
                continue
            }
            if let fallback = byteFallbackIds {
                if pendingUnk, let unkId { symbols.append(unkId); pendingUnk = false }
                let bytes = plain ? Array(word[text.offsets[k]..<text.offsets[k + 1]]) : key
                for b in bytes { symbols.append(fallback[Int(b)]) }
                continue
            }
            guard let unkId else { continue }  // no unk token: the character is dropped, as in tokenizers
            if pendingUnk && !fuseUnk { symbols.append(unkId) }
            pendingUnk = true
        }
        if pendingUnk, let unkId { symbols.append(unkId) }
        return symbols
    }

    @inline(__always)
    func rank(_ a: Int32, _ b: Int32) -> UInt64 {
        merges[UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b))] ?? UInt64.max  // allowed: ids, ranks and positions are non-negative and below 2^32 (vocabulary ids are checked 0...Int32.max on reading)
    }

    /// Merges adjacent pairs, lowest rank first (leftmost among equal ranks).
    func mergeAll(_ symbols: inout [Int32]) {
        if symbols.count < 2 { return }
        if symbols.count > 256 { mergeAllHeap(&symbols); return }
        // ranks[k] = merge of (symbols[k], symbols[k+1]).
        var ranks = [UInt64](repeating: .max, count: symbols.count - 1)
        for k in 0..<ranks.count { ranks[k] = rank(symbols[k], symbols[k + 1]) }
        while !ranks.isEmpty {
            var best = UInt64.max, pos = -1
            for k in 0..<ranks.count where ranks[k] >> 32 < best >> 32 { best = ranks[k]; pos = k }
            if pos < 0 || best == .max { break }
            symbols[pos] = Int32(bitPattern: UInt32(truncatingIfNeeded: best))
            symbols.remove(at: pos + 1)
            ranks.remove(at: pos)
            if pos > 0 { ranks[pos - 1] = rank(symbols[pos - 1], symbols[pos]) }
            if pos < ranks.count { ranks[pos] = rank(symbols[pos], symbols[pos + 1]) }
        }
    }

    /// The same merge order with a priority queue, for long words.
    func mergeAllHeap(_ symbols: inout [Int32]) {
        let n = symbols.count
        var prev = [Int](0..<n).map { $0 - 1 }
        var next = [Int](0..<n).map { $0 + 1 }
        var alive = [Bool](repeating: true, count: n)
        var ids = symbols
        // Heap entries: rank << 32 | position (smallest first; position breaks ties leftmost first).
        var heap = MinHeap()
        for k in 0..<(n - 1) {
            let r = rank(ids[k], ids[k + 1])
            if r != .max { heap.push((r >> 32) << 32 | UInt64(k)) }  // allowed: ids, ranks and positions are non-negative and below 2^32 (vocabulary ids are checked 0...Int32.max on reading)
        }
        while let top = heap.pop() {
            let pos = Int(top & 0xFFFF_FFFF), r = top >> 32  // allowed: the low 32 bits hold a position this heap stored
            guard alive[pos], next[pos] < n else { continue }
            let right = next[pos]
            let m = rank(ids[pos], ids[right])
            guard m != .max, m >> 32 == r else { continue }
            ids[pos] = Int32(bitPattern: UInt32(truncatingIfNeeded: m))
            alive[right] = false
            next[pos] = next[right]
            if next[right] < n { prev[next[right]] = pos }
            if prev[pos] >= 0 {
                let p = prev[pos]
                let pr = rank(ids[p], ids[pos])
                if pr != .max { heap.push((pr >> 32) << 32 | UInt64(p)) }  // allowed: ids, ranks and positions are non-negative and below 2^32 (vocabulary ids are checked 0...Int32.max on reading)
            }
            if next[pos] < n {
                let nr = rank(ids[pos], ids[next[pos]])
                if nr != .max { heap.push((nr >> 32) << 32 | UInt64(pos)) }  // allowed: ids, ranks and positions are non-negative and below 2^32 (vocabulary ids are checked 0...Int32.max on reading)
            }
        }
        symbols = (0..<n).compactMap { alive[$0] ? ids[$0] : nil }
    }
}

/// A binary min-heap of UInt64.
struct MinHeap {
    private var items: [UInt64] = []

    mutating func push(_ x: UInt64) {
        items.append(x)
        var i = items.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            if items[p] <= items[i] { break }
            items.swapAt(p, i); i = p
        }
    }

    mutating func pop() -> UInt64? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < items.count && items[l] < items[m] { m = l }
                if r < items.count && items[r] < items[m] { m = r }
                if m == i { break }
                items.swapAt(i, m); i = m
            }
        }
        return top
    }
}
