import Foundation

/// jieba 0.42.1's `jieba.cut(text)` (precise mode with the HMM, jieba's default), reimplemented:
/// the text is split into runs of jieba's "han" class (CJK U+4E00–U+9FD5, ASCII letters and
/// digits, `+#&._%-`) and the rest; a han run is cut along the most probable route through the
/// DAG of its dictionary words (log frequencies over the dictionary total), and runs of single
/// characters that are not one dictionary word go to the HMM (`Jieba+HMM.swift`); outside han
/// runs every scalar is its own token, except `\r\n`. The dictionary and HMM tables are jieba's own
/// files (`JiebaResources`), never copies.
public final class Jieba: Sendable {
    /// The dictionary as a trie: `children[node << 21 | scalar]` is the child node; `frequency[node]`
    /// is the word's count, 0 for a prefix that is not itself a word (jieba's `FREQ` keeps those as 0).
    let children: [UInt64: Int32]
    let frequency: [Int]
    let logTotal: Double
    let hmm: JiebaHMM

    init(children: [UInt64: Int32], frequency: [Int], total: Int, hmm: JiebaHMM) {
        self.children = children
        self.frequency = frequency
        self.logTotal = log(Double(total))
        self.hmm = hmm
    }

    /// jieba's words of `text`, in order; they concatenate to `text`.
    public func cut(_ text: String) -> [String] { cut(scalars: PythonText.scalars(text)).map { PythonText.string($0) } }

    /// The same, on scalars.
    public func cut(scalars text: Scalars) -> [Scalars] {
        var words: [Scalars] = []
        for (han, block) in PythonText.runs(text, Self.isHanDefault) {
            if han {
                cutDAG(block, into: &words)
            } else {
                var k = 0
                while k < block.count {
                    if block[k] == "\r" && k + 1 < block.count && block[k + 1] == "\n" {
                        words.append(["\r", "\n"]); k += 2
                    } else {
                        words.append([block[k]]); k += 1
                    }
                }
            }
        }
        return words
    }

    /// `re_han_default`: `[\u4E00-\u9FD5a-zA-Z0-9+#&\._%\-]`.
    static func isHanDefault(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x4E00...0x9FD5: return true
        case 0x2B, 0x23, 0x26, 0x2E, 0x5F, 0x25, 0x2D: return true
        default: return PythonText.isASCIIAlphanumeric(s)
        }
    }

    /// The trie node of `word`, when jieba's `FREQ` has it (a word or a prefix of one).
    func node(_ word: ArraySlice<Unicode.Scalar>) -> Int32? {
        var node: Int32 = 0
        for s in word {
            guard let child = children[UInt64(node) << 21 | UInt64(s.value)] else { return nil }  // allowed: widenings: a trie node (Int32 ≥ 0) and a scalar (< 2^21) into UInt64
            node = child
        }
        return node
    }

    /// `FREQ.get(word)`, 0 when absent.
    func frequency(of word: ArraySlice<Unicode.Scalar>) -> Int { node(word).map { frequency[Int($0)] } ?? 0 }  // allowed: a trie node (Int32 ≥ 0) widens

    /// jieba's `__cut_DAG`.
    func cutDAG(_ sentence: Scalars, into words: inout [Scalars]) {
        let n = sentence.count
        // get_DAG: for each start, the ends of the dictionary words (frequency > 0) beginning there.
        var dag = [[(end: Int, frequency: Int)]](repeating: [], count: n)
        for k in 0..<n {
            var node: Int32 = 0, i = k
            while i < n, let child = children[UInt64(node) << 21 | UInt64(sentence[i].value)] {  // allowed: widenings: a trie node (Int32 ≥ 0) and a scalar (< 2^21) into UInt64
                let f = frequency[Int(child)]  // allowed: a trie node (Int32 ≥ 0) widens
                if f != 0 { dag[k].append((i, f)) }
                node = child
                i += 1
            }
            if dag[k].isEmpty { dag[k].append((k, 0)) }
        }
        // calc: the route of most log probability from each position to the end; ties go to the
        // later end, as Python's max over (value, end) tuples.
        var routeValue = [Double](repeating: 0, count: n + 1), routeEnd = [Int](repeating: 0, count: n + 1)
        for idx in stride(from: n - 1, through: 0, by: -1) {
            var best = -Double.infinity, bestEnd = -1
            for (end, f) in dag[idx] {
                let value = log(Double(f == 0 ? 1 : f)) - logTotal + routeValue[end + 1]
                if value > best || (value == best && end > bestEnd) { best = value; bestEnd = end }
            }
            routeValue[idx] = best
            routeEnd[idx] = bestEnd
        }
        var x = 0, buffer: Scalars = []
        func flush() {
            if buffer.isEmpty { return }
            if buffer.count == 1 {
                words.append(buffer)
            } else if frequency(of: buffer[...]) == 0 {
                hmm.cut(buffer, into: &words)
            } else {
                for s in buffer { words.append([s]) }
            }
            buffer = []
        }
        while x < n {
            let y = routeEnd[x] + 1
            if y - x == 1 {
                buffer.append(sentence[x])
            } else {
                flush()
                words.append(Array(sentence[x..<y]))
            }
            x = y
        }
        flush()
    }
}
