/// Tokens as small integers (equal scalars, equal id), so n-grams hash and compare quickly.
struct Interned {
    var ids: [Int]
    var table: [Scalars: Int]

    init(_ tokens: [Scalars], sharing other: Interned? = nil) {
        table = other?.table ?? [:]
        ids = []
        ids.reserveCapacity(tokens.count)
        for token in tokens {
            if let id = table[token] { ids.append(id) } else {
                let id = table.count
                table[token] = id
                ids.append(id)
            }
        }
    }
}

enum NGrams {
    /// How often each n-gram of the given orders occurs (Python's `Counter` of token tuples).
    static func counts(_ ids: [Int], orders: ClosedRange<Int>) -> [[Int]: Int] {
        var result: [[Int]: Int] = [:]
        for n in orders where ids.count >= n {
            for i in 0...(ids.count - n) { result[Array(ids[i..<(i + n)]), default: 0] += 1 }
        }
        return result
    }

    /// The distinct n-grams of one order (rouge_chinese's exclusive `Ngrams` set).
    static func set(_ ids: [Int], order n: Int) -> Set<[Int]> {
        guard ids.count >= n else { return [] }
        var result = Set<[Int]>()
        for i in 0...(ids.count - n) { result.insert(Array(ids[i..<(i + n)])) }
        return result
    }

    /// Length of the longest common subsequence.
    static func lcsLength(_ a: [Int], _ b: [Int]) -> Int {
        guard !a.isEmpty, !b.isEmpty else { return 0 }
        var previous = [Int](repeating: 0, count: b.count + 1), current = previous
        for i in 1...a.count {
            for j in 1...b.count {
                current[j] = a[i - 1] == b[j - 1] ? previous[j - 1] + 1 : max(previous[j], current[j - 1])
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
